from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from streamalert.counting.buckets import SubjectState, apply
from streamalert.evaluation.decide import evaluate
from streamalert.evaluation.series import POINTS, hourly_points, series_of
from streamalert.evaluation.state import AlertState, step
from streamalert.records import AudienceSize, DeliveryResult, SourceEvents
from streamalert.records.alerts import AlertConfig

H = datetime(2026, 11, 28, 9, tzinfo=UTC)
NOW = H + timedelta(minutes=42)
HOUR = timedelta(hours=1)
BASELINE_START = H - 48 * HOUR


def events(hours_before: int, count: int) -> SourceEvents:
    return SourceEvents(
        type="source_events",
        workspace_id="w",
        source_id="web",
        timestamp=H - hours_before * HOUR + timedelta(minutes=30),
        count=count,
    )


def outcomes(hours_before: int, delivered: int, failed: int) -> DeliveryResult:
    return DeliveryResult.model_validate(
        {
            "workspace_id": "w",
            "kind": "destination",
            "destination_id": "ads",
            "timestamp": H - hours_before * HOUR + timedelta(minutes=5),
            "delivered": delivered,
            "failed": failed,
        }
    )


def size(at: datetime, value: int) -> AudienceSize:
    return AudienceSize(type="audience_size", workspace_id="w", audience_id="vip", timestamp=at, size=value)


def state_of(counter: str, records: list[object]) -> SubjectState:
    items = [(offset, record) for offset, record in enumerate(records)]
    return apply(None, counter, items, NOW)  # type: ignore[arg-type]


def alert(kind: str, threshold: str = "10", **subject: str) -> AlertConfig:
    return AlertConfig.model_validate(
        {
            "id": "al-1",
            "workspace_id": "w",
            "kind": kind,
            "name": "n",
            "threshold_pct": threshold,
            "channels": [{"type": "in_app"}],
            "created_by": {"user_id": "u", "name": "U"},
            "created_at": H,
            "updated_at": H,
        }
        | subject
    )


OUTCOMES = [outcomes(30, 99, 1), outcomes(30, 1, 0), outcomes(2, 0, 4)]


@pytest.mark.parametrize(
    ("kind", "counter", "records", "values", "failed"),
    [
        # One point per hour from the baseline start: index 0 is 48 hours before H.
        ("source_volume", "events", [events(48, 7), events(25, 3), events(1, 5)], {0: 7, 23: 3, 47: 5}, None),
        ("source_volume", "events", [events(49, 9)], {}, None),  # before the baseline window
        ("source_volume", "events", [events(0, 9)], {}, None),  # the hour in progress: in no window
        ("destination_delivery_rate", "outcomes", OUTCOMES, {18: 100, 46: 0}, {18: 1, 46: 4}),
        ("mapping_delivery_rate", "outcomes", OUTCOMES, {18: 100, 46: 0}, {18: 1, 46: 4}),
        # A volume of delivered outcomes keeps no failures: the chart does not draw them.
        ("activation_volume", "outcomes", OUTCOMES, {18: 100, 46: 0}, None),
    ],
)
def test_hourly_points_of_counters(
    kind: str, counter: str, records: list[object], values: dict[int, int], failed: dict[int, int] | None
) -> None:
    got_values, got_failed = hourly_points(kind, state_of(counter, records), NOW)
    assert got_values == tuple(values.get(i, 0) for i in range(POINTS))
    assert got_failed == (() if failed is None else tuple(failed.get(i, 0) for i in range(POINTS)))


def test_hourly_points_of_a_gauge_are_the_size_at_each_hours_end() -> None:
    records = [size(H - 40 * HOUR + timedelta(minutes=10), 100), size(H - 3 * HOUR, 120)]
    values, failed = hourly_points("audience_size", state_of("gauge", records), NOW)
    assert failed == ()
    assert values[:8] == (None,) * 8  # nothing known before the first sample
    assert values[8] == 100  # the hour [H-40h, H-39h) ends with 100
    assert values[23] == 100  # the baseline an evaluation compares
    assert values[44] == 120  # H-3h exactly: counts for the hour that ends there
    assert values[47] == 120


