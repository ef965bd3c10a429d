"""The side sheet's backtest in real Chromium: the sentence says what the API answers."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import orjson
from playwright.sync_api import expect

from streamalert.records.common import format_timestamp
from tests.integration.test_ui import SCREENSHOTS, Tab, browser, signed_in, tabs, user, vendors, worker
from tests.integration.vendors import Vendors
from tests.support import WorkerProcess, produce, wait_caught_up

__all__ = ["browser", "tabs", "vendors", "worker"]  # the fixtures of test_ui, shared

PREVIEW = "/v1/workspaces/{ws}/alerts/preview?days=7"


def delivery_results(workspace: str, destination: str) -> list[tuple[bytes, bytes]]:
    """Two days of 100 delivered an hour; 300 failed too in the hours 10 and 40 hours ago."""
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return [
        (
            destination.encode(),
            orjson.dumps(
                {
                    "workspace_id": workspace,
                    "kind": "destination",
                    "destination_id": destination,
                    "timestamp": format_timestamp(hour - back * timedelta(hours=1) + timedelta(minutes=30)),
                    "delivered": 100,
                    "failed": 300 if back in (10, 40) else 0,
                }
            ),
        )
        for back in range(1, 48)
    ]


def test_typing_a_threshold_updates_the_backtest(
    tabs: Callable[..., Tab], worker: WorkerProcess, vendors: Vendors, kafka_bootstrap: str, unique: str
) -> None:
    prefix = worker.prefix
    destination = f"{unique}-dst"
    # On the vendors' loop: Playwright's sync API holds this thread's own loop.
    vendors.run(produce(kafka_bootstrap, f"{prefix}.delivery-results", delivery_results(unique, destination)))
    vendors.run(wait_caught_up(kafka_bootstrap, prefix, [f"{prefix}.delivery-results"]))
    member = user(worker, unique, "mia", "Mia Member", "member")

    def fired(threshold: float) -> int:
        body = {
            "kind": "destination_delivery_rate",
            "destination_id": destination,
            "threshold_pct": threshold,
        }
        status, answer = member.call("POST", PREVIEW, body)
        assert status == 200, answer
        return int(answer["fired"])

    tab = signed_in(tabs, member)
    page = tab.page
    page.get_by_role("button", name="Create alert").click()
    sheet = page.get_by_role("dialog", name="Create alert")
    sentence = sheet.locator("#preview-sentence")
    expect(sentence).to_have_attribute("aria-live", "polite")
    expect(sentence).to_contain_text("Enter what the alert watches")
    sheet.get_by_label("Alert type").select_option(label="Destination delivery success rate")
    sheet.get_by_label("Destination", exact=False).fill(destination)

    # Two dips below 95 %: the API says how many firings, the sentence says the same.
    sheet.get_by_label("Threshold (%)").fill("95")
    expected = fired(95)
    assert expected == 2
    expect(sentence).to_have_text(f"Would have fired {expected} times in the last 7 days.")
    strip = sheet.get_by_role("img", name=re.compile("^Hour by hour"))
    expect(strip).to_be_visible()
    expect(strip).to_have_accessible_name(re.compile("firing at [1-9][0-9]* of 168 hours"))
    expect(sheet.locator("#preview-detail")).to_contain_text("of 168 hours")
    sheet.locator("#preview").screenshot(path=str(SCREENSHOTS / "side-sheet-backtest.png"))

    # Typed again: the sentence follows the new answer.
    sheet.get_by_label("Threshold (%)").fill("50")
    assert fired(50) == 0
    expect(sentence).to_have_text("Would have fired 0 times in the last 7 days.")

    # The suggested threshold, used from the keyboard: it fires at most once.
    use = sheet.locator("#preview-use")
    expect(use).to_have_text(re.compile(r"^Use [0-9.]+ %$"))
    suggestion = float(use.inner_text().removeprefix("Use ").removesuffix(" %"))
    use.focus()
    page.keyboard.press("Enter")
    expect(sheet.get_by_label("Threshold (%)")).to_have_value(re.compile(rf"^{re.escape(str(suggestion))}$"))
    expect(sheet.get_by_label("Threshold (%)")).to_be_focused()
    expected = fired(suggestion)
    assert expected <= 1
    times = "time" if expected == 1 else "times"
    expect(sentence).to_have_text(f"Would have fired {expected} {times} in the last 7 days.")
    expect(
        sheet.get_by_text(
            re.compile(
                f"Fires when the 24-hour delivery success rate falls below {re.escape(str(suggestion))}"
            )
        )
    ).to_be_visible()
