// streamalert's web UI: fills the server-rendered pages from the public JSON API.
// Plain ES module, no build step and no dependency; the session cookie authenticates,
// and every write carries the page's CSRF token.

const body = document.body;
const WS = body.dataset.workspace;
const ME = { user: body.dataset.user, role: body.dataset.role };
const CSRF = body.dataset.csrf;
const KINDS = JSON.parse(body.dataset.kinds);
const API = `/v1/workspaces/${encodeURIComponent(WS)}`;

const CHANNEL_NAMES = {
  email: "Email",
  slack: "Slack",
  slack_workflow: "Slack workflow",
  pagerduty: "PagerDuty",
  in_app: "In-app",
};
const STATE_NAMES = { ok: "OK", firing: "Firing", insufficient_data: "Insufficient data" };
const SVG_NS = "http://www.w3.org/2000/svg";
// 24-pixel icons, drawn here so that no image is fetched.
const ICONS = {
  email: "M3 5h18v14H3zm2 2v.5l7 4.5 7-4.5V7zm0 2.9V17h14V9.9l-7 4.5z",
  slack: "M6 14a2 2 0 1 1-2-2h2zm1 0a2 2 0 0 1 4 0v5a2 2 0 0 1-4 0zm3-8a2 2 0 1 1 2-2v2zm0 1a2 2 0 0 1 0 4H5a2 2 0 0 1 0-4zm8 3a2 2 0 1 1 2 2h-2zm-1 0a2 2 0 0 1-4 0V5a2 2 0 0 1 4 0zm-3 8a2 2 0 1 1-2 2v-2zm0-1a2 2 0 0 1 0-4h5a2 2 0 0 1 0 4z",
  slack_workflow: "M4 4h7v7H4zm9 0h7v7h-7zM4 13h7v7H4zm12.5 0 4.5 3.5-4.5 3.5v-2.5H13v-2h3.5z",
  pagerduty: "M6 3h6.5a5.5 5.5 0 0 1 0 11H9v7H6zm3 3v5h3.5a2.5 2.5 0 0 0 0-5z",
  in_app: "M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1z",
};

class ApiError extends Error {
  constructor(status, error) {
    super(error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.details = error?.details ?? [];
  }
}

async function api(method, path, payload) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = CSRF;
  if (payload !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(API + path, {
    method,
    headers,
    credentials: "same-origin",
    body: payload === undefined ? undefined : JSON.stringify(payload),
  });
  if (response.status === 401) {
    window.location.assign(`/sign-in?next=${encodeURIComponent(location.pathname + location.search)}`);
    throw new ApiError(401, { message: "signed out" });
  }
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data?.error);
  return data;
}

function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "class") element.className = value;
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  for (const child of children) element.append(child instanceof Node ? child : String(child));
  return element;
}

function targetText(target) {
  return target.type === "in_app" ? CHANNEL_NAMES.in_app : `${CHANNEL_NAMES[target.type]} ${target.target}`;
}

