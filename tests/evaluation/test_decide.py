from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from streamalert.counting.buckets import InputRecord, SubjectState, apply, record_counter
from streamalert.evaluation.decide import Evaluation, change_fires, evaluate, percent, rate_fires
from streamalert.records import AlertConfig, AudienceSize, DeliveryResult, SourceEvents
from streamalert.records.outputs import ChangeObserved, RateObserved, Window

H = datetime(2026, 11, 28, 9, tzinfo=UTC)
NOW = H + timedelta(minutes=42)
HOUR = timedelta(hours=1)
US = timedelta(microseconds=1)
CURRENT = H - 12 * HOUR
"""An instant well inside the current window [H - 24h, H)."""
BASELINE = H - 36 * HOUR
"""An instant well inside the baseline window [H - 48h, H - 24h)."""

SUBJECTS: dict[str, dict[str, str]] = {
    "source_volume": {"source_id": "web"},
    "destination_delivery_rate": {"destination_id": "warehouse"},
    "mapping_delivery_rate": {"mapping_id": "m1"},
    "activation_volume": {"audience_id": "aud", "destination_id": "warehouse"},
    "audience_size": {"audience_id": "aud"},
}


def alert(kind: str, threshold: str | int) -> AlertConfig:
    return AlertConfig.model_validate(
        {
            "id": "a1",
            "workspace_id": "w",
            "kind": kind,
            "name": "n",
            "threshold_pct": Decimal(str(threshold)),
            "channels": [{"type": "in_app"}],
            "created_by": {"user_id": "u", "name": "U"},
            "created_at": "2026-11-01T00:00:00Z",
            "updated_at": "2026-11-01T00:00:00Z",
        }
        | SUBJECTS[kind]
    )


def events(*counts: tuple[datetime, int]) -> list[InputRecord]:
    return [
        SourceEvents(type="source_events", workspace_id="w", source_id="web", timestamp=t, count=n)
        for t, n in counts
    ]


def outcomes(*results: tuple[datetime, int, int], **fields: Any) -> list[InputRecord]:
    base: dict[str, Any] = {"workspace_id": "w", "kind": "destination", "destination_id": "warehouse"}
    return [
        DeliveryResult.model_validate(base | fields | {"timestamp": t, "delivered": d, "failed": f})
        for t, d, f in results
        if d or f
    ]


def sizes(*samples: tuple[datetime, int]) -> list[InputRecord]:
    return [
        AudienceSize(type="audience_size", workspace_id="w", audience_id="aud", timestamp=t, size=n)
        for t, n in samples
    ]


def state_of(records: list[InputRecord], now: datetime = NOW) -> SubjectState | None:
    if not records:
        return None
    return apply(None, record_counter(records[0]), list(enumerate(records)), now)


def volume(current: int, baseline: int) -> list[InputRecord]:
    return events(*((t, n) for t, n in ((CURRENT, current), (BASELINE, baseline)) if n))


def check(evaluation: Evaluation, status: str, observed: ChangeObserved | RateObserved | None) -> None:
    assert (evaluation.status, evaluation.observed) == (status, observed)
    assert evaluation.window == Window(start=H - 24 * HOUR, end=H)
    lag = 168 * HOUR if evaluation.baseline == "same_day_last_week" else 24 * HOUR
    assert evaluation.baseline_window == Window(start=H - lag - 24 * HOUR, end=H - lag)


def change(current: int, baseline: int, pct: str) -> ChangeObserved:
    return ChangeObserved(current=current, baseline=baseline, change_pct=Decimal(pct))


def rate(delivered: int, failed: int, pct: str) -> RateObserved:
    return RateObserved(delivered=delivered, failed=failed, success_rate_pct=Decimal(pct))


# --- change kinds -----------------------------------------------------------------------------

T12 = 10**12


