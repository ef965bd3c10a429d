from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator

from streamalert.counting.buckets import apply
from streamalert.evaluation.decide import Evaluation, evaluate
from streamalert.evaluation.render import render_alert_fired, summary
from streamalert.evaluation.state import Transition, event_id, step
from streamalert.kinds import KINDS
from streamalert.records import AlertConfig, AlertFired, SourceEvents
from streamalert.records.outputs import ChangeObserved, RateObserved, Window

SCHEMA = orjson.loads(
    (Path(__file__).resolve().parents[2] / "schemas" / "alert-fired.schema.json").read_bytes()
)
VALIDATOR = Draft202012Validator(SCHEMA)

H = datetime(2026, 11, 28, 9, tzinfo=UTC)
NOW = H + timedelta(minutes=42)
HOUR = timedelta(hours=1)

SLACK_URL = "https://hooks.slack.com/services/T0SECRET/B0SECRET/slacksecretpath1234"
WORKFLOW_URL = "https://hooks.slack.com/triggers/T0SECRET/987/workflowsecret5678"
PAGERDUTY_KEY = "R0utingKeySecret0123456789abcdef"
ADDRESS = "oncall-secret@example.com"
SECRETS = [
    SLACK_URL,
    "slacksecretpath1234",
    WORKFLOW_URL,
    "workflowsecret5678",
    PAGERDUTY_KEY,
    ADDRESS,
    "T0SECRET",
]


def alert(kind: str, threshold: str = "4", name: str | None = None, **subject: str) -> AlertConfig:
    return AlertConfig.model_validate(
        {
            "id": "a1",
            "workspace_id": "w",
            "kind": kind,
            "name": name or KINDS[kind].default_name,
            "threshold_pct": Decimal(threshold),
            "channels": [
                {"type": "slack", "webhook_url": SLACK_URL, "channel": "#alerts"},
                {"type": "slack_workflow", "webhook_url": WORKFLOW_URL},
                {"type": "pagerduty", "integration_key": PAGERDUTY_KEY},
                {"type": "email", "address": ADDRESS},
                {"type": "in_app"},
            ],
            "created_by": {"user_id": "u", "name": "U"},
            "created_at": "2026-11-01T00:00:00Z",
            "updated_at": "2026-11-01T00:00:00Z",
        }
        | subject
    )


def change(current: int, baseline: int, pct: str) -> ChangeObserved:
    return ChangeObserved(current=current, baseline=baseline, change_pct=Decimal(pct))


def rate(delivered: int, failed: int, pct: str) -> RateObserved:
    return RateObserved(delivered=delivered, failed=failed, success_rate_pct=Decimal(pct))


def transition(state: str, observed: ChangeObserved | RateObserved, threshold: str = "4") -> Transition:
    return Transition.model_validate(
        {
            "state": state,
            "incident": 3,
            "event_id": event_id("a1", 3, state),  # type: ignore[arg-type]
            "occurred_at": NOW,
            "alert_version": 1,
            "threshold_pct": Decimal(threshold),
            "window": Window(start=H - 24 * HOUR, end=H),
            "baseline_window": Window(start=H - 48 * HOUR, end=H - 24 * HOUR),
            "observed": observed,
        }
    )


SOURCE = alert("source_volume", source_id="web")
DESTINATION = alert("destination_delivery_rate", "99", destination_id="warehouse")