function channelIcon(type) {
  const name = CHANNEL_NAMES[type] ?? type;
  const icon = svg("svg", { viewBox: "0 0 24 24", width: 20, height: 20, "aria-hidden": "true", focusable: "false" },
    svg("path", { d: ICONS[type] ?? "", fill: "currentColor" }));
  return h("span", { class: `channel-icon channel-${type}`, role: "img", "aria-label": name, title: name }, icon);
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const hourFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const formatDate = (iso) => dateFormat.format(new Date(iso));
const formatTime = (iso) => timeFormat.format(new Date(iso));

// A mute "until unmuted" is a time no one will reach (the API has no other form for it).
const FOREVER = "9999-12-31T23:59:59Z";
const mutedNow = (mutedUntil) => Boolean(mutedUntil) && new Date(mutedUntil) > new Date();

function muteText(mutedUntil) {
  if (new Date(mutedUntil).getUTCFullYear() >= 9999) return "Muted until unmuted";
  const until = new Date(mutedUntil);
  const today = new Date().toDateString() === until.toDateString();
  return `Muted until ${today ? hourFormat.format(until) : timeFormat.format(until)}`;
}

function muteBadge(mutedUntil) {
  return mutedNow(mutedUntil) ? h("span", { class: "mute-badge", title: mutedUntil }, muteText(mutedUntil)) : null;
}

function stateBadge(state) {
  return h("span", { class: `state state-${state}` }, STATE_NAMES[state] ?? state);
}

function ruleText(kind, threshold, baseline) {
  const value = threshold === "" || threshold === undefined || threshold === null ? "X" : threshold;
  // The rule in words comes from the kind registry (streamalert/kinds.py).
  const spec = KINDS[kind];
  const text = baseline === "same_day_last_week" && spec?.baseline_choice ? spec.week_rule : spec?.rule;
  return (text ?? "").replace("{threshold}", value);
}

function baselineText(alert) {
  return alert.baseline === "same_day_last_week" ? "vs. the same day last week" : "vs. the previous 24 hours";
}

function thresholdText(row) {
  return KINDS[row.kind]?.rate ? `below ${row.threshold_pct} %` : `±${row.threshold_pct} %`;
}

// The same number format as the server's messages (streamalert/text.py): observed percentages
// with two decimals and a true minus sign, counts with thousands separators.
const countText = (n) => Number(n).toLocaleString("en-US");
const pctText = (value, signed = false) => {
  const n = Number(value);
  const text = Math.abs(n).toFixed(2);
  return `${n < 0 && text !== "0.00" ? "\u2212" : signed && n > 0 ? "+" : ""}${text} %`;
};

function observedText(observed) {
  if (!observed) return "no data";
  if ("success_rate_pct" in observed) {
    return `${countText(observed.delivered)} delivered, ${countText(observed.failed)} failed: success rate ${pctText(observed.success_rate_pct)}`;
  }
  return `current ${countText(observed.current)} against baseline ${countText(observed.baseline)}: ${pctText(observed.change_pct, true)}`;
}

// ---------------------------------------------------------------- the bell

function setupBell() {
  const button = document.getElementById("bell");
  const panel = document.getElementById("bell-panel");
  const list = document.getElementById("bell-list");
  const empty = document.getElementById("bell-empty");
  const count = document.getElementById("bell-count");
  let last = "";

  function toggle(open) {
    panel.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
  }
  button.addEventListener("click", () => toggle(panel.hidden));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !panel.hidden) {
      toggle(false);
      button.focus();
    }
  });
  document.addEventListener("click", (event) => {
    if (!panel.hidden && !panel.contains(event.target) && !button.contains(event.target)) toggle(false);
  });

  function render(data) {
    const unread = data.unread;
    button.setAttribute("aria-label", `Notifications, ${unread} unread`);
    count.textContent = String(unread);
    count.hidden = unread === 0;
    empty.hidden = data.notifications.length > 0;
    list.replaceChildren(
      ...data.notifications.slice(0, 20).map((note) => {
        const markRead = note.read
          ? null
          : h("button", {
              type: "button",
              class: "link-button",
              "aria-label": `Mark "${note.title}" as read`,
              onclick: async () => {
                await api("POST", `/notifications/${encodeURIComponent(note.id)}/read`);
                await poll();
              },
            }, "Mark as read");
        return h("li", { class: note.read ? "read" : "unread" },
          h("a", { href: `/alerts/${encodeURIComponent(note.alert_id)}` }, note.title),
          h("p", { class: "muted" }, note.summary),
          h("p", { class: "muted" }, formatTime(note.occurred_at), note.read ? " · read" : " · unread"),
          markRead);
      }),
    );
  }

  async function poll() {
    if (document.hidden) return; // a background tab asks nothing
    try {
      const data = await api("GET", "/notifications");
      const key = JSON.stringify(data);
      if (key !== last) {
        last = key;
        render(data);
      }
    } catch (error) {
      if (error.status !== 401) console.warn("notifications:", error.message);
    }
  }
  poll();
  setInterval(poll, 2000);
}

// ---------------------------------------------------------------- the alerting table