@pytest.mark.parametrize(
    ("threshold", "current", "baseline", "status", "pct"),
    [
        # Threshold 4 with baseline 100 fires below 96 and above 104.
        ("4", 95, 100, "firing", "-5.00"),
        ("4", 96, 100, "ok", "-4.00"),
        ("4", 100, 100, "ok", "0.00"),
        ("4", 104, 100, "ok", "4.00"),
        ("4", 105, 100, "firing", "5.00"),
        ("4", 0, 100, "firing", "-100.00"),
        ("4", 1, 1, "ok", "0.00"),
        ("4", 2, 1, "firing", "100.00"),
        # Decimal thresholds: exactly at the threshold never fires.
        ("4.5", 191, 200, "ok", "-4.50"),
        ("4.5", 190, 200, "firing", "-5.00"),
        ("4.5", 209, 200, "ok", "4.50"),
        ("4.5", 210, 200, "firing", "5.00"),
        ("12.5", 9, 8, "ok", "12.50"),
        ("12.5", 7, 8, "ok", "-12.50"),
        ("12.499999", 9, 8, "firing", "12.50"),
        ("0.1", 1001, 1000, "ok", "0.10"),  # 0.1 has no exact binary float
        ("0.1", 999, 1000, "ok", "-0.10"),
        ("0.099999", 1001, 1000, "firing", "0.10"),
        ("33.333333", 4, 3, "firing", "33.33"),  # 33.333...% > 33.333333
        ("33.333334", 4, 3, "ok", "33.33"),
        ("33.333333", 2, 3, "firing", "-33.33"),
        ("66.666667", 1, 3, "ok", "-66.67"),
        ("0.000001", T12 + 10**4, T12, "ok", "0.00"),  # exactly 0.000001 %
        ("0.000001", T12 + 10**4 + 1, T12, "firing", "0.00"),
        ("0.000001", T12 - 10**4, T12, "ok", "0.00"),
        # Large counts.
        ("4", 104 * 10**10, T12, "ok", "4.00"),
        ("4", 104 * 10**10 + 1, T12, "firing", "4.00"),
        ("4", 96 * 10**10, T12, "ok", "-4.00"),
        ("4", 96 * 10**10 - 1, T12, "firing", "-4.00"),
        ("99.999999", 1, T12, "firing", "-100.00"),
        ("4", 10**15, 1, "firing", "99999999999999900.00"),
        # Thresholds above 100 % (change kinds allow them): a drop to 0 is only -100 %.
        ("150", 250, 100, "ok", "150.00"),
        ("150", 251, 100, "firing", "151.00"),
        ("150", 0, 100, "ok", "-100.00"),
        ("100", 0, 100, "ok", "-100.00"),
        ("99.999999", 0, 100, "firing", "-100.00"),
        # Reported percentages round half-even to 2 places; decisions never use them.
        ("4", 4001, 4000, "ok", "0.02"),  # 0.025
        ("4", 4003, 4000, "ok", "0.08"),  # 0.075
        ("4", 3999, 4000, "ok", "-0.02"),  # -0.025
        ("40", 2, 3, "ok", "-33.33"),
        ("4", 5, 3, "firing", "66.67"),
    ],
)
def test_source_volume(threshold: str, current: int, baseline: int, status: str, pct: str) -> None:
    evaluation = evaluate(alert("source_volume", threshold), state_of(volume(current, baseline)), NOW)
    check(evaluation, status, change(current, baseline, pct))


@pytest.mark.parametrize(
    ("current", "baseline"),
    [(5, 0), (0, 0), (10**12, 0)],
)
def test_an_empty_baseline_is_insufficient_data(current: int, baseline: int) -> None:
    evaluation = evaluate(alert("source_volume", "4"), state_of(volume(current, baseline)), NOW)
    check(evaluation, "insufficient_data", None)


def test_no_state_at_all_is_insufficient_data() -> None:
    for kind in SUBJECTS:
        check(evaluate(alert(kind, "4"), None, NOW), "insufficient_data", None)


