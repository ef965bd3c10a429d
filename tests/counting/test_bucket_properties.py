"""Bucket arithmetic with extreme values (property-based): exact below the limit, saturating at it,
the same whatever the batching, replays skipped, and always storable."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from streamalert.counting.buckets import (
    BUCKET_LIMIT,
    Item,
    SubjectState,
    apply,
    window_outcomes,
    window_total,
)
from streamalert.counting.windows import windows_at
from streamalert.records import DeliveryResult, SourceEvents
from streamalert.records.common import MAX_SAFE_INTEGER

H = datetime(2026, 11, 28, 9, tzinfo=UTC)
NOW = H + timedelta(minutes=42)
HOUR = timedelta(hours=1)

counts = st.one_of(
    st.integers(min_value=1, max_value=1000),
    st.integers(min_value=MAX_SAFE_INTEGER - 1000, max_value=MAX_SAFE_INTEGER),
    st.integers(min_value=1, max_value=MAX_SAFE_INTEGER),
)
hours_before = st.integers(min_value=1, max_value=48)
batches = st.lists(st.tuples(hours_before, counts), min_size=1, max_size=60)


def source_items(pairs: list[tuple[int, int]]) -> list[Item]:
    return [
        (
            offset,
            SourceEvents(
                type="source_events",
                workspace_id="w",
                source_id="s",
                timestamp=H - hours * HOUR + timedelta(minutes=7),
                count=count,
            ),
        )
        for offset, (hours, count) in enumerate(pairs)
    ]


def expected_total(pairs: list[tuple[int, int]], first: int, last: int) -> int:
    """Sum over hours `first`..`last` before H of each hour's sum, saturated at the limit."""
    per_hour: dict[int, int] = defaultdict(int)
    for hours, count in pairs:
        per_hour[hours] += count
    return sum(min(total, BUCKET_LIMIT) for hours, total in per_hour.items() if first <= hours <= last)


@settings(max_examples=300)
@given(pairs=batches, cut=st.integers(min_value=0, max_value=60))
def test_events_sum_exactly_and_saturate_per_hour_whatever_the_batches(
    pairs: list[tuple[int, int]], cut: int
) -> None:
    items = source_items(pairs)
    whole = apply(None, "events", items, NOW)
    split = apply(apply(None, "events", items[:cut], NOW), "events", items[cut:], NOW)
    replayed = apply(whole, "events", items, NOW)  # a replay after a crash changes nothing
    windows = windows_at(NOW)
    for state in (whole, split, replayed):
        assert window_total(state, windows.current_start, windows.current_end) == expected_total(pairs, 1, 24)
        assert window_total(state, windows.baseline_start, windows.baseline_end) == expected_total(
            pairs, 25, 48
        )
        stored = state.to_bytes()  # never "Integer exceeds 64-bit range"
        assert SubjectState.from_bytes(stored) == state
        assert len(stored) < 2048
        assert all(value <= MAX_SAFE_INTEGER for value in SubjectState.from_bytes(stored).values)
        assert SubjectState.from_bytes(state.to_json_bytes()) == state  # the JSON form still reads


@settings(max_examples=200)
@given(
    outcomes=st.lists(
        st.tuples(hours_before, st.integers(min_value=0, max_value=MAX_SAFE_INTEGER), counts),
        min_size=1,
        max_size=40,
    )
)
def test_outcomes_saturate_and_stay_storable(outcomes: list[tuple[int, int, int]]) -> None:
    items: list[Item] = [
        (
            offset,
            DeliveryResult(
                workspace_id="w",
                kind="destination",
                destination_id="d",
                timestamp=H - hours * HOUR,
                delivered=delivered,
                failed=failed,
            ),
        )
        for offset, (hours, delivered, failed) in enumerate(outcomes)
    ]
    state = apply(None, "outcomes", items, NOW)
    windows = windows_at(NOW)
    delivered, failed = window_outcomes(state, windows.current_start, windows.current_end)
    assert delivered == expected_total([(h, d) for h, d, _ in outcomes if d], 1, 24)
    assert failed == expected_total([(h, f) for h, _, f in outcomes], 1, 24)
    assert delivered + failed < 2**63  # the window's sums fit a JSON integer of alert-fired
    assert SubjectState.from_bytes(state.to_bytes()) == state