function setupAlertsPage() {
  const rows = document.getElementById("alert-rows");
  const wrap = document.getElementById("table-wrap");
  const empty = document.getElementById("empty");
  const noMatch = document.getElementById("no-match");
  const loading = document.getElementById("loading");
  const pageError = document.getElementById("page-error");
  const filterKind = document.getElementById("filter-kind");
  const filterState = document.getElementById("filter-state");
  const sort = document.getElementById("sort");
  let alerts = [];

  let lastLoaded = "";

  async function load({ force = true } = {}) {
    try {
      const fresh = (await api("GET", "/alerts")).alerts;
      pageError.textContent = "";
      const key = JSON.stringify(fresh);
      // A background refresh leaves an open menu alone and redraws only what changed.
      const menuOpen = rows.querySelector(".menu:not([hidden])") !== null;
      if (!force && (key === lastLoaded || menuOpen)) return;
      lastLoaded = key;
      alerts = fresh;
    } catch (error) {
      pageError.textContent = `The alerts could not be loaded: ${error.message}`;
      return;
    } finally {
      loading.hidden = true;
    }
    render();
  }

  function render() {
    empty.hidden = alerts.length > 0;
    wrap.hidden = alerts.length === 0;
    const [field, direction] = sort.value.split("-");
    const shown = alerts
      .filter((row) => !filterKind.value || row.kind === filterKind.value)
      .filter((row) => !filterState.value || row.state === filterState.value)
      .sort((a, b) => {
        const order = field === "name"
          ? a.name.localeCompare(b.name)
          : a.created_at.localeCompare(b.created_at);
        return direction === "asc" ? order : -order;
      });
    document.getElementById("th-name").setAttribute("aria-sort", field === "name" ? (direction === "asc" ? "ascending" : "descending") : "none");
    document.getElementById("th-created").setAttribute("aria-sort", field === "created" ? (direction === "asc" ? "ascending" : "descending") : "none");
    noMatch.hidden = alerts.length === 0 || shown.length > 0;
    rows.replaceChildren(...shown.map(renderRow));
  }

  function renderRow(row) {
    const canDelete = ME.role === "owner" || row.created_by.user_id === ME.user;
    const menuId = `menu-${row.id}`;
    const menu = h("div", { class: "menu", role: "menu", id: menuId, hidden: true, "aria-label": `Actions for ${row.name}` },
      h("button", { type: "button", role: "menuitem", onclick: () => { closeMenus(); openSheet(row.id); } }, "Edit"),
      h("button", {
        type: "button",
        role: "menuitem",
        class: "danger-text",
        disabled: !canDelete,
        "aria-describedby": canDelete ? null : `${menuId}-why`,
        onclick: () => { closeMenus(); confirmDelete(row); },
      }, "Delete"),
      canDelete ? null : h("p", { class: "why", id: `${menuId}-why` },
        "Only the alert's creator or a workspace owner can delete it."));
    const toggle = h("button", {
      type: "button",
      class: "icon-button",
      "aria-haspopup": "menu",
      "aria-expanded": "false",
      "aria-controls": menuId,
      "aria-label": `Actions for ${row.name}`,
      onclick: (event) => {
        event.stopPropagation();
        const open = menu.hidden;
        closeMenus();
        menu.hidden = !open;
        toggle.setAttribute("aria-expanded", String(open));
        if (open) menu.querySelector("button:not([disabled])")?.focus();
      },
    }, "⋯");
    menu.addEventListener("keydown", (event) => {
      if (event.key === "Escape") { closeMenus(); toggle.focus(); return; }
      if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
      // The menu pattern: arrow keys move between the items that can be used.
      event.preventDefault();
      const items = [...menu.querySelectorAll("[role=menuitem]:not([disabled])")];
      const step = event.key === "ArrowDown" ? 1 : -1;
      const next = (items.indexOf(document.activeElement) + step + items.length) % items.length;
      items[next]?.focus();
    });
    return h("tr", { "data-alert": row.id },
      h("th", { scope: "row" }, h("a", { href: `/alerts/${encodeURIComponent(row.id)}` }, row.name),
        h("div", { class: "muted small" }, KINDS[row.kind]?.name ?? row.kind)),
      h("td", { "data-label": "Threshold" }, thresholdText(row)),
      h("td", { "data-label": "Source" }, row.source_id ?? (row.mapping_id ? `mapping ${row.mapping_id}` : "—")),
      h("td", { "data-label": "Destination" }, row.destination_id ?? (row.audience_id ? `audience ${row.audience_id}` : "—")),
      h("td", { "data-label": "Created by" }, row.created_by.name, h("div", { class: "muted small" }, formatDate(row.created_at))),
      h("td", { "data-label": "Status" }, h("span", { class: `status status-${row.status}` }, row.status),
        muteBadge(row.muted_until)),
      h("td", { "data-label": "Notification channels" }, h("span", { class: "icons" }, row.channel_types.map(channelIcon))),
      h("td", { "data-label": "State" }, stateBadge(row.state)),
      h("td", { class: "actions" }, toggle, menu));
  }

  function closeMenus() {
    for (const menu of rows.querySelectorAll(".menu")) menu.hidden = true;
    for (const button of rows.querySelectorAll("[aria-haspopup=menu]")) button.setAttribute("aria-expanded", "false");
  }
  document.addEventListener("click", (event) => {
    if (!event.target.closest?.(".menu")) closeMenus();
  });

  for (const control of [filterKind, filterState, sort]) control.addEventListener("change", render);
  document.getElementById("create").addEventListener("click", () => openSheet(null));

  const sheet = setupSheet(load);
  const openSheet = sheet.open;

  const confirm = document.getElementById("confirm");
  let deleting = null;
  function confirmDelete(row) {
    deleting = row;
    document.getElementById("confirm-text").textContent =
      `"${row.name}" will be deleted and will notify no one again. This cannot be undone.`;
    document.getElementById("confirm-error").textContent = "";
    confirm.showModal();
  }
  document.getElementById("confirm-cancel").addEventListener("click", () => confirm.close());
  document.getElementById("confirm-delete").addEventListener("click", async () => {
    try {
      await api("DELETE", `/alerts/${encodeURIComponent(deleting.id)}`);
      confirm.close();
      await load();
    } catch (error) {
      document.getElementById("confirm-error").textContent = error.message;
    }
  });

  load();
  setInterval(() => document.hidden || load({ force: false }), 3000);
}

// ---------------------------------------------------------------- the side sheet