@pytest.mark.parametrize(
    ("records", "status", "observed"),
    [
        # Counts spread over many hours, one event per record or pre-aggregated.
        (
            events(
                *((H - (h + 1) * HOUR, 4) for h in range(24)), *((H - (h + 25) * HOUR, 4) for h in range(24))
            ),
            "ok",
            change(96, 96, "0.00"),
        ),
        (
            events(*((H - (h + 1) * HOUR + 7 * US, 1) for h in range(24) for _ in range(4)), (BASELINE, 100)),
            "ok",
            change(96, 100, "-4.00"),
        ),
        (
            events(*((H - (h + 1) * HOUR + 7 * US, 1) for h in range(19) for _ in range(5)), (BASELINE, 100)),
            "firing",
            change(95, 100, "-5.00"),
        ),
        (
            events((CURRENT, 60), (CURRENT - HOUR, 40), *((BASELINE, 1),) * 100),
            "ok",
            change(100, 100, "0.00"),
        ),
        # An event at exactly H belongs to the next window, not the current one.
        (events((H, 1000), (CURRENT, 100), (BASELINE, 100)), "ok", change(100, 100, "0.00")),
        (events((H - US, 5), (CURRENT, 100), (BASELINE, 100)), "firing", change(105, 100, "5.00")),
        # An event at exactly H - 24h is current, not baseline.
        (events((H - 24 * HOUR, 5), (CURRENT, 100), (BASELINE, 100)), "firing", change(105, 100, "5.00")),
        (
            events((H - 24 * HOUR - US, 5), (CURRENT, 100), (BASELINE, 100)),
            "firing",
            change(100, 105, "-4.76"),
        ),
        # An event at exactly H - 48h is baseline; anything earlier is outside both windows.
        (events((H - 48 * HOUR, 5), (CURRENT, 100), (BASELINE, 100)), "firing", change(100, 105, "-4.76")),
        (events((H - 48 * HOUR - US, 5), (CURRENT, 100), (BASELINE, 100)), "ok", change(100, 100, "0.00")),
        (events((H + 4 * 60 * US, 5), (CURRENT, 100), (BASELINE, 100)), "ok", change(100, 100, "0.00")),
    ],
)
def test_source_volume_windows(records: list[InputRecord], status: str, observed: ChangeObserved) -> None:
    check(evaluate(alert("source_volume", "4"), state_of(records), NOW), status, observed)


@pytest.mark.parametrize("minutes", [0, 1, 42, 59])
def test_any_instant_in_the_hour_evaluates_the_same_windows(minutes: int) -> None:
    state = state_of(events((H - US, 5), (CURRENT, 100), (BASELINE, 100)))
    evaluation = evaluate(alert("source_volume", "4"), state, H + timedelta(minutes=minutes, seconds=minutes))
    check(evaluation, "firing", change(105, 100, "5.00"))


def test_a_later_evaluation_ignores_buckets_that_left_the_windows() -> None:
    state = state_of(events((H - 30 * HOUR, 100), (H - 6 * HOUR, 100), (H - HOUR, 50)))
    assert evaluate(alert("source_volume", "4"), state, NOW).observed == change(150, 100, "50.00")
    day_later = evaluate(alert("source_volume", "4"), state, NOW + 24 * HOUR)
    assert (day_later.status, day_later.observed) == ("firing", change(0, 150, "-100.00"))
    assert evaluate(alert("source_volume", "4"), state, NOW + 48 * HOUR).status == "insufficient_data"


@pytest.mark.parametrize(
    ("results", "status", "observed"),
    [
        ([(CURRENT, 95, 1000), (BASELINE, 100, 0)], "firing", change(95, 100, "-5.00")),
        ([(CURRENT, 96, 1000), (BASELINE, 100, 7)], "ok", change(96, 100, "-4.00")),
        ([(CURRENT, 96, 0), (BASELINE, 0, 100)], "insufficient_data", None),
        ([(CURRENT, 0, 5), (BASELINE, 100, 0)], "firing", change(0, 100, "-100.00")),
    ],
)
def test_activation_volume_counts_delivered_events(
    results: list[tuple[datetime, int, int]], status: str, observed: ChangeObserved | None
) -> None:
    state = state_of(outcomes(*results, kind="activation", audience_id="aud"))
    check(evaluate(alert("activation_volume", "4"), state, NOW), status, observed)


X = H - 24 * HOUR


