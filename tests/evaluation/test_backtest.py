"""The backtest decides every hour as `evaluate` and `step` do; its suggested threshold is exact."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from streamalert.counting.buckets import SubjectState, hour_index, retained_since
from streamalert.evaluation.backtest import (
    STEP,
    backtest,
    incidents,
    preview_hours,
    suggested_threshold,
)
from streamalert.evaluation.decide import change_observed, evaluate, rate_observed
from streamalert.evaluation.state import AlertState, step
from streamalert.records.outputs import ChangeObserved, RateObserved
from tests.evaluation.test_decide import alert

H = datetime(2026, 11, 28, 9, tzinfo=UTC)
NOW = H + timedelta(minutes=42)
HOUR = timedelta(hours=1)
DAYS = 15


def events_state(per_hour: dict[int, int], default: int = 10) -> SubjectState:
    """Events for the 15 days before H: `default` an hour, `per_hour[k]` in the hour k hours before H."""
    first = H - DAYS * 24 * HOUR
    values = [per_hour.get(DAYS * 24 - i, default) for i in range(DAYS * 24)]
    return SubjectState(counter="events", applied_offset=0, base=hour_index(first), values=values)


def outcomes_state(failed_at: dict[int, int]) -> SubjectState:
    first = H - DAYS * 24 * HOUR
    return SubjectState(
        counter="outcomes",
        applied_offset=0,
        base=hour_index(first),
        values=[100] * (DAYS * 24),
        failed=[failed_at.get(DAYS * 24 - i, 0) for i in range(DAYS * 24)],
    )


KEPT = H - DAYS * 24 * HOUR


def test_the_span_is_every_hour_boundary_of_the_last_days_ending_at_the_current_hour() -> None:
    hours = preview_hours(NOW, 7)
    assert (len(hours), hours[0], hours[-1]) == (168, H - 167 * HOUR, H)
    assert preview_hours(H, 1) == [H - i * HOUR for i in range(23, -1, -1)]


@pytest.mark.parametrize("kind", ["source_volume", "destination_delivery_rate"])
def test_each_hour_is_what_evaluate_and_step_decide_at_that_hour(kind: str) -> None:
    if kind == "source_volume":
        config, state = alert(kind, 9), events_state({30: 34, 100: 34, 101: 60})
    else:
        config, state = alert(kind, 99), outcomes_state({30: 200, 31: 5, 90: 400})
    preview = backtest(config, state, NOW, 7, kept_since=KEPT)
    previous: AlertState | None = None
    transitions = []
    for hour, got in zip(preview_hours(NOW, 7), preview.evaluations, strict=True):
        expected = evaluate(config, state, hour)
        previous, transition = step(previous, config, expected, hour)
        assert (got.at, got.state, got.observed) == (hour, expected.status, expected.observed)
        if transition is not None:
            transitions.append((hour, transition.state, transition.incident, transition.observed))
    assert [(t.at, t.state, t.incident, t.observed) for t in preview.transitions] == transitions
    assert preview.fired == sum(1 for t in transitions if t[1] == "firing") >= 2
    assert (preview.from_, preview.to) == (H - 167 * HOUR, H)


def test_a_spike_fires_while_it_is_in_the_current_window() -> None:
    # 34 instead of 10 in the hour starting 30 h before H: +10 % while it is in the current
    # window, -9.09 % while it is in the baseline window.
    state = events_state({30: 34})
    spike = H - 30 * HOUR
    preview = backtest(alert("source_volume", "9.5"), state, NOW, 7, kept_since=KEPT)
    assert [(t.at, t.state) for t in preview.transitions] == [
        (spike + HOUR, "firing"),
        (spike + 25 * HOUR, "resolved"),
    ]
    by_hour = {e.at: e for e in preview.evaluations}
    assert by_hour[spike + HOUR].observed == ChangeObserved(
        current=264, baseline=240, change_pct=Decimal("10.00")
    )
    assert by_hour[spike].state == by_hour[spike + 25 * HOUR].state == "ok"
    assert preview.fired == 1
    # The same span decided at a threshold equal to the change: never fires (strictly greater).
    assert backtest(alert("source_volume", 10), state, NOW, 7, kept_since=KEPT).fired == 0


def test_hours_reading_before_the_kept_history_are_insufficient_data() -> None:
    state = events_state({})
    kept = H - 60 * HOUR  # windows of an hour before H - 12 h start before this
    preview = backtest(alert("source_volume", 5), state, NOW, 2, kept_since=kept)
    states = {e.at: e.state for e in preview.evaluations}
    assert {at for at, s in states.items() if s == "insufficient_data"} == {
        H - i * HOUR for i in range(13, 48)
    }
    assert all(states[H - i * HOUR] == "ok" for i in range(13))
    # By default the kept history is what counting keeps at `now`.
    default = backtest(alert("source_volume", 5), state, NOW, 1)
    assert retained_since(NOW) == H - 360 * HOUR  # 15 days: a week-old baseline of a week ago
    assert [e.state for e in default.evaluations] == ["ok"] * len(default.evaluations)


def test_a_gauge_reads_its_windows_at_their_ends() -> None:
    # Sizes only at exact hour starts: a sample kept from H - 30 h decides H - 6 h onwards.
    gauge = SubjectState(counter="gauge", applied_offset=0, base=hour_index(H - 30 * HOUR))
    gauge.values, gauge.last_us, gauge.starts = [100] + [-1] * 30, [0] + [-1] * 30, {0: 100}
    preview = backtest(alert("audience_size", 5), gauge, NOW, 1, kept_since=H - 30 * HOUR)
    decided = [e.at for e in preview.evaluations if e.state != "insufficient_data"]
    assert decided == [H - i * HOUR for i in range(6, -1, -1)]


# --- incidents: the state machine's count of firings ---------------------------------------------


@pytest.mark.parametrize(
    ("decisions", "expected"),
    [
        ([], 0),
        ([None, None], 0),
        ([True], 1),
        ([True, True, True], 1),
        ([True, False, True], 2),
        ([True, None, True], 1),  # insufficient data closes no incident
        ([True, None, False, True], 2),
        ([False, None, True, None, None, False], 1),
    ],
)
def test_incidents_count_firings_as_the_state_machine_does(
    decisions: list[bool | None], expected: int
) -> None:
    assert incidents(decisions) == expected


def test_incidents_agree_with_step_on_every_short_sequence() -> None:
    config = alert("destination_delivery_rate", 50)
    outcome = {True: (1, 9), False: (9, 1)}
    for sequence in itertools.product([True, False, None], repeat=6):
        previous: AlertState | None = None
        fired = 0
        for i, decision in enumerate(sequence):
            state = SubjectState(counter="outcomes", applied_offset=0, base=hour_index(H - 24 * HOUR))
            if decision is not None:
                state.values, state.failed = [outcome[decision][0]], [outcome[decision][1]]
            previous, transition = step(previous, config, evaluate(config, state, H), H + i * HOUR)
            fired += transition is not None and transition.state == "firing"
        assert incidents(list(sequence)) == fired, sequence


# --- the suggested threshold ---------------------------------------------------------------------


def change(current: int, baseline: int) -> ChangeObserved:
    return change_observed(current, baseline)


def rate(delivered: int, failed: int) -> RateObserved:
    return rate_observed(delivered, failed)


@pytest.mark.parametrize(
    ("observed", "expected"),
    [
        ([], None),
        ([None, None], None),
        # no hour changes: any threshold stays quiet, the most sensitive valid one is the smallest
        ([change(10, 10), None], STEP),
        # one bump fires once at any threshold below it: still the smallest
        ([change(10, 10), change(11, 10), change(10, 10)], STEP),
        # two bumps of +10 % and +20 %: two firings below 10, one up to 20
        ([change(11, 10), change(10, 10), change(12, 10), change(10, 10)], Decimal(10)),
        # a drop counts by its size; 1/3 is not a multiple of 0.000001: the next one up
        ([change(4, 3), change(3, 3), change(2, 3)], Decimal("33.333334")),
        ([change(2, 3), change(3, 3), change(4, 3), change(3, 3), change(5, 3)], Decimal("33.333334")),
        # always firing at a small threshold (one incident) but split in two above 5: not 0.000001
        ([change(12, 10), change(105, 100), change(12, 10)], Decimal(20)),
        # insufficient data between two firings does not split them
        ([change(12, 10), None, change(12, 10)], STEP),
    ],
)
def test_the_suggested_change_threshold(
    observed: list[ChangeObserved | None], expected: Decimal | None
) -> None:
    assert suggested_threshold(False, observed) == expected


@pytest.mark.parametrize(
    ("observed", "expected"),
    [
        ([None], None),
        # every hour at 100 %: even 100 never fires
        ([rate(10, 0), rate(10, 0)], Decimal(100)),
        # two dips to 95 %: a threshold above 95 fires twice; at 95 exactly it never fires
        ([rate(99, 1), rate(95, 5), rate(99, 1), rate(95, 5), rate(99, 1)], Decimal(95)),
        # 2/3 = 66.666666…%: the largest valid threshold not above it
        ([rate(2, 1), rate(3, 0), rate(2, 1)], Decimal("66.666666")),
        # two hours with nothing delivered: every valid threshold fires twice
        ([rate(0, 5), rate(5, 0), rate(0, 5)], None),
        # one dip: fires once at any threshold
        ([rate(5, 0), rate(1, 4), rate(5, 0)], Decimal(100)),
    ],
)
def test_the_suggested_rate_threshold(observed: list[RateObserved | None], expected: Decimal | None) -> None:
    assert suggested_threshold(True, observed) == expected


def _fired(observed: list[ChangeObserved | None], threshold: Fraction) -> int:
    return incidents(
        [
            None if o is None else abs(Fraction((o.current - o.baseline) * 100, o.baseline)) > threshold
            for o in observed
        ]
    )


@pytest.mark.parametrize("seed", range(40))
def test_the_suggested_change_threshold_is_the_smallest_stable_one(seed: int) -> None:
    """Against a brute force over a grid holding every threshold where a decision can flip."""
    import random

    generator = random.Random(seed)
    observed: list[ChangeObserved | None] = [
        None if generator.random() < 0.1 else change(100 + generator.choice([0, 0, 3, -3, 7, 12, -20]), 100)
        for _ in range(30)
    ]
    suggestion = suggested_threshold(False, observed)
    assert suggestion is not None
    # Changes are whole percents: decisions flip only at whole numbers (and 0.000001 is the
    # smallest valid threshold), so a grid of quarter percents finds the same answer.
    grid = [Fraction(STEP)] + [Fraction(k, 4) for k in range(1, 4 * 25)]
    stable = [t for t in grid if all(_fired(observed, u) <= 1 for u in grid if u >= t)]
    assert Fraction(suggestion) == stable[0]


def test_counting_keeps_exactly_what_retained_since_says() -> None:
    """The preview trusts hours from `retained_since` on: `apply` must prune exactly before it."""
    from streamalert.counting.buckets import apply, window_total
    from streamalert.records import SourceEvents

    kept = retained_since(NOW)

    def record(offset: int, at: datetime) -> tuple[int, SourceEvents]:
        return offset, SourceEvents(
            type="source_events", workspace_id="w", source_id="web", timestamp=at, count=1
        )

    older, oldest_kept = kept - HOUR + timedelta(minutes=59), kept
    state = apply(None, "events", [record(1, older), record(2, oldest_kept)], NOW - timedelta(days=1))
    assert window_total(state, kept - HOUR, kept + HOUR) == 2  # both counted a day earlier
    state = apply(state, "events", [record(3, NOW)], NOW)
    assert window_total(state, kept - HOUR, kept) == 0
    assert window_total(state, kept, kept + HOUR) == 1


def test_a_preview_decides_as_if_unmuted() -> None:
    """A mute changes who is told, not what the alert decides: the backtest ignores it."""
    from streamalert.alerts.editing import AlertCreate
    from streamalert.records.alerts import Creator
    from streamalert.web.preview import preview_config

    request = AlertCreate.model_validate(
        {
            "kind": "source_volume",
            "source_id": "web",
            "threshold_pct": 9,
            "channels": [{"type": "in_app"}],
            "muted_until": (H - 60 * HOUR).isoformat(),
        }
    )
    config = preview_config(request, "w", Creator(user_id="u", name="U"), NOW)
    assert config.muted_until is None
    state = events_state({30: 34, 100: 34, 101: 60})
    muted = alert("source_volume", 9).model_copy(update={"muted_until": H - 60 * HOUR})
    plain = backtest(alert("source_volume", 9), state, NOW, 7, kept_since=KEPT)
    preview = backtest(config, state, NOW, 7, kept_since=KEPT)
    assert (preview.evaluations, preview.transitions, preview.fired) == (
        plain.evaluations,
        plain.transitions,
        plain.fired,
    )
    assert plain.fired >= 2
    # Muted until the middle of the span, the live path adds an expiry notification: a second
    # firing event of an incident, which is not a second firing.
    muted_preview = backtest(muted, state, NOW, 7, kept_since=KEPT)
    firings = [t.incident for t in muted_preview.transitions if t.state == "firing"]
    assert len(firings) > len(set(firings)) and muted_preview.fired == plain.fired