function setupSheet(onSaved) {
  const dialog = document.getElementById("sheet");
  const form = document.getElementById("alert-form");
  const title = document.getElementById("sheet-title");
  const kind = document.getElementById("f-kind");
  const name = document.getElementById("f-name");
  const key = document.getElementById("f-key");
  const threshold = document.getElementById("f-threshold");
  const baseline = document.getElementById("f-baseline");
  const baselineField = document.getElementById("baseline-field");
  const rule = document.getElementById("threshold-rule");
  const enabled = document.getElementById("f-enabled");
  const formError = document.getElementById("form-error");
  const testButton = document.getElementById("test-send");
  const testResults = document.getElementById("test-results");
  const secretHint = document.getElementById("secret-hint");
  const channelBoxes = [...form.querySelectorAll(".channel")];
  let editing = null; // the alert as the API returned it, secrets masked
  let extra = []; // channels beyond the first of each type: kept as they are
  let errorIds = 0;
  threshold.dataset.describedby = "threshold-rule";
  const preview = setupPreview(form, threshold);
  key.dataset.describedby = "key-rule";

  function subjectFields() {
    return [...form.querySelectorAll("[data-subject]")];
  }

  function showKind() {
    const spec = KINDS[kind.value];
    for (const field of subjectFields()) {
      const key = field.dataset.subject;
      field.hidden = !spec.allowed.includes(key);
      const input = field.querySelector("input");
      input.required = spec.required.includes(key);
      field.querySelector(".optional").hidden = input.required;
    }
    name.placeholder = spec.name;
    // Only the change kinds compare with a baseline; a rate kind keeps the default.
    baselineField.hidden = !spec.baseline_choice;
    if (!spec.baseline_choice) baseline.value = "previous_day";
    rule.textContent = ruleText(kind.value, threshold.value, baseline.value);
  }

  function showChannel(box) {
    const fields = box.querySelector(".channel-fields");
    if (fields) fields.hidden = !box.querySelector("[data-channel]").checked;
  }

  function clearErrors() {
    formError.textContent = "";
    for (const error of form.querySelectorAll(".error")) error.textContent = "";
    for (const input of form.querySelectorAll("[aria-invalid]")) {
      input.removeAttribute("aria-invalid");
      if (input.dataset.describedby) input.setAttribute("aria-describedby", input.dataset.describedby);
      else input.removeAttribute("aria-describedby");
    }
  }

  function reset() {
    form.reset();
    clearErrors();
    testResults.hidden = true;
    testResults.replaceChildren();
    extra = [];
    for (const box of channelBoxes) showChannel(box);
    preview.reset();
  }

  function open(alertId) {
    reset();
    editing = null;
    kind.disabled = false;
    for (const field of subjectFields()) field.querySelector("input").readOnly = false;
    key.readOnly = false;
    title.textContent = "Create alert";
    testButton.hidden = true;
    secretHint.hidden = true;
    enabled.checked = true;
    threshold.value = "";
    showKind();
    dialog.showModal();
    if (alertId !== null) load(alertId);
  }

  async function load(alertId) {
    title.textContent = "Edit alert";
    try {
      editing = await api("GET", `/alerts/${encodeURIComponent(alertId)}`);
    } catch (error) {
      formError.textContent = `The alert could not be loaded: ${error.message}`;
      return;
    }
    kind.value = editing.kind;
    kind.disabled = true; // kind and subject are what an alert is: a new subject is a new alert
    name.value = editing.name;
    key.value = editing.key ?? "";
    key.readOnly = true; // the id derives from the key
    threshold.value = String(editing.threshold_pct);
    baseline.value = editing.baseline ?? "previous_day";
    enabled.checked = editing.enabled;
    for (const field of subjectFields()) {
      const input = field.querySelector("input");
      input.value = editing[field.dataset.subject] ?? "";
      input.readOnly = true;
    }
    const seen = new Set();
    for (const channel of editing.channels) {
      if (seen.has(channel.type)) {
        extra.push(channel);
        continue;
      }
      seen.add(channel.type);
      const box = form.querySelector(`.channel[data-type="${channel.type}"]`);
      box.querySelector("[data-channel]").checked = true;
      for (const input of box.querySelectorAll("[data-key]")) input.value = channel[input.dataset.key] ?? "";
      showChannel(box);
    }
    secretHint.hidden = !editing.channels.some((c) => ["slack", "slack_workflow", "pagerduty"].includes(c.type));
    testButton.hidden = false;
    showKind();
    preview.schedule();
  }

  function channels() {
    const picked = [];
    for (const box of channelBoxes) {
      if (!box.querySelector("[data-channel]").checked) continue;
      const channel = { type: box.dataset.type };
      for (const input of box.querySelectorAll("[data-key]")) channel[input.dataset.key] = input.value.trim();
      picked.push({ channel, box });
    }
    return picked;
  }

  function showErrors(details, picked) {
    for (const detail of details) {
      const parts = detail.field.split(".");
      let target = null;
      if (parts[0] === "channels" && parts.length >= 3 && picked[Number(parts[1])]) {
        target = picked[Number(parts[1])].box.querySelector(`[data-error-key="${parts[2]}"]`);
      } else if (parts[0] === "channels" && parts.length === 2 && picked[Number(parts[1])]) {
        // A channel-level error (e.g. its type): under the channel's first field.
        target = picked[Number(parts[1])].box.querySelector("[data-error-key]");
      }
      target ??= form.querySelector(`[data-error="${parts[0]}"]`);
      if (target) {
        target.textContent = detail.message;
        const input = target.dataset.errorKey
          ? target.closest(".channel").querySelector(`[data-key="${target.dataset.errorKey}"]`)
          : form.querySelector(`[data-field="${target.dataset.error}"]`);
        if (input) {
          // Named by the field, so that a screen reader reads the error with it.
          target.id ||= `error-${++errorIds}`;
          input.setAttribute("aria-invalid", "true");
          input.setAttribute("aria-describedby", [input.dataset.describedby, target.id].filter(Boolean).join(" "));
        }
      } else {
        formError.textContent = detail.message;
      }
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    const picked = channels();
    const payload = {
      name: name.value.trim() || undefined,
      threshold_pct: threshold.value === "" ? undefined : Number(threshold.value),
      baseline: baselineField.hidden ? undefined : baseline.value,
      enabled: enabled.checked,
      channels: [...picked.map((p) => p.channel), ...extra],
    };
    if (picked.length + extra.length === 0) {
      form.querySelector('[data-error="channels"]').textContent = "Pick at least one notification channel.";
      return;
    }
    if (payload.threshold_pct === undefined) {
      form.querySelector('[data-error="threshold_pct"]').textContent = "Enter a threshold.";
      return;
    }
    try {
      if (editing) {
        await api("PATCH", `/alerts/${encodeURIComponent(editing.id)}`, { ...payload, version: editing.version });
      } else {
        payload.kind = kind.value;
        if (key.value.trim()) payload.key = key.value.trim();
        for (const field of subjectFields()) {
          const value = field.querySelector("input").value.trim();
          if (!field.hidden && value) payload[field.dataset.subject] = value;
        }
        await api("POST", "/alerts", payload);
      }
    } catch (error) {
      if (error.details?.length) showErrors(error.details, picked);
      else formError.textContent = error.message;
      return;
    }
    dialog.close();
    await onSaved();
  });

  testButton.addEventListener("click", async () => {
    if (!editing) return;
    testButton.disabled = true;
    testResults.hidden = false;
    testResults.replaceChildren(h("p", { class: "muted" }, "Sending a test notification to the saved channels…"));
    try {
      const result = await api("POST", `/alerts/${encodeURIComponent(editing.id)}/test`);
      testResults.replaceChildren(
        h("h3", {}, "Test notification"),
        h("ul", { class: "test-results" }, result.results.map((r) =>
          h("li", { class: `outcome-${r.outcome}` },
            channelIcon(r.channel.type), " ",
            `${targetText(r.channel)}: ${r.outcome}`,
            r.error ? ` (${r.error})` : ""))));
    } catch (error) {
      testResults.replaceChildren(h("p", { class: "error" }, `The test could not be sent: ${error.message}`));
    } finally {
      testButton.disabled = false;
    }
  });

  kind.addEventListener("change", showKind);
  // The backtest follows what the alert watches and its threshold (every [data-field] control).
  form.addEventListener("input", (event) => { if (event.target.dataset?.field) preview.schedule(); });
  form.addEventListener("change", (event) => { if (event.target.dataset?.field) preview.schedule(); });
  threshold.addEventListener("input", () => { rule.textContent = ruleText(kind.value, threshold.value, baseline.value); });
  baseline.addEventListener("change", () => { rule.textContent = ruleText(kind.value, threshold.value, baseline.value); });
  for (const box of channelBoxes) box.querySelector("[data-channel]").addEventListener("change", () => showChannel(box));
  for (const button of form.querySelectorAll(".sheet-close")) button.addEventListener("click", () => dialog.close());
  return { open };
}