@pytest.mark.parametrize(
    ("samples", "status", "observed"),
    [
        ([(X, 100), (H, 95)], "firing", change(95, 100, "-5.00")),
        ([(X, 100), (H, 96)], "ok", change(96, 100, "-4.00")),
        ([(X, 100), (H - HOUR, 105)], "firing", change(105, 100, "5.00")),
        ([(X, 100), (H, 104), (H + US, 200)], "ok", change(104, 100, "4.00")),  # after H: not yet
        ([(X, 100), (X + US, 50)], "firing", change(50, 100, "-50.00")),
        ([(X - 47 * HOUR, 100)], "ok", change(100, 100, "0.00")),  # set 71 h ago and unchanged
        ([(X - 47 * HOUR, 100), (H - 5 * HOUR, 95)], "firing", change(95, 100, "-5.00")),
        ([(X, 100), (X, 90), (H, 95)], "firing", change(95, 90, "5.56")),  # equal times: later offset
        ([(X, 100), (H, 0)], "firing", change(0, 100, "-100.00")),
        ([(X, 0), (H, 95)], "insufficient_data", None),
        ([(X + US, 100), (H, 95)], "insufficient_data", None),  # no size at or before H - 24h
        ([(H + timedelta(minutes=1), 95)], "insufficient_data", None),
    ],
)
def test_audience_size_compares_the_latest_sizes(
    samples: list[tuple[datetime, int]], status: str, observed: ChangeObserved | None
) -> None:
    # Applied a day earlier as well, so that a sample from 71 h ago was once inside the windows.
    state = apply(state_of(sizes(*samples), now=NOW - 24 * HOUR), "gauge", [], NOW)
    check(evaluate(alert("audience_size", "4"), state, NOW), status, observed)


# --- rate kinds -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("threshold", "delivered", "failed", "status", "pct"),
    [
        # Threshold 99 fires at 98.99 % and below; 99.00 % does not fire.
        ("99", 9899, 101, "firing", "98.99"),
        ("99", 99, 1, "ok", "99.00"),
        ("99", 9900, 100, "ok", "99.00"),
        ("99", 98, 2, "firing", "98.00"),
        ("99", 0, 5, "firing", "0.00"),
        ("99", 5, 0, "ok", "100.00"),
        ("99", 98_999_999, 1_000_001, "firing", "99.00"),  # 98.999999 % rounds to 99.00 but fires
        ("100", T12 - 1, 1, "firing", "100.00"),
        ("100", T12, 0, "ok", "100.00"),
        ("99.999999", 99_999_999, 1, "ok", "100.00"),  # exactly 99.999999 %
        ("99.999999", 99_999_998, 2, "firing", "100.00"),
        ("33.333333", 1, 2, "ok", "33.33"),  # 33.333...% is not below 33.333333
        ("33.333334", 1, 2, "firing", "33.33"),
        ("0.000001", 1, T12, "firing", "0.00"),  # 1e-10 %, below
        ("0.000001", 1, 99_999_999, "ok", "0.00"),  # exactly 0.000001 %
        ("0.000001", 0, 1, "firing", "0.00"),
        ("12.5", 1, 7, "ok", "12.50"),
        ("12.5", 1, 799, "firing", "0.12"),  # 0.125 rounds half-even
        ("12.5", 3, 797, "firing", "0.38"),  # 0.375
    ],
)
@pytest.mark.parametrize("kind", ["destination_delivery_rate", "mapping_delivery_rate"])
def test_delivery_rate(kind: str, threshold: str, delivered: int, failed: int, status: str, pct: str) -> None:
    fields: dict[str, str] = (
        {"kind": "mapping", "mapping_id": "m1"} if kind == "mapping_delivery_rate" else {}
    )
    state = state_of(outcomes((CURRENT, delivered, failed), (BASELINE, 0, 10**6), **fields))
    check(evaluate(alert(kind, threshold), state, NOW), status, rate(delivered, failed, pct))