def test_series_is_what_the_decision_saw() -> None:
    subject = state_of("events", [events(30, 100), events(5, 40)])
    config = alert("source_volume", source_id="web")
    state, _ = step(None, config, evaluate(config, subject, NOW), NOW)
    values, failed = hourly_points(config.kind, subject, NOW)
    state = state.model_copy(update={"series": values, "series_failed": failed})
    body = series_of(config, AlertState.from_bytes(state.to_bytes()))
    assert body.measure == "events" and body.evaluated_at == NOW
    assert [p.hour for p in body.points] == [BASELINE_START + i * HOUR for i in range(POINTS)]
    assert [p.window for p in body.points] == ["baseline"] * 24 + ["current"] * 24
    baseline = sum(p.value or 0 for p in body.points if p.window == "baseline")
    current = sum(p.value or 0 for p in body.points if p.window == "current")
    assert state.observed is not None
    assert (current, baseline) == (state.observed.current, state.observed.baseline) == (40, 100)  # type: ignore[union-attr]
    assert all(p.failed is None and p.success_rate_pct is None for p in body.points)


def test_series_of_a_rate_alert_has_each_hours_success_rate() -> None:
    subject = state_of("outcomes", [outcomes(30, 99, 1), outcomes(2, 0, 4), outcomes(3, 2, 1)])
    config = alert("destination_delivery_rate", "99", destination_id="ads")
    values, failed = hourly_points(config.kind, subject, NOW)
    state = AlertState(
        evaluated_at=NOW,
        baseline_window={"start": BASELINE_START, "end": H - 24 * HOUR},  # type: ignore[arg-type]
        series=values,
        series_failed=failed,
    )
    points = series_of(config, state).points
    rates = {i: p.success_rate_pct for i, p in enumerate(points) if p.success_rate_pct is not None}
    assert rates == {18: Decimal("99.00"), 45: Decimal("66.67"), 46: Decimal("0.00")}
    assert points[10].failed == 0 and points[10].success_rate_pct is None  # no attempt that hour


@pytest.mark.parametrize(
    "state",
    [None, AlertState(), AlertState(series=(1, 2, 3))],
)
def test_no_points_before_an_evaluation_on_data(state: AlertState | None) -> None:
    assert series_of(alert("source_volume", source_id="web"), state).points == []


@pytest.mark.parametrize(
    ("kind", "subject", "measure"),
    [
        ("source_volume", {"source_id": "web"}, "events"),
        ("activation_volume", {"audience_id": "a", "destination_id": "d"}, "events"),
        ("destination_delivery_rate", {"destination_id": "d"}, "delivered"),
        ("mapping_delivery_rate", {"mapping_id": "m"}, "delivered"),
        ("audience_size", {"audience_id": "a"}, "size"),
    ],
)
def test_the_series_measures_what_the_kind_counts(kind: str, subject: dict[str, str], measure: str) -> None:
    assert series_of(alert(kind, **subject), None).measure == measure


def test_a_week_over_week_series_is_the_week_old_day_then_the_current_one() -> None:
    subject = state_of("events", [events(180, 70), events(30, 999), events(5, 40)])
    config = alert("source_volume", source_id="web").model_copy(update={"baseline": "same_day_last_week"})
    state, _ = step(None, config, evaluate(config, subject, NOW), NOW)
    values, failed = hourly_points(config.kind, subject, NOW, config.baseline)
    assert len(values) == POINTS and failed == ()
    state = state.model_copy(update={"series": values, "series_failed": failed})
    body = series_of(config, AlertState.from_bytes(state.to_bytes()))
    week_start = H - 192 * HOUR
    assert [p.hour for p in body.points] == [week_start + i * HOUR for i in range(24)] + [
        H - 24 * HOUR + i * HOUR for i in range(24)
    ]
    baseline = {p.hour: p.value for p in body.points if p.window == "baseline" and p.value}
    current = {p.hour: p.value for p in body.points if p.window == "current" and p.value}
    assert baseline == {H - 180 * HOUR: 70}  # the day before (999 events) is not charted
    assert current == {H - 5 * HOUR: 40}
    assert state.observed is not None and (state.observed.current, state.observed.baseline) == (40, 70)  # type: ignore[union-attr]