// ---------------------------------------------------------------- the backtest in the side sheet

const PREVIEW_DAYS = 7;
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:@-]*$/;

// What the alert would have done over the last 7 days (POST …/alerts/preview), asked again
// 400 ms after the kind, the subject or the threshold last changed; an older answer arriving
// after a newer question is dropped.
function setupPreview(form, threshold) {
  const panel = document.getElementById("preview");
  const sentence = document.getElementById("preview-sentence");
  const detail = document.getElementById("preview-detail");
  const suggestion = document.getElementById("preview-suggestion");
  const suggested = document.getElementById("preview-suggested");
  const useButton = document.getElementById("preview-use");
  const strip = document.getElementById("preview-strip");
  const idle = sentence.textContent;
  let timer = null;
  let asked = 0;
  let shown = null; // the body whose answer is on screen: typing a name asks nothing again
  let busy = false;

  function reset() {
    clearTimeout(timer);
    asked += 1;
    shown = null;
    busy = false;
    panel.removeAttribute("aria-busy");
    sentence.textContent = idle;
    detail.textContent = "";
    suggestion.hidden = true;
    strip.replaceChildren();
  }

  // The body create would take, without channels; null while it could not be valid yet.
  function request() {
    const payload = {};
    for (const control of form.querySelectorAll("[data-field]")) {
      if (control.closest("[data-subject]")?.hidden) continue;
      const value = control.value.trim();
      // Neither the name nor the key changes a decision.
      if (value === "" || ["name", "key"].includes(control.dataset.field)) continue;
      payload[control.dataset.field] = control.dataset.field === "threshold_pct" ? Number(value) : value;
    }
    const spec = KINDS[payload.kind];
    const limit = spec?.rate ? 100 : 999999.999999;
    if (!spec || !(payload.threshold_pct > 0 && payload.threshold_pct <= limit)) return null;
    if (!spec.required.every((field) => payload[field])) return null;
    if (spec.allowed.some((field) => payload[field] && !ID_PATTERN.test(payload[field]))) return null;
    return payload;
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(run, 400);
  }

  async function run() {
    const payload = request();
    if (payload === null) {
      reset();
      return;
    }
    const key = JSON.stringify(payload);
    if (key === shown && !busy) return;
    const question = ++asked;
    busy = true;
    // Screen readers hear the answer, not each question: the sentence stays until it comes.
    panel.setAttribute("aria-busy", "true");
    detail.textContent = "Backtesting…";
    let answer;
    try {
      answer = await api("POST", `/alerts/preview?days=${PREVIEW_DAYS}`, payload);
    } catch (error) {
      if (question !== asked) return;
      busy = false;
      panel.removeAttribute("aria-busy");
      shown = null;
      sentence.textContent = `The backtest is not available: ${error.message}`;
      detail.textContent = "";
      suggestion.hidden = true;
      strip.replaceChildren();
      return;
    }
    if (question !== asked) return; // a newer question is on its way
    busy = false;
    panel.removeAttribute("aria-busy");
    shown = key;
    render(answer);
  }

  function render(answer) {
    const hours = answer.evaluations.length;
    const decided = answer.evaluations.filter((e) => e.state !== "insufficient_data").length;
    if (decided === 0) {
      sentence.textContent = `Not enough data in the last ${PREVIEW_DAYS} days to tell what this alert would have done.`;
    } else {
      const times = answer.fired === 1 ? "time" : "times";
      sentence.textContent = `Would have fired ${answer.fired} ${times} in the last ${PREVIEW_DAYS} days.`;
    }
    detail.textContent = decided > 0 && decided < hours
      ? `Decided at ${decided} of ${hours} hours; the others had too little data.`
      : "";
    const value = answer.suggested_threshold_pct;
    suggestion.hidden = value === null || value === undefined;
    if (!suggestion.hidden) {
      suggested.textContent = `${value} %`;
      useButton.textContent = `Use ${value} %`;
      useButton.onclick = () => {
        threshold.value = String(value);
        threshold.dispatchEvent(new Event("input", { bubbles: true }));
        threshold.focus();
      };
    }
    strip.replaceChildren(hourStrip(answer));
  }

  return { schedule, reset };
}