@pytest.mark.parametrize(
    ("results", "status", "observed"),
    [
        ([], "insufficient_data", None),
        ([(BASELINE, 100, 100)], "insufficient_data", None),  # attempts only in the baseline window
        ([(H, 0, 100), (H - US, 99, 1)], "ok", rate(99, 1, "99.00")),
        ([(H - 24 * HOUR, 0, 2), (H - US, 98, 0)], "firing", rate(98, 2, "98.00")),
        ([(H - 24 * HOUR - US, 0, 2), (H - US, 98, 0)], "ok", rate(98, 0, "100.00")),
        ([*((H - (h + 1) * HOUR, 412, 4) for h in range(24))], "ok", rate(9888, 96, "99.04")),
        ([*((H - (h + 1) * HOUR, 412, 5) for h in range(24))], "firing", rate(9888, 120, "98.80")),
    ],
)
def test_delivery_rate_windows(
    results: list[tuple[datetime, int, int]], status: str, observed: RateObserved | None
) -> None:
    state = state_of(outcomes(*results))
    check(evaluate(alert("destination_delivery_rate", "99"), state, NOW), status, observed)


# --- the exact primitives ---------------------------------------------------------------------


def test_primitives_refuse_undefined_inputs() -> None:
    with pytest.raises(ValueError):
        change_fires(1, 0, Decimal(4))
    with pytest.raises(ValueError):
        rate_fires(0, 0, Decimal(99))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Fraction(25, 2), "12.50"),
        (Fraction(100, 3), "33.33"),
        (Fraction(200, 3), "66.67"),
        (Fraction(-200, 3), "-66.67"),
        (Fraction(1, 40), "0.02"),  # 0.025
        (Fraction(3, 40), "0.08"),  # 0.075
        (Fraction(-1, 40), "-0.02"),
        (Fraction(1, 200), "0.00"),  # 0.005
        (Fraction(3, 200), "0.02"),  # 0.015
        (Fraction(0), "0.00"),
        (Fraction(10**30), "1" + "0" * 30 + ".00"),
    ],
)
def test_percent_rounds_half_even_exactly(value: Fraction, expected: str) -> None:
    result = percent(value)
    assert str(result) == expected


def test_a_state_of_the_wrong_counter_is_refused() -> None:
    with pytest.raises(ValueError):
        evaluate(alert("audience_size", "4"), state_of(volume(1, 1)), NOW)
    with pytest.raises(ValueError):
        evaluate(alert("destination_delivery_rate", "4"), state_of(volume(1, 1)), NOW)


# --- week-over-week baseline ------------------------------------------------------------------


def week_alert(kind: str, threshold: str | int) -> AlertConfig:
    return alert(kind, threshold).model_copy(update={"baseline": "same_day_last_week"})


WEEK = 168 * HOUR
LAST_WEEK = BASELINE - WEEK + 24 * HOUR
"""An instant well inside the week-over-week baseline [H - 192h, H - 168h)."""


@pytest.mark.parametrize(
    ("records", "status", "observed"),
    [
        # The day before (a quiet Sunday) is ignored: the same day last week is the baseline.
        (events((CURRENT, 100), (BASELINE, 40), (LAST_WEEK, 100)), "ok", change(100, 100, "0.00")),
        (events((CURRENT, 105), (BASELINE, 40), (LAST_WEEK, 100)), "firing", change(105, 100, "5.00")),
        (events((CURRENT, 104), (LAST_WEEK, 100)), "ok", change(104, 100, "4.00")),  # exactly: no fire
        # Nothing a week back: insufficient data, whatever the day before holds.
        (events((CURRENT, 100), (BASELINE, 100)), "insufficient_data", None),
        # The edges: H - 168h is outside (after the baseline), H - 192h inside.
        (events((H - WEEK, 5), (CURRENT, 100), (LAST_WEEK, 100)), "ok", change(100, 100, "0.00")),
        (events((H - WEEK - US, 5), (CURRENT, 100), (LAST_WEEK, 100)), "firing", change(100, 105, "-4.76")),
        (
            events((H - WEEK - 24 * HOUR, 5), (CURRENT, 100), (LAST_WEEK, 100)),
            "firing",
            change(100, 105, "-4.76"),
        ),
        (
            events((H - WEEK - 24 * HOUR - US, 5), (CURRENT, 100), (LAST_WEEK, 100)),
            "ok",
            change(100, 100, "0.00"),
        ),
        # The six days in between count for neither window.
        (events((CURRENT, 100), (H - 100 * HOUR, 1000), (LAST_WEEK, 100)), "ok", change(100, 100, "0.00")),
    ],
)
def test_source_volume_against_the_same_day_last_week(
    records: list[InputRecord], status: str, observed: ChangeObserved | None
) -> None:
    evaluation = evaluate(week_alert("source_volume", "4"), state_of(records), NOW)
    check(evaluation, status, observed)
    assert evaluation.baseline == "same_day_last_week"
    assert evaluation.baseline_window == Window(start=H - 192 * HOUR, end=H - 168 * HOUR)
    assert evaluation.window == Window(start=H - 24 * HOUR, end=H)


