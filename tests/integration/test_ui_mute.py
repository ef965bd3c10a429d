"""Muting from the web UI in real Chromium, against a real worker and broker."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from streamalert.records.common import parse_timestamp
from tests.integration.test_ui import (  # noqa: F401  (fixtures)
    SCREENSHOTS,
    Tab,
    browser,
    signed_in,
    tabs,
    user,
    vendors,
    worker,
)
from tests.support import WorkerProcess


def test_mute_and_unmute_from_the_alert_page_with_the_keyboard(
    tabs: Callable[..., Tab],  # noqa: F811
    worker: WorkerProcess,  # noqa: F811
    unique: str,
) -> None:
    owner = user(worker, unique, "olga", "Olga Owner", "owner")
    alert = owner.create(
        {"kind": "source_volume", "source_id": "web", "threshold_pct": 5, "channels": [{"type": "in_app"}]}
    )
    path = f"/v1/workspaces/{{ws}}/alerts/{alert['id']}"
    tab = signed_in(tabs, owner, f"/alerts/{alert['id']}")
    page = tab.page
    state = page.locator("#mute-state")
    expect(state).to_have_text("Not muted")
    expect(page.get_by_role("button", name="Unmute", exact=True)).to_be_disabled()

    before = datetime.now(UTC)
    page.get_by_role("button", name="Mute for 4 h").focus()
    page.keyboard.press("Enter")
    expect(state).to_have_text(re.compile(r"^Muted until "))
    expect(page.locator("#summary .mute-badge")).to_have_text(re.compile(r"^Muted until "))
    page.locator(".mute-panel").screenshot(path=str(SCREENSHOTS / "alert-page-mute.png"))
    muted_until = parse_timestamp(owner.call("GET", path)[1]["muted_until"])
    assert before + timedelta(hours=4) - timedelta(seconds=5) <= muted_until
    assert muted_until <= datetime.now(UTC) + timedelta(hours=4)

    # The alerting table shows it too.
    page.goto("/")
    row = page.locator(f"tr[data-alert='{alert['id']}']")
    expect(row.locator(".mute-badge")).to_have_text(re.compile(r"^Muted until "))

    page.goto(f"/alerts/{alert['id']}")
    unmute = page.get_by_role("button", name="Unmute", exact=True)
    expect(unmute).to_be_enabled()
    unmute.focus()
    page.keyboard.press("Space")
    expect(state).to_have_text("Not muted")
    expect(page.locator("#summary .mute-badge")).to_have_count(0)
    assert owner.call("GET", path)[1]["muted_until"] is None

    page.get_by_role("button", name="Mute until unmuted").click()
    expect(state).to_have_text("Muted until unmuted")
    assert owner.call("GET", path)[1]["muted_until"].startswith("9999-12-31T23:59:59")
    page.goto("/")
    expect(row.locator(".mute-badge")).to_have_text("Muted until unmuted")