// One mark per hour, oldest on the left: green ok, red firing, grey insufficient data.
function hourStrip(answer) {
  const hours = answer.evaluations;
  const firing = hours.filter((e) => e.state === "firing").length;
  const label = `Hour by hour from ${formatTime(answer.from)} to ${formatTime(answer.to)}: firing at ${firing} of ${hours.length} hours.`;
  const graph = svg("svg", { viewBox: `0 0 ${hours.length} 10`, preserveAspectRatio: "none", class: "preview-strip", role: "img", "aria-label": label });
  hours.forEach((e, i) => {
    graph.append(svg("rect", { x: i, y: 0, width: 1, height: 10, class: `hour-${e.state}` },
      svg("title", {}, `${formatTime(e.at)}: ${STATE_NAMES[e.state]}${e.observed ? ` (${observedText(e.observed)})` : ""}`)));
  });
  return graph;
}

// ---------------------------------------------------------------- the alert page

async function setupAlertPage() {
  const alertId = body.dataset.alert;
  const path = `/alerts/${encodeURIComponent(alertId)}`;
  const pageError = document.getElementById("page-error");
  let alert;
  try {
    alert = await api("GET", path);
  } catch (error) {
    document.getElementById("alert-name").textContent = "Alert not found";
    pageError.textContent = error.status === 404
      ? "This alert does not exist in your workspace; it may have been deleted."
      : `The alert could not be loaded: ${error.message}`;
    return;
  }
  document.title = `${alert.name} · streamalert`;
  document.getElementById("alert-name").textContent = alert.name;
  document.getElementById("alert-body").hidden = false;
  renderSummary(alert);
  setupMute(path, alert, (updated) => { alert = updated; renderSummary(alert); });
  let last = "";
  async function refresh() {
    try {
      const [history, series] = await Promise.all([api("GET", `${path}/history`), api("GET", `${path}/series`)]);
      const key = JSON.stringify([history, series]);
      if (key === last) return;
      last = key;
      const line = document.getElementById("alert-state");
      line.replaceChildren("State: ", stateBadge(history.status),
        history.status_since ? ` since ${formatTime(history.status_since)}` : "",
        history.observed ? ` · ${observedText(history.observed)}` : "");
      renderChart(alert, series);
      renderTimeline(history);
      renderDeliveries(history);
    } catch (error) {
      if (error.status !== 401) pageError.textContent = `Could not refresh: ${error.message}`;
    }
  }
  await refresh();
  setInterval(() => document.hidden || refresh(), 3000);
}