def test_the_same_records_fire_day_over_day_and_not_week_over_week() -> None:
    """A Monday after a quiet weekend: +150 % against Sunday, 0 % against last Monday."""
    state = state_of(events((CURRENT, 100), (BASELINE, 40), (LAST_WEEK, 100)))
    check(evaluate(alert("source_volume", "50"), state, NOW), "firing", change(100, 40, "150.00"))
    check(evaluate(week_alert("source_volume", "50"), state, NOW), "ok", change(100, 100, "0.00"))


def test_activation_volume_against_the_same_day_last_week() -> None:
    state = state_of(
        outcomes(
            (CURRENT, 95, 3), (BASELINE, 10, 0), (LAST_WEEK, 100, 50), kind="activation", audience_id="aud"
        )
    )
    check(evaluate(week_alert("activation_volume", "4"), state, NOW), "firing", change(95, 100, "-5.00"))
    check(evaluate(alert("activation_volume", "4"), state, NOW), "firing", change(95, 10, "850.00"))


W = H - WEEK


@pytest.mark.parametrize(
    ("samples", "status", "observed"),
    [
        ([(W, 100), (X, 50), (H, 95)], "firing", change(95, 100, "-5.00")),
        ([(W, 100), (X, 50), (H, 104)], "ok", change(104, 100, "4.00")),
        (
            [(W, 100), (W + US, 200), (H, 100)],
            "ok",
            change(100, 100, "0.00"),
        ),  # after H - 168h: not the baseline
        ([(W - 100 * HOUR, 100), (H, 100)], "ok", change(100, 100, "0.00")),  # set long before, unchanged
        ([(W + US, 100), (H, 95)], "insufficient_data", None),  # no size at or before H - 168h
        ([(W, 0), (H, 95)], "insufficient_data", None),
    ],
)
def test_audience_size_against_its_size_a_week_earlier(
    samples: list[tuple[datetime, int]], status: str, observed: ChangeObserved | None
) -> None:
    state = apply(state_of(sizes(*samples), now=NOW - 24 * HOUR), "gauge", [], NOW)
    evaluation = evaluate(week_alert("audience_size", "4"), state, NOW)
    check(evaluation, status, observed)
    assert evaluation.baseline_window.end == H - 168 * HOUR


def test_a_week_over_week_baseline_reads_hours_only_the_15_day_state_keeps() -> None:
    """Records up to 15 days old are counted (a 48-hour state dropped everything 8 days old), so
    the same state still answers a week-over-week evaluation a week earlier (a backtest)."""
    oldest = H - 360 * HOUR
    state = state_of(events((oldest - US, 7), (oldest, 100), (oldest + 24 * HOUR, 100), (CURRENT, 100)))
    assert state is not None and state.values[0] == 100 and sum(state.values) == 300
    week_before = NOW - WEEK
    check_at = evaluate(week_alert("source_volume", "4"), state, week_before)
    assert check_at.baseline_window == Window(start=oldest, end=oldest + 24 * HOUR)
    assert (check_at.status, check_at.observed) == ("firing", change(0, 100, "-100.00"))