CASES: list[tuple[AlertConfig, str, ChangeObserved | RateObserved, str]] = [
    (
        SOURCE,
        "firing",
        change(95, 100, "-5.00"),
        "Source volume change for source web: 95 events in the last 24 h vs 100 the day before "
        "(\u22125.00 %), threshold ±4 %",
    ),
    (
        SOURCE,
        "resolved",
        change(101, 100, "1.00"),
        "Resolved: Source volume change for source web: 101 events in the last 24 h vs 100 the day before "
        "(+1.00 %), within ±4 %",
    ),
    (
        alert("source_volume", "4.500", name="Web traffic", source_id="web"),
        "firing",
        change(1_250_000, 1_000_000, "25.00"),
        "[Web traffic] Source volume change for source web: 1,250,000 events in the last 24 h vs 1,000,000 "
        "the day before (+25.00 %), threshold ±4.5 %",
    ),
    (
        SOURCE,
        "firing",
        change(0, 100, "-100.00"),
        "Source volume change for source web: 0 events in the last 24 h vs 100 the day before "
        "(\u2212100.00 %), threshold ±4 %",
    ),
    (
        DESTINATION,
        "firing",
        rate(9899, 101, "98.99"),
        "Destination delivery success rate for destination warehouse: 98.99 % (9,899 delivered, 101 failed) "
        "in the last 24 h, below 99 %",
    ),
    (
        DESTINATION,
        "resolved",
        rate(99, 1, "99.00"),
        "Resolved: Destination delivery success rate for destination warehouse: 99.00 % (99 delivered, "
        "1 failed) in the last 24 h, back at or above 99 %",
    ),
    (
        alert("destination_delivery_rate", "99.5", destination_id="warehouse", source_id="web"),
        "firing",
        rate(0, 12, "0.00"),
        "Destination delivery success rate for destination warehouse from source web: 0.00 % (0 delivered, "
        "12 failed) in the last 24 h, below 99.5 %",
    ),
    (
        alert("mapping_delivery_rate", "99", mapping_id="m1"),
        "firing",
        rate(5, 5, "50.00"),
        "Reverse ETL mapping delivery success rate for mapping m1: 50.00 % (5 delivered, 5 failed) "
        "in the last 24 h, below 99 %",
    ),
    (
        alert("activation_volume", "10", audience_id="vip", destination_id="ads"),
        "firing",
        change(80, 100, "-20.00"),
        "Audience activation volume change for audience vip to destination ads: 80 events delivered in the "
        "last 24 h vs 100 the day before (\u221220.00 %), threshold ±10 %",
    ),
    (
        alert("audience_size", "33.333333", audience_id="vip"),
        "firing",
        change(4, 3, "33.33"),
        "Audience size change for audience vip: 4 members vs 3 24 h earlier (+33.33 %), threshold ±33.333333 %",
    ),
    (
        alert("audience_size", "5", audience_id="vip", destination_id="ads"),
        "resolved",
        change(1_000, 1_000, "0.00"),
        "Resolved: Audience size change for audience vip at destination ads: 1,000 members vs 1,000 24 h "
        "earlier (0.00 %), within ±5 %",
    ),
]


@pytest.mark.parametrize(("config", "state", "observed", "expected"), CASES)
def test_summary(
    config: AlertConfig, state: str, observed: ChangeObserved | RateObserved, expected: str
) -> None:
    assert summary(config, state, observed, config.threshold_pct) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(("config", "state", "observed", "expected"), CASES)
def test_rendered_record_follows_the_published_schema(
    config: AlertConfig, state: str, observed: ChangeObserved | RateObserved, expected: str
) -> None:
    fired = render_alert_fired(config, transition(state, observed, str(config.threshold_pct)))
    document: dict[str, Any] = fired.model_dump(mode="json", by_alias=True)
    errors = [error.message for error in VALIDATOR.iter_errors(document)]
    assert errors == []
    assert document["schema"] == "streamalert.alert-fired/v2"
    assert document["state"] == state
    assert document["summary"] == expected
    assert document["subject"] == {field: config.subject.get(field) for field in document["subject"]}
    assert {k: v for k, v in document["subject"].items() if v} == config.subject
    assert document["window"] == {"start": "2026-11-27T09:00:00.000Z", "end": "2026-11-28T09:00:00.000Z"}
    assert document["baseline_window"] == {
        "start": "2026-11-26T09:00:00.000Z",
        "end": "2026-11-27T09:00:00.000Z",
    }
    assert document["occurred_at"] == "2026-11-28T09:42:00.000Z"
    assert document["event_id"] == event_id("a1", 3, state)  # type: ignore[arg-type]
    assert AlertFired.model_validate_json(orjson.dumps(document)) == fired


@pytest.mark.parametrize(("config", "state", "observed", "expected"), CASES)
def test_no_channel_secret_reaches_the_record(
    config: AlertConfig, state: str, observed: ChangeObserved | RateObserved, expected: str
) -> None:
    fired = render_alert_fired(config, transition(state, observed))
    written = orjson.dumps(fired.model_dump(mode="json", by_alias=True)).decode()
    for secret in SECRETS:
        assert secret not in written
    assert "channels" not in written and "hooks.slack.com" not in written


def test_numbers_are_json_numbers() -> None:
    fired = render_alert_fired(DESTINATION, transition("firing", rate(9899, 101, "98.99"), "99"))
    document = orjson.loads(orjson.dumps(fired.model_dump(mode="json", by_alias=True)))
    assert document["threshold_pct"] == 99
    assert document["observed"] == {"delivered": 9899, "failed": 101, "success_rate_pct": 98.99}


def test_from_records_to_alert_fired_end_to_end() -> None:
    """Counting, deciding, stepping and rendering agree: the same inputs give the same record."""
    config = SOURCE
    records = [(H - 36 * HOUR, 100), (H - 12 * HOUR, 90), (H - 1 * HOUR, 5)]
    items = [
        (i, SourceEvents(type="source_events", workspace_id="w", source_id="web", timestamp=t, count=n))
        for i, (t, n) in enumerate(records)
    ]
    counted = apply(None, "events", items, NOW)
    evaluation: Evaluation = evaluate(config, counted, NOW)
    state, fired = step(None, config, evaluation, NOW)
    assert fired is not None and state.open
    record = render_alert_fired(config, fired)
    assert record.observed == change(95, 100, "-5.00")
    assert record.summary.startswith("Source volume change for source web: 95 events")
    again = render_alert_fired(config, step(None, config, evaluate(config, counted, NOW), NOW)[1])  # type: ignore[arg-type]
    assert again == record