function renderSummary(alert) {
  const subjects = [
    ["source_id", "Source"], ["destination_id", "Destination"], ["mapping_id", "Reverse ETL mapping"], ["audience_id", "Audience"],
  ];
  const items = [
    ["Alert type", KINDS[alert.kind]?.name ?? alert.kind],
    ...subjects.filter(([key]) => alert[key]).map(([key, label]) => [label, alert[key]]),
    ["Threshold", thresholdText(alert)],
    ...(KINDS[alert.kind]?.baseline_choice ? [["Baseline", baselineText(alert)]] : []),
    ["Rule", ruleText(alert.kind, alert.threshold_pct, alert.baseline)],
    ["Status", h("span", {}, alert.enabled ? "enabled" : "disabled", muteBadge(alert.muted_until))],
    ["Notification channels", h("span", { class: "icons" }, alert.channels.map((c) =>
      h("span", { class: "channel-item" }, channelIcon(c.type), " ", c.address ?? c.channel ?? CHANNEL_NAMES[c.type])))],
    ["Created by", `${alert.created_by.name}, ${formatDate(alert.created_at)}`],
  ];
  document.getElementById("summary").replaceChildren(...items.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

function renderChart(alert, series) {
  const chart = document.getElementById("chart");
  const caption = document.getElementById("chart-caption");
  const points = series.points;
  if (points.length === 0) {
    caption.textContent = "No data has been evaluated for this alert yet.";
    chart.replaceChildren();
    return;
  }
  // Drawn at the width it is shown at, so that its labels stay readable on a phone.
  const width = Math.max(340, Math.min(960, (chart.clientWidth || 736) - 16));
  const height = width < 500 ? 220 : 260, left = 52, right = 16, top = 16, bottom = 36;
  const plotW = width - left - right, plotH = height - top - bottom;
  const rate = series.measure === "delivered";
  const gauge = series.measure === "size";
  const weekly = alert.baseline === "same_day_last_week";
  const baseline = points.slice(0, 24), current = points.slice(24);
  let lines, yMax, yMin = 0, guide = null, xCount, xLabels;
  if (rate) {
    // Success rate per hour over both windows, against the threshold line.
    const values = points.map((p) => p.success_rate_pct);
    yMin = Math.max(0, Math.min(Number(series.threshold_pct), ...values.filter((v) => v !== null)) - 5);
    yMax = 100;
    lines = [{ values, label: "Success rate per hour", cls: "line-current", dots: true }];
    guide = { value: Number(series.threshold_pct), label: `Threshold ${series.threshold_pct} %` };
    xCount = 48;
    xLabels = (width < 500 ? [0, 24, 47] : [0, 12, 24, 36, 47]).map((i) => [i, hourFormat.format(new Date(points[i].hour))]);
    caption.textContent = `Delivery success rate per hour over the last 48 hours (of delivered and failed), with the ${series.threshold_pct} % threshold. The decision uses the last 24 hours together.`;
  } else if (gauge) {
    const values = points.map((p) => p.value);
    const known = values.filter((v) => v !== null);
    yMax = niceCeiling(Math.max(1, ...known) * 1.1);
    lines = [{ values, label: "Audience size at the end of each hour", cls: "line-current" }];
    const base = points[23].value;
    const ago = weekly ? "a week ago" : "24 hours ago";
    guide = base === null ? null : { value: base, label: `Baseline ${base} (${ago})` };
    xCount = 48;
    xLabels = (width < 500 ? [0, 24, 47] : [0, 12, 24, 36, 47]).map((i) => [i, hourFormat.format(new Date(points[i].hour))]);
    caption.textContent = weekly
      ? "Audience size at the end of each hour: the same day last week, then the last 24 hours, against its size a week ago (the baseline)."
      : "Audience size at the end of each hour over the last 48 hours, against its size 24 hours ago (the baseline).";
  } else {
    // The current 24 hours hour by hour, drawn over the previous 24 (the baseline).
    const cur = current.map((p) => p.value), base = baseline.map((p) => p.value);
    yMax = niceCeiling(Math.max(1, ...cur, ...base) * 1.1);
    lines = [
      { values: base, label: `${weekly ? "Same day last week" : "Baseline 24 hours"}: ${sum(base)}`, cls: "line-baseline" },
      { values: cur, label: `Current 24 hours: ${sum(cur)}`, cls: "line-current" },
    ];
    xCount = 24;
    xLabels = (width < 500 ? [0, 12, 23] : [0, 6, 12, 18, 23]).map((i) => [i, hourFormat.format(new Date(current[i].hour))]);
    caption.textContent = `Events per hour: the current 24 hours (${sum(cur)} in all) against ${weekly ? "the same day last week" : "the previous 24 hours"} (${sum(base)}), hour by hour.`;
  }
  const x = (i) => left + (xCount === 1 ? 0 : (i * plotW) / (xCount - 1));
  const y = (v) => top + plotH - ((v - yMin) / (yMax - yMin || 1)) * plotH;
  const title = svg("title", { id: "chart-svg-title" }, caption.textContent);
  const graph = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": "chart-svg-title", class: "chart-svg" }, title);
  for (const fraction of [0, 0.5, 1]) {
    const value = yMin + (yMax - yMin) * fraction;
    graph.append(svg("line", { x1: left, x2: width - right, y1: y(value), y2: y(value), class: "grid" }));
    graph.append(svg("text", { x: left - 6, y: y(value) + 4, class: "axis", "text-anchor": "end" }, formatNumber(value)));
  }
  xLabels.forEach(([i, label], n) => {
    const anchor = n === 0 ? "start" : n === xLabels.length - 1 ? "end" : "middle";
    graph.append(svg("text", { x: x(i), y: height - 12, class: "axis", "text-anchor": anchor }, label));
  });
  if (xCount === 48) {
    graph.append(svg("line", { x1: x(24), x2: x(24), y1: top, y2: top + plotH, class: "divider" }));
    graph.append(svg("text", { x: x(12), y: top + 12, class: "axis", "text-anchor": "middle" }, weekly ? "same day last week" : "baseline window"));
    graph.append(svg("text", { x: x(36), y: top + 12, class: "axis", "text-anchor": "middle" }, "current window"));
  }
  if (guide) {
    graph.append(svg("line", { x1: left, x2: width - right, y1: y(guide.value), y2: y(guide.value), class: "guide" }));
    graph.append(svg("text", { x: width - right, y: y(guide.value) - 6, class: "axis guide-label", "text-anchor": "end" }, guide.label));
  }
  const legend = [];
  for (const line of lines) {
    let d = "";
    line.values.forEach((value, i) => {
      if (value === null || value === undefined) return;
      d += `${d && line.values[i - 1] !== null && line.values[i - 1] !== undefined ? "L" : "M"}${x(i).toFixed(1)},${y(Number(value)).toFixed(1)}`;
    });
    graph.append(svg("path", { d, class: `series ${line.cls}` }));
    if (line.dots) {
      // Hours without attempts have no rate: a lone hour is a dot, not an invisible line.
      line.values.forEach((value, i) => {
        if (value !== null && value !== undefined) {
          graph.append(svg("circle", { cx: x(i).toFixed(1), cy: y(Number(value)).toFixed(1), r: 3, class: `dot ${line.cls}` }));
        }
      });
    }
    legend.push(h("li", { class: line.cls }, line.label));
  }
  chart.replaceChildren(graph, h("ul", { class: "legend" }, legend));
}

// The smallest 1, 2 or 5 times a power of ten at or above `value`: round axis labels.
function niceCeiling(value) {
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((m) => m * power).find((v) => v >= value);
}

function sum(values) {
  return values.reduce((total, v) => total + (v ?? 0), 0);
}

function formatNumber(value) {
  return Math.abs(value) >= 1000 ? Math.round(value).toLocaleString() : String(Math.round(value * 10) / 10);
}

function setupMute(path, alert, onChange) {
  const state = document.getElementById("mute-state");
  const error = document.getElementById("mute-error");
  const unmute = document.getElementById("unmute");
  function show(current) {
    state.textContent = mutedNow(current.muted_until) ? muteText(current.muted_until) : "Not muted";
    unmute.disabled = !mutedNow(current.muted_until);
  }
  async function set(mutedUntil) {
    error.textContent = "";
    try {
      const updated = await api("PATCH", path, { muted_until: mutedUntil });
      show(updated);
      onChange(updated);
    } catch (failure) {
      error.textContent = `Could not change the mute: ${failure.message}`;
    }
  }
  for (const button of document.querySelectorAll("[data-mute-hours]")) {
    button.addEventListener("click", () => {
      const hours = button.dataset.muteHours;
      set(hours === "forever" ? FOREVER : new Date(Date.now() + Number(hours) * 3600_000).toISOString());
    });
  }
  unmute.addEventListener("click", () => set(null));
  show(alert);
}

function renderTimeline(history) {
  const list = document.getElementById("timeline");
  document.getElementById("timeline-empty").hidden = history.transitions.length > 0;
  list.replaceChildren(...history.transitions.map((t) =>
    h("li", { class: `transition transition-${t.status}` },
      h("time", { datetime: t.at }, formatTime(t.at)), " ",
      t.previous ? `${STATE_NAMES[t.previous]} → ` : "", stateBadge(t.status),
      t.notification ? h("span", { class: "notified" }, t.muted
        ? ` · muted: ${t.notification} (incident ${t.incident})`
        : ` · notified: ${t.notification} (incident ${t.incident})`) : "",
      h("div", { class: "muted" }, observedText(t.observed)))));
}

function renderDeliveries(history) {
  const notifications = new Map(history.transitions.filter((t) => t.event_id).map((t) => [t.event_id, t.notification]));
  const rows = history.deliveries.map((d) =>
    h("tr", {},
      h("td", {}, formatTime(d.at)),
      h("td", {}, channelIcon(d.channel.type), " ", targetText(d.channel)),
      h("td", {}, h("span", { class: `outcome outcome-${d.outcome}` }, d.outcome),
        notifications.has(d.event_id) ? ` (${notifications.get(d.event_id)})` : ""),
      h("td", {}, String(d.attempt)),
      h("td", {}, d.error ?? (d.status_code ? `HTTP ${d.status_code}` : ""))));
  document.querySelector("#deliveries tbody").replaceChildren(...rows);
  document.getElementById("deliveries-empty").hidden = rows.length > 0;
}

// ----------------------------------------------------------------

setupBell();
if (body.dataset.page === "alerts") setupAlertsPage();
if (body.dataset.page === "alert") setupAlertPage();
