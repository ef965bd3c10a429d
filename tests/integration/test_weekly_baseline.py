"""A week-over-week baseline on a real worker and broker, fed by `streamalert simulate --weekly`.

The simulator makes the last 24 hours before the current hour a Monday after a weekend at
40 % of a weekday's traffic, over 15 days (`--weekly monday`): the worker evaluates at wall
time, so the data set is laid out relative to the real now. A day-over-day alert then fires
(Monday against Sunday, +150 %), a week-over-week alert on the same source does not (Monday
against last Monday, 0 %), and a week-over-week alert still fires on a real spike.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from typing import Any

import orjson
from click.testing import CliRunner

from streamalert.auth import Principal
from streamalert.cli import main
from tests.support import ApiUser, WorkerProcess, consume, issue_token, wait_caught_up

HOUR = timedelta(hours=1)


def histories(user: ApiUser, expected: dict[str, str], timeout: float = 40.0) -> dict[str, dict[str, Any]]:
    """Each alert's history once every alert is evaluated in its expected status."""
    deadline = time.monotonic() + timeout
    while True:
        found = {
            alert_id: user.call("GET", f"/v1/workspaces/{{ws}}/alerts/{alert_id}/history")[1]
            for alert_id in expected
        }
        if all(found[a]["evaluated_at"] and found[a]["status"] == status for a, status in expected.items()):
            return found
        if time.monotonic() > deadline:
            wrong = {
                a: (found[a]["status"], found[a]["observed"])
                for a, s in expected.items()
                if found[a]["status"] != s
            }
            raise AssertionError(f"not evaluated as expected: {wrong}")
        time.sleep(0.3)


def test_a_monday_after_a_quiet_weekend_fires_day_over_day_only(
    module_worker: WorkerProcess, kafka_bootstrap: str, unique: str
) -> None:
    # The windows move on at the next hour: start well inside one, so the numbers below are exact.
    to_next_hour = 3600 - time.time() % 3600
    if to_next_hour < 90:
        time.sleep(to_next_hour + 2)
    prefix = module_worker.prefix
    args = ["simulate", "--broker", f"kafka://{kafka_bootstrap}", "--prefix", prefix, "--workspace", unique]
    args += ["--weekly", "monday", "--seasonal", "ios", "--seasonal", "web", "--spike", "web=80"]
    args += ["--slices", "1", "--events-per-hour", "200", "--seed", "11"]
    started = time.monotonic()
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "backfill: " in result.output
    asyncio.run(
        wait_caught_up(kafka_bootstrap, prefix, [f"{prefix}.pipeline-events", f"{prefix}.delivery-results"])
    )

    principal = Principal(workspace_id=unique, user_id="eve", name="Eve", role="owner")
    user = ApiUser(module_worker.url, issue_token(module_worker.env, principal), unique)

    def create(source: str, baseline: str | None) -> str:
        body: dict[str, Any] = {
            "kind": "source_volume",
            "source_id": source,
            "threshold_pct": 50,
            "channels": [{"type": "in_app"}],
        }
        if baseline:
            body["baseline"] = baseline
        created = user.create(body)
        assert created["baseline"] == (baseline or "previous_day")
        return str(created["id"])

    daily = create("ios", None)
    weekly = create("ios", "same_day_last_week")
    spiked = create("web", "same_day_last_week")
    found = histories(user, {daily: "firing", weekly: "ok", spiked: "firing"})
    day, week, spike = found[daily]["observed"], found[weekly]["observed"], found[spiked]["observed"]
    assert 145 < day["change_pct"] < 155, day  # Monday against Sunday: 100 % against 40 %
    assert abs(week["change_pct"]) < 2, week  # against last Monday
    assert week["current"] == day["current"] and week["baseline"] > 2 * day["baseline"]
    assert 75 < spike["change_pct"] < 85, spike  # a real spike still fires week over week
    end = datetime.fromisoformat(found[weekly]["window"]["end"])
    assert found[weekly]["baseline_window"] == {
        "start": (end - 192 * HOUR).isoformat().replace("+00:00", ".000Z"),
        "end": (end - 168 * HOUR).isoformat().replace("+00:00", ".000Z"),
    }
    assert datetime.fromisoformat(found[daily]["baseline_window"]["end"]) == end - 24 * HOUR

    # alert-fired: the day-over-day firing and the spike, each naming its baseline; nothing for
    # the quiet week-over-week alert, even after more evaluations.
    ours = {daily, weekly, spiked}

    def events(records: list[Any]) -> list[dict[str, Any]]:
        return [orjson.loads(r.value) for r in records if r.key.decode() in ours]

    time.sleep(2.5)
    fired = events(
        asyncio.run(consume(kafka_bootstrap, f"{prefix}.alert-fired", lambda got: len(events(got)) >= 2))
    )
    assert {(e["alert_id"], e["state"], e["baseline"]) for e in fired} == {
        (daily, "firing", "previous_day"),
        (spiked, "firing", "same_day_last_week"),
    }
    week_event = next(e for e in fired if e["alert_id"] == spiked)
    assert week_event["schema"] == "streamalert.alert-fired/v2"
    assert week_event["baseline_window"] == found[spiked]["baseline_window"]
    assert "the same day last week" in week_event["summary"]

    # The chart shows the week-old day as the baseline: its hours lie 168 h before the current ones.
    status, series = user.call("GET", f"/v1/workspaces/{{ws}}/alerts/{weekly}/series")
    assert status == 200 and len(series["points"]) == 48
    first_current = datetime.fromisoformat(series["points"][24]["hour"])
    assert first_current - datetime.fromisoformat(series["points"][0]["hour"]) == 168 * HOUR
    assert sum(p["value"] for p in series["points"][:24]) == week["baseline"]
    assert time.monotonic() - started < 90