# --- week-over-week baseline ------------------------------------------------------------------

WEEKLY_CASES = [
    (
        alert("source_volume", source_id="web"),
        "firing",
        change(95, 100, "-5.00"),
        "Source volume change for source web: 95 events in the last 24 h vs 100 the same day last week "
        "(\u22125.00 %), threshold ±4 %",
    ),
    (
        alert("activation_volume", "10", audience_id="vip", destination_id="ads"),
        "resolved",
        change(100, 100, "0.00"),
        "Resolved: Audience activation volume change for audience vip to destination ads: 100 events "
        "delivered in the last 24 h vs 100 the same day last week (0.00 %), within ±10 %",
    ),
    (
        alert("audience_size", "5", audience_id="vip"),
        "firing",
        change(4, 3, "33.33"),
        "Audience size change for audience vip: 4 members vs 3 a week earlier (+33.33 %), threshold ±5 %",
    ),
]


@pytest.mark.parametrize(("config", "state", "observed", "expected"), WEEKLY_CASES)
def test_a_week_over_week_event_says_which_baseline_it_compared(
    config: AlertConfig, state: str, observed: ChangeObserved, expected: str
) -> None:
    weekly = config.model_copy(update={"baseline": "same_day_last_week"})
    week_window = Window(start=H - 192 * HOUR, end=H - 168 * HOUR)
    moved = transition(state, observed, str(config.threshold_pct)).model_copy(
        update={"baseline": "same_day_last_week", "baseline_window": week_window}
    )
    fired = render_alert_fired(weekly, moved)
    document: dict[str, Any] = fired.model_dump(mode="json", by_alias=True)
    assert [error.message for error in VALIDATOR.iter_errors(document)] == []
    assert document["summary"] == expected
    assert document["baseline"] == "same_day_last_week"
    assert document["baseline_window"] == {
        "start": "2026-11-20T09:00:00.000Z",
        "end": "2026-11-21T09:00:00.000Z",
    }


def test_every_v2_event_names_its_baseline() -> None:
    fired = render_alert_fired(SOURCE, transition("firing", change(95, 100, "-5.00")))
    document = fired.model_dump(mode="json", by_alias=True)
    assert document["baseline"] == "previous_day"
    assert "baseline" in SCHEMA["required"]
    del document["baseline"]
    assert list(VALIDATOR.iter_errors(document))  # a v2 event without it breaks the schema


def test_a_v1_event_still_in_the_topic_reads_as_a_previous_day_v2_event() -> None:
    document = render_alert_fired(SOURCE, transition("firing", change(95, 100, "-5.00"))).model_dump(
        mode="json", by_alias=True
    )
    v1 = {key: value for key, value in document.items() if key != "baseline"} | {
        "schema": "streamalert.alert-fired/v1"
    }
    read = AlertFired.model_validate_json(orjson.dumps(v1))
    assert (read.schema_, read.baseline) == ("streamalert.alert-fired/v2", "previous_day")
    assert read == AlertFired.model_validate(document)


def test_the_week_over_week_evaluation_reaches_the_event() -> None:
    weekly = SOURCE.model_copy(update={"baseline": "same_day_last_week"})
    records = [(H - 180 * HOUR, 100), (H - 36 * HOUR, 40), (H - 12 * HOUR, 100)]
    items = [
        (i, SourceEvents(type="source_events", workspace_id="w", source_id="web", timestamp=t, count=n))
        for i, (t, n) in enumerate(records)
    ]
    counted = apply(None, "events", items, NOW)
    assert step(None, weekly, evaluate(weekly, counted, NOW), NOW)[1] is None  # 0 %: no transition
    _, fired = step(None, SOURCE, evaluate(SOURCE, counted, NOW), NOW)  # +150 % day over day
    assert fired is not None and render_alert_fired(SOURCE, fired).baseline == "previous_day"
    spiked = apply(counted, "events", [(9, items[2][1].model_copy(update={"count": 50}))], NOW)
    _, weekly_fired = step(None, weekly, evaluate(weekly, spiked, NOW), NOW)
    assert weekly_fired is not None
    record = render_alert_fired(weekly, weekly_fired)
    assert (record.baseline, record.observed) == ("same_day_last_week", change(150, 100, "50.00"))
    assert record.baseline_window == Window(start=H - 192 * HOUR, end=H - 168 * HOUR)
    assert "the same day last week" in record.summary
