"""The web UI in real Chromium (Debian's /usr/bin/chromium) against a real worker and broker.

A browser that cannot start fails these tests. Screenshots of what the tests saw go to
docs/screenshots/ (the README and docs/ui.md show them).
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie

import orjson
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from streamalert.auth import Principal
from streamalert.web.ui.session import COOKIE
from tests.conftest import worker_env
from tests.integration.vendors import Vendors
from tests.notify.servers import webhook_path
from tests.support import (
    REPO,
    ApiUser,
    WorkerProcess,
    issue_token,
    produce,
    raw,
    revoke_token,
    sign_in_over_http,
)

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = REPO / "docs" / "screenshots"
PAGERDUTY_KEY = "a" * 28 + "k3y9"


@pytest.fixture(scope="module")
def vendors() -> Iterator[Vendors]:
    servers = Vendors()
    yield servers
    servers.close()


@pytest.fixture(scope="module")
def worker(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory, vendors: Vendors
) -> Iterator[WorkerProcess]:
    folder = tmp_path_factory.mktemp("ui")
    prefix = f"u{uuid.uuid4().hex[:10]}"
    process = WorkerProcess(worker_env(kafka_bootstrap, prefix, folder), folder / "worker.log", prefix)
    process.env |= {
        "STREAMALERT_PUBLIC_URL": process.url,
        "STREAMALERT_PAGERDUTY_URL": vendors.pagerduty.base_url,
        "STREAMALERT_SMTP_URL": f"smtp://127.0.0.1:{vendors.smtp_port}",
    }
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


class Tab:
    """One signed-in (or not) browser context; collects console errors, which fail the test."""

    def __init__(self, browser: Browser, base_url: str, width: int = 1280, height: int = 900) -> None:
        self.context: BrowserContext = browser.new_context(
            base_url=base_url, viewport={"width": width, "height": height}
        )
        self.context.set_default_timeout(10_000)
        self.errors: list[str] = []
        self.expected_statuses: set[int] = set()
        """API answers a test provokes on purpose: Chromium logs each as a failed resource."""
        self.page: Page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def sign_in(self, token: str) -> None:
        self.page.get_by_label("API token").fill(token)
        self.page.get_by_role("button", name="Sign in").click()

    def close(self) -> None:
        self.context.close()
        expected = {f"the server responded with a status of {status} " for status in self.expected_statuses}
        unexpected = [e for e in self.errors if not any(text in e for text in expected)]
        assert unexpected == [], f"console errors: {unexpected}"


@pytest.fixture
def tabs(browser: Browser, worker: WorkerProcess) -> Iterator[Callable[..., Tab]]:
    opened: list[Tab] = []

    def open_tab(**size: int) -> Tab:
        tab = Tab(browser, worker.url, **size)
        opened.append(tab)
        return tab

    yield open_tab
    for tab in opened:
        tab.close()


def user(worker: WorkerProcess, workspace: str, user_id: str, name: str, role: str) -> ApiUser:
    principal = Principal(workspace_id=workspace, user_id=user_id, name=name, role=role)  # type: ignore[arg-type]
    token = issue_token(worker.env, principal)
    return ApiUser(worker.url, token, workspace)


def signed_in(tabs: Callable[..., Tab], who: ApiUser, path: str = "/", **size: int) -> Tab:
    tab = tabs(**size)
    tab.page.goto(path)
    tab.sign_in(who.token)
    expect(tab.page).to_have_url(re.compile(re.escape(path) + "$"))
    return tab


def fill_sheet(page: Page, kind: str, name: str, subjects: dict[str, str], threshold: str) -> None:
    sheet = page.get_by_role("dialog", name="Create alert")
    expect(sheet).to_be_visible()
    sheet.get_by_label("Alert type").select_option(label=kind)
    sheet.get_by_label("Alert name").fill(name)
    for label, value in subjects.items():
        sheet.get_by_label(label, exact=False).fill(value)
    sheet.get_by_label("Threshold (%)").fill(threshold)


def test_create_every_kind_then_edit_and_disable(
    tabs: Callable[..., Tab], worker: WorkerProcess, vendors: Vendors, unique: str
) -> None:
    owner = user(worker, unique, "olga", "Olga Owner", "owner")
    tab = signed_in(tabs, owner)
    page = tab.page
    expect(page.get_by_role("heading", name="No alerts yet")).to_be_visible()
    slack = vendors.slack()

    kinds: list[tuple[str, dict[str, str], str, str]] = [
        ("Source volume change", {"Source": "web"}, "4", "±4 % against the previous 24 hours"),
        ("Destination delivery success rate", {"Destination": "ads"}, "99", "falls below 99 %"),
        ("Reverse ETL mapping delivery success rate", {"Reverse ETL mapping": "m-crm"}, "98", "below 98 %"),
        ("Audience activation volume change", {"Audience": "vip", "Destination": "ads"}, "10", "±10 %"),
        ("Audience size change", {"Audience": "vip"}, "5", "its size 24 hours earlier"),
    ]
    for number, (kind, subjects, threshold, rule) in enumerate(kinds):
        page.get_by_role("button", name="Create alert").click()
        fill_sheet(page, kind, f"{kind} alert", subjects, threshold)
        sheet = page.get_by_role("dialog", name="Create alert")
        expect(sheet.get_by_text(rule)).to_be_visible()
        # Only this kind's subject fields are offered.
        if kind == "Source volume change":
            expect(sheet.get_by_label("Destination")).to_be_hidden()
            expect(sheet.get_by_label("Audience")).to_be_hidden()
        sheet.get_by_label("In-app (the bell)").check()
        if number == 0:
            # A bad address is reported next to its field, by the API.
            sheet.get_by_label("Email", exact=True).check()
            sheet.get_by_label("Email address").fill("not-an-address")
            sheet.get_by_label("Slack", exact=True).check()
            sheet.get_by_label("Slack webhook URL").fill(slack.base_url + webhook_path())
            sheet.get_by_label("Slack channel").fill("#data-alerts")
            sheet.get_by_label("PagerDuty", exact=True).check()
            sheet.get_by_label("PagerDuty integration key").fill(PAGERDUTY_KEY)
            tab.expected_statuses.add(422)
            sheet.get_by_role("button", name="Save alert").click()
            error = sheet.locator('.channel[data-type="email"] .error')
            expect(error).to_contain_text("email")
            address = sheet.get_by_label("Email address")
            expect(address).to_have_attribute("aria-invalid", "true")
            expect(address).to_have_accessible_description(re.compile("not a valid email address"))
            page.set_viewport_size({"width": 1280, "height": 1400})  # the whole sheet in one picture
            page.screenshot(path=str(SCREENSHOTS / "side-sheet.png"))
            page.set_viewport_size({"width": 1280, "height": 900})
            sheet.get_by_label("Email address").fill(f"{unique}@example.com")
        sheet.get_by_role("button", name="Save alert").click()
        expect(sheet).to_be_hidden()
        expect(page.get_by_role("row", name=re.compile(f"^{re.escape(kind)} alert"))).to_be_visible()

    rows = page.locator("#alert-rows tr")
    expect(rows).to_have_count(5)
    first = page.get_by_role("row", name=re.compile("^Source volume change alert"))
    expect(first.get_by_role("img", name="Slack")).to_be_visible()
    expect(first.get_by_role("img", name="PagerDuty")).to_be_visible()
    expect(first.get_by_role("img", name="In-app")).to_be_visible()
    expect(first).to_contain_text("Olga Owner")
    expect(first).to_contain_text("enabled")
    expect(first).to_contain_text("Insufficient data")

    # Sort by name and filter by kind.
    page.get_by_label("Sort by").select_option(label="Alert name, A to Z")
    expect(rows.first).to_contain_text("Audience activation volume change alert")
    page.get_by_label("Filter by alert type").select_option(label="Audience size change")
    expect(rows).to_have_count(1)
    page.get_by_label("Filter by alert type").select_option(label="All types")
    page.get_by_label("Filter by state").select_option(label="Firing")
    expect(page.get_by_text("No alert matches these filters.")).to_be_visible()
    page.get_by_label("Filter by state").select_option(label="All states")
    page.screenshot(path=str(SCREENSHOTS / "alerting-table.png"))

    # Edit: secrets come back masked, saving without retyping them keeps them.
    first.get_by_role("button", name="Actions for Source volume change alert").click()
    page.get_by_role("menuitem", name="Edit").click()
    sheet = page.get_by_role("dialog", name="Edit alert")
    expect(sheet.get_by_label("Threshold (%)")).to_have_value("4")
    expect(sheet.get_by_label("PagerDuty integration key")).to_have_value("****k3y9")
    expect(sheet.get_by_label("Alert type")).to_be_disabled()
    sheet.get_by_label("Threshold (%)").fill("7.5")
    sheet.get_by_role("switch", name="Enable alert").uncheck()
    sheet.get_by_role("button", name="Save alert").click()
    expect(sheet).to_be_hidden()
    expect(first).to_contain_text("disabled")
    expect(first).to_contain_text("±7.5 %")
    alert_id = first.get_attribute("data-alert")
    status, stored = owner.call("GET", f"/v1/workspaces/{{ws}}/alerts/{alert_id}")
    assert status == 200 and stored["enabled"] is False and stored["threshold_pct"] == 7.5
    assert {c["type"]: c for c in stored["channels"]}["pagerduty"]["integration_key"] == "****k3y9"

    # A test send reports each channel's outcome; Slack really receives it.
    first.get_by_role("button", name="Actions for Source volume change alert").click()
    page.get_by_role("menuitem", name="Edit").click()
    sheet = page.get_by_role("dialog", name="Edit alert")
    sheet.get_by_role("button", name="Send test notification").click()
    results = sheet.get_by_role("region", name="Test notification results")
    expect(results.get_by_role("listitem").filter(has_text="Slack #data-alerts")).to_contain_text(
        "delivered", timeout=20_000
    )
    expect(results).to_contain_text("In-app")
    assert len(slack.valid) == 1
    assert "[TEST]" in orjson.dumps(slack.valid[0].json()).decode()
    sheet.get_by_role("button", name="Cancel").click()


def test_delete_only_for_creator_and_owners(
    tabs: Callable[..., Tab], worker: WorkerProcess, unique: str
) -> None:
    owner = user(worker, unique, "olga", "Olga Owner", "owner")
    member = user(worker, unique, "max", "Max Member", "member")
    owners = owner.create(
        {
            "kind": "source_volume",
            "source_id": "web",
            "threshold_pct": 5,
            "channels": [{"type": "in_app"}],
            "name": "Owner's",
        }
    )
    mine = member.create(
        {
            "kind": "source_volume",
            "source_id": "app",
            "threshold_pct": 5,
            "channels": [{"type": "in_app"}],
            "name": "Member's",
        }
    )
    tab = signed_in(tabs, member, width=390, height=844)  # a phone
    page = tab.page
    expect(page.locator("#alert-rows tr")).to_have_count(2)
    page.screenshot(path=str(SCREENSHOTS / "alerting-table-phone.png"))
    page.get_by_role("button", name="Actions for Owner's").click()
    delete = page.get_by_role("menuitem", name="Delete")
    expect(delete).to_be_disabled()
    expect(page.get_by_text("Only the alert's creator or a workspace owner can delete it.")).to_be_visible()
    page.keyboard.press("Escape")
    # The member deletes their own alert, after confirming.
    # By keyboard: Enter opens the menu on its first item, the arrow moves to Delete.
    page.get_by_role("button", name="Actions for Member's").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("menuitem", name="Edit")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("menuitem", name="Delete")).to_be_focused()
    page.keyboard.press("Enter")
    confirm = page.get_by_role("dialog", name="Delete alert?")
    expect(confirm).to_contain_text("Member's")
    confirm.get_by_role("button", name="Delete alert").click()
    expect(page.locator(f'tr[data-alert="{mine["id"]}"]')).to_have_count(0)
    expect(page.locator(f'tr[data-alert="{owners["id"]}"]')).to_have_count(1)
    assert member.call("DELETE", f"/v1/workspaces/{{ws}}/alerts/{owners['id']}")[0] == 403


def test_the_sheet_sets_a_key_once_and_says_when_it_is_taken(
    tabs: Callable[..., Tab], worker: WorkerProcess, unique: str
) -> None:
    member = user(worker, unique, "kim", "Kim Keys", "member")
    tab = signed_in(tabs, member)
    page = tab.page
    for attempt in range(2):
        page.get_by_role("button", name="Create alert").click()
        fill_sheet(page, "Source volume change", f"Keyed {attempt}", {"Source": "web"}, "4")
        sheet = page.get_by_role("dialog", name="Create alert")
        key = sheet.get_by_label("Alert key")
        expect(key).to_have_accessible_description(re.compile("alerts as code"))
        key.fill("web-volume")
        sheet.get_by_label("In-app (the bell)").check()
        if attempt == 1:
            tab.expected_statuses.add(409)
        sheet.get_by_role("button", name="Save alert").click()
    # The second create of the key is refused next to the field, and nothing is saved.
    expect(sheet.locator('[data-error="key"]')).to_have_text("is taken by another alert")
    expect(key).to_have_attribute("aria-invalid", "true")
    sheet.get_by_role("button", name="Cancel").click()
    rows = member.call("GET", "/v1/workspaces/{ws}/alerts")[1]["alerts"]
    assert [(row["name"], row["key"]) for row in rows] == [("Keyed 0", "web-volume")]

    # Editing shows the key, fixed.
    page.get_by_role("button", name="Actions for Keyed 0").click()
    page.get_by_role("menuitem", name="Edit").click()
    sheet = page.get_by_role("dialog", name="Edit alert")
    expect(sheet.get_by_label("Alert key")).to_have_value("web-volume")
    expect(sheet.get_by_label("Alert key")).not_to_be_editable()
    sheet.get_by_label("Threshold (%)").fill("6")
    sheet.get_by_role("button", name="Save alert").click()
    expect(sheet).to_be_hidden()
    stored = member.call("GET", f"/v1/workspaces/{{ws}}/alerts/{rows[0]['id']}")[1]
    assert (stored["key"], stored["threshold_pct"], stored["version"]) == ("web-volume", 6, 2)


def at(hours_before: float) -> str:
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return (hour - timedelta(hours=hours_before, minutes=-30)).isoformat()


def source_events(workspace: str, source: str, counts: dict[float, int]) -> list[tuple[bytes, bytes]]:
    return [
        (
            source.encode(),
            orjson.dumps(
                {
                    "type": "source_events",
                    "workspace_id": workspace,
                    "source_id": source,
                    "timestamp": at(hours),
                    "count": count,
                }
            ),
        )
        for hours, count in counts.items()
    ]


def test_firing_rings_the_bell_and_the_slack_link_opens_the_alert_page(
    tabs: Callable[..., Tab], worker: WorkerProcess, vendors: Vendors, kafka_bootstrap: str, unique: str
) -> None:
    owner = user(worker, unique, "olga", "Olga Owner", "owner")
    slack = vendors.slack()
    tab = signed_in(tabs, owner)
    page = tab.page
    bell = page.get_by_role("button", name=re.compile(r"^Notifications, \d+ unread$"))
    expect(bell).to_have_accessible_name("Notifications, 0 unread")

    # Baseline 24 h: 100 events; current 24 h: 40, spread over hours. -60 % breaks ±10 %.
    counts = {30.0: 40, 34.0: 60, 3.0: 15, 8.0: 25}
    # On the vendors' loop: Playwright's sync API holds this thread's own loop.
    vendors.run(
        produce(kafka_bootstrap, f"{worker.prefix}.pipeline-events", source_events(unique, "web", counts))
    )
    alert = owner.create(
        {
            "kind": "source_volume",
            "source_id": "web",
            "threshold_pct": 10,
            "name": "Web events volume",
            "channels": [
                {"type": "in_app"},
                {"type": "slack", "webhook_url": slack.base_url + webhook_path(), "channel": "#alerts"},
            ],
        }
    )
    expect(bell).to_have_accessible_name("Notifications, 1 unread", timeout=30_000)  # no reload
    bell.click()
    panel = page.get_by_role("region", name="Notifications")
    link = panel.get_by_role("link", name=re.compile("Web events volume"))
    expect(link).to_have_attribute("href", f"/alerts/{alert['id']}")
    panel.get_by_role("button", name=re.compile("^Mark .* as read$")).click()
    expect(bell).to_have_accessible_name("Notifications, 0 unread")

    deadline = time.monotonic() + 20
    while not slack.valid:
        assert time.monotonic() < deadline, "no Slack message"
        time.sleep(0.2)
    message = slack.valid[0].json()
    # The "View alert" button of the message is the link people follow.
    links = [e["url"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert links == [f"{worker.url}/alerts/{alert['id']}"], message

    # A signed-out visitor of the link signs in and comes back to it.
    visitor = tabs()
    visitor.page.goto(links[0])
    expect(visitor.page).to_have_url(re.compile(r"/sign-in\?next=/alerts/"))
    visitor.sign_in(owner.token)
    alert_page = visitor.page
    expect(alert_page).to_have_url(f"{worker.url}/alerts/{alert['id']}")
    expect(alert_page.get_by_role("heading", name="Web events volume")).to_be_visible()
    chart = alert_page.get_by_role("img", name=re.compile("the current 24 hours \\(40 in all\\)"))
    expect(chart).to_be_visible()
    expect(alert_page.locator("#chart path.line-current")).to_have_count(1)
    expect(alert_page.locator("#chart path.line-baseline")).to_have_count(1)
    timeline = alert_page.locator("#timeline")
    expect(timeline).to_contain_text("notified: firing (incident 1)")
    expect(timeline).to_contain_text("current 40 against baseline 100: \u221260.00 %")
    expect(alert_page.locator("#deliveries")).to_contain_text("delivered")
    expect(alert_page.locator("#summary")).to_contain_text("±10 %")
    alert_page.screenshot(path=str(SCREENSHOTS / "alert-page.png"), full_page=True)


def test_an_unknown_token_is_refused_and_next_stays_local(
    tabs: Callable[..., Tab], worker: WorkerProcess
) -> None:
    tab = tabs()
    page = tab.page
    page.goto("/sign-in?next=//evil.example/")
    page.get_by_label("API token").fill("sat_nope")
    with page.expect_response(lambda r: r.url.endswith("/sign-in") and r.request.method == "POST") as answer:
        page.get_by_role("button", name="Sign in").click()
    assert answer.value.status == 401
    expect(page.get_by_role("alert")).to_have_text("Unknown or revoked token.")
    tab.expected_statuses.add(401)
    assert page.locator('input[name="next"]').input_value() == "/"


def test_the_session_cookie_guards_writes_and_ends_with_its_token(worker: WorkerProcess, unique: str) -> None:
    owner = user(worker, unique, "olga", "Olga Owner", "owner")
    cookie, jar = sign_in_over_http(worker.url, owner.token)
    morsel = jar[COOKIE]
    assert morsel["httponly"] is True and morsel["samesite"] == "Strict" and morsel["path"] == "/"
    assert not morsel["secure"]  # the public URL is http here
    assert owner.token not in cookie and owner.token.split("_")[-1] not in cookie

    status, _, body = raw("GET", f"{worker.url}/v1/me", cookie)
    assert status == 200 and orjson.loads(body)["user_id"] == "olga"
    status, headers, page = raw("GET", f"{worker.url}/", cookie)
    assert status == 200 and "default-src 'self'" in headers["Content-Security-Policy"]
    match = re.search(r'data-csrf="([0-9a-f]+)"', page.decode())
    assert match is not None
    csrf = match.group(1)

    alerts = f"{worker.url}/v1/workspaces/{unique}/alerts"
    body = orjson.dumps(
        {"kind": "source_volume", "source_id": "web", "threshold_pct": 5, "channels": [{"type": "in_app"}]}
    )
    json_type = {"Content-Type": "application/json"}
    assert raw("POST", alerts, cookie, body, **json_type)[0] == 403  # no CSRF header
    assert raw("POST", alerts, cookie, body, **json_type, **{"X-CSRF-Token": "0" * 64})[0] == 403
    assert raw("POST", alerts, cookie, body, **json_type, **{"X-CSRF-Token": csrf})[0] == 201
    # The workspace comes from the token: another one does not exist for this session.
    assert raw("GET", f"{worker.url}/v1/workspaces/{unique}x/alerts", cookie)[0] == 404
    # A sign-in posted from another site is refused (login CSRF).
    form = urllib.parse.urlencode({"token": owner.token}).encode()
    form_type = {"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example"}
    assert raw("POST", f"{worker.url}/sign-in", data=form, **form_type)[0] == 403

    # Sign-out needs the page's CSRF token and clears the cookie.
    form = urllib.parse.urlencode({"csrf": csrf}).encode()
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    status, headers, _ = raw("POST", f"{worker.url}/sign-out", cookie, form, **form_type)
    cleared: SimpleCookie = SimpleCookie()
    cleared.load(headers["Set-Cookie"])
    assert status == 303 and cleared[COOKIE].value == "" and cleared[COOKIE]["max-age"] == "0"

    # Revoking the token ends its sessions on the next request.
    revoke_token(worker.env, owner.token)
    deadline = time.monotonic() + 10
    while raw("GET", f"{worker.url}/v1/me", cookie)[0] != 401 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert raw("GET", f"{worker.url}/v1/me", cookie)[0] == 401
    status, headers, _ = raw("GET", f"{worker.url}/alerts/al-1?x=1", cookie)
    location = urllib.parse.urlsplit(headers["Location"])
    assert (status, location.path) == (302, "/sign-in")
    assert urllib.parse.parse_qs(location.query) == {"next": ["/alerts/al-1?x=1"]}


def test_every_asset_comes_from_the_worker(worker: WorkerProcess, unique: str) -> None:
    owner = user(worker, unique, "olga", "Olga Owner", "owner")
    cookie, _ = sign_in_over_http(worker.url, owner.token)
    texts = [raw("GET", f"{worker.url}{path}", cookie)[2].decode() for path in ("/", "/alerts/a", "/sign-in")]
    for name in ("app.js", "app.css", "icon.svg"):
        status, headers, asset = raw("GET", f"{worker.url}/ui/static/{name}")
        assert status == 200 and headers["X-Content-Type-Options"] == "nosniff"
        texts.append(asset.decode())
    assert raw("GET", f"{worker.url}/ui/static/..%2Fpages.py")[0] == 404
    for text in texts:
        # The only absolute URL is the SVG namespace, which is a name, not a fetch.
        assert set(re.findall(r"https?://[^\s\"'`)]+", text)) <= {"http://www.w3.org/2000/svg"}


def test_rate_and_size_alert_pages_draw_their_own_chart(
    tabs: Callable[..., Tab], worker: WorkerProcess, vendors: Vendors, kafka_bootstrap: str, unique: str
) -> None:
    owner = user(worker, unique, "olga", "Olga Owner", "owner")

    def outcome(hours: float, delivered: int, failed: int) -> tuple[bytes, bytes]:
        record = {
            "workspace_id": unique,
            "kind": "destination",
            "destination_id": "ads",
            "timestamp": at(hours),
            "delivered": delivered,
            "failed": failed,
        }
        return b"ads", orjson.dumps(record)

    def size(hours: float, value: int) -> tuple[bytes, bytes]:
        record = {
            "type": "audience_size",
            "workspace_id": unique,
            "audience_id": "vip",
            "timestamp": at(hours),
            "size": value,
        }
        return b"vip", orjson.dumps(record)

    topics = worker.prefix
    vendors.run(
        produce(kafka_bootstrap, f"{topics}.delivery-results", [outcome(30, 100, 0), outcome(5, 90, 10)])
    )
    vendors.run(produce(kafka_bootstrap, f"{topics}.pipeline-events", [size(40, 100), size(3, 130)]))
    in_app = [{"type": "in_app"}]
    rate = owner.create(
        {
            "kind": "destination_delivery_rate",
            "destination_id": "ads",
            "threshold_pct": 99,
            "channels": in_app,
        }
    )
    gauge = owner.create(
        {"kind": "audience_size", "audience_id": "vip", "threshold_pct": 5, "channels": in_app}
    )

    tab = signed_in(tabs, owner, f"/alerts/{rate['id']}")
    page = tab.page
    expect(page.locator("#timeline")).to_contain_text(
        "90 delivered, 10 failed: success rate 90.00 %", timeout=20_000
    )
    expect(page.get_by_role("img", name=re.compile("^Delivery success rate per hour"))).to_be_visible()
    expect(page.locator("#chart")).to_contain_text("Threshold 99 %")
    expect(page.locator("#chart circle.dot")).to_have_count(2)  # the two hours with attempts
    expect(page.locator("#summary")).to_contain_text("falls below 99 %")

    phone = signed_in(tabs, owner, f"/alerts/{gauge['id']}", width=390, height=844)
    expect(phone.page.locator("#timeline")).to_contain_text(
        "current 130 against baseline 100: +30.00 %", timeout=20_000
    )
    expect(
        phone.page.get_by_role("img", name=re.compile("^Audience size at the end of each hour"))
    ).to_be_visible()
    expect(phone.page.locator("#chart")).to_contain_text("Baseline 100 (24 hours ago)")
    phone.page.screenshot(path=str(SCREENSHOTS / "alert-page-phone.png"), full_page=True)


def test_the_side_sheet_and_the_alert_page_say_which_baseline_is_compared(
    tabs: Callable[..., Tab], worker: WorkerProcess, vendors: Vendors, kafka_bootstrap: str, unique: str
) -> None:
    owner = user(worker, unique, "olga", "Olga Owner", "owner")

    def events(hours: float, count: int) -> tuple[bytes, bytes]:
        record = {
            "type": "source_events",
            "workspace_id": unique,
            "source_id": "web",
            "timestamp": at(hours),
            "count": count,
        }
        return b"web", orjson.dumps(record)

    # Last week 100, the day before 40 (a quiet Sunday), the last 24 hours 100.
    vendors.run(
        produce(
            kafka_bootstrap,
            f"{worker.prefix}.pipeline-events",
            [events(180, 100), events(36, 40), events(5, 100)],
        )
    )
    tab = signed_in(tabs, owner)
    page = tab.page
    page.get_by_role("button", name="Create alert").click()
    fill_sheet(page, "Destination delivery success rate", "rate", {"Destination": "ads"}, "99")
    sheet = page.get_by_role("dialog", name="Create alert")
    expect(sheet.get_by_label("Compare with")).to_be_hidden()  # a rate has no baseline to choose
    fill_sheet(page, "Source volume change", "weekly", {"Source": "web"}, "20")
    compare = sheet.get_by_label("Compare with")
    expect(compare).to_be_visible()
    expect(compare).to_have_value("previous_day")
    expect(sheet.get_by_text("±20 % against the previous 24 hours")).to_be_visible()
    compare.select_option(label="The same day last week")
    expect(sheet.get_by_text("±20 % against the same 24 hours a week earlier")).to_be_visible()
    sheet.get_by_label("In-app (the bell)").check()
    sheet.get_by_role("button", name="Save alert").click()
    expect(sheet).to_be_hidden()
    row = page.get_by_role("row", name=re.compile("^weekly"))
    alert_id = row.get_attribute("data-alert")
    status, stored = owner.call("GET", f"/v1/workspaces/{{ws}}/alerts/{alert_id}")
    assert status == 200 and stored["baseline"] == "same_day_last_week"

    # The edit sheet shows the stored choice; the alert page says what the decision compared.
    row.get_by_role("button", name="Actions for weekly").click()
    page.get_by_role("menuitem", name="Edit").click()
    edit = page.get_by_role("dialog", name="Edit alert")
    expect(edit.get_by_label("Compare with")).to_have_value("same_day_last_week")
    edit.get_by_role("button", name="Cancel").click()
    alert_page = signed_in(tabs, owner, f"/alerts/{alert_id}").page
    expect(alert_page.locator("#summary")).to_contain_text("vs. the same day last week")
    expect(alert_page.locator("#timeline")).to_contain_text(
        "current 100 against baseline 100", timeout=20_000
    )
    expect(alert_page.locator("#chart")).to_contain_text("Same day last week: 100")
    expect(alert_page.locator("#chart")).to_contain_text("same day last week")
