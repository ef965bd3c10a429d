import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from streamalert.counting.buckets import (
    BUCKET_LIMIT,
    NONE,
    InputRecord,
    Item,
    SubjectState,
    alert_subject_key,
    apply,
    gauge_at,
    group_by_key,
    hour_index,
    hourly_series,
    key_counter,
    record_counter,
    subject_keys,
    window_outcomes,
    window_total,
)
from streamalert.kinds import KINDS, Counter
from streamalert.records import AlertConfig, AudienceSize, DeliveryResult, SourceEvents

H = datetime(2026, 11, 28, 9, tzinfo=UTC)
NOW = H + timedelta(minutes=42)
HOUR = timedelta(hours=1)
US = timedelta(microseconds=1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def events(timestamp: datetime, count: int = 1, ws: str = "w", source: str = "web") -> SourceEvents:
    return SourceEvents(
        type="source_events", workspace_id=ws, source_id=source, timestamp=timestamp, count=count
    )


def size(timestamp: datetime, value: int, destination: str | None = None, ws: str = "w") -> AudienceSize:
    return AudienceSize(
        type="audience_size",
        workspace_id=ws,
        audience_id="aud",
        destination_id=destination,
        timestamp=timestamp,
        size=value,
    )


def result(timestamp: datetime, delivered: int, failed: int, **fields: Any) -> DeliveryResult:
    data: dict[str, Any] = {"workspace_id": "w", "kind": "destination", "destination_id": "wh"}
    return DeliveryResult.model_validate(
        data | fields | {"timestamp": timestamp, "delivered": delivered, "failed": failed}
    )


def alert(kind: str, **subject: str) -> AlertConfig:
    return AlertConfig.model_validate(
        {
            "id": "a1",
            "workspace_id": "w",
            "kind": kind,
            "name": "n",
            "threshold_pct": 4,
            "channels": [{"type": "in_app"}],
            "created_by": {"user_id": "u", "name": "U"},
            "created_at": "2026-11-01T00:00:00Z",
            "updated_at": "2026-11-01T00:00:00Z",
        }
        | subject
    )


def numbered(*records: InputRecord, start: int = 0) -> list[Item]:
    return [(start + i, record) for i, record in enumerate(records)]


# --- keys -------------------------------------------------------------------------------------

T = H - HOUR


@pytest.mark.parametrize(
    ("record", "keys"),
    [
        (events(T), ["src|w|web"]),
        (events(T, ws="other"), ["src|other|web"]),
        (size(T, 5), ["aud|w|aud"]),
        (size(T, 5, destination="wh"), ["aud|w|aud|wh"]),
        (result(T, 1, 0), ["dst|w|wh"]),
        (result(T, 1, 0, source_id="web"), ["dst|w|wh", "dst|w|wh|web"]),
        (result(T, 1, 0, kind="mapping", mapping_id="m1", source_id="web"), ["map|w|m1"]),
        (result(T, 1, 0, kind="activation", audience_id="aud"), ["act|w|aud|wh"]),
    ],
)
def test_subject_keys(record: InputRecord, keys: list[str]) -> None:
    assert subject_keys(record) == keys
    assert {key_counter(key) for key in keys} == {record_counter(record)}


@pytest.mark.parametrize(
    ("kind", "subject", "record"),
    [
        ("source_volume", {"source_id": "web"}, events(T)),
        ("destination_delivery_rate", {"destination_id": "wh"}, result(T, 1, 0)),
        ("destination_delivery_rate", {"destination_id": "wh"}, result(T, 1, 0, source_id="web")),
        (
            "destination_delivery_rate",
            {"destination_id": "wh", "source_id": "web"},
            result(T, 1, 0, source_id="web"),
        ),
        ("mapping_delivery_rate", {"mapping_id": "m1"}, result(T, 1, 0, kind="mapping", mapping_id="m1")),
        (
            "mapping_delivery_rate",
            {"mapping_id": "m1", "source_id": "web", "destination_id": "wh"},
            result(T, 1, 0, kind="mapping", mapping_id="m1"),
        ),
        (
            "activation_volume",
            {"audience_id": "aud", "destination_id": "wh"},
            result(T, 1, 0, kind="activation", audience_id="aud"),
        ),
        ("audience_size", {"audience_id": "aud"}, size(T, 5)),
        ("audience_size", {"audience_id": "aud", "destination_id": "wh"}, size(T, 5, destination="wh")),
    ],
)
def test_an_alert_reads_the_key_its_records_feed(
    kind: str, subject: dict[str, str], record: InputRecord
) -> None:
    watched = alert(kind, **subject)
    assert alert_subject_key(watched) in subject_keys(record)
    assert KINDS[kind].record_key(watched) == record.subject_key
    expected: dict[str, Counter] = {
        "source_volume": "events",
        "audience_size": "gauge",
    }
    assert key_counter(alert_subject_key(watched)) == expected.get(kind, "outcomes")


@pytest.mark.parametrize(
    ("kind", "subject", "record"),
    [
        ("source_volume", {"source_id": "web"}, events(T, ws="other")),
        ("source_volume", {"source_id": "web"}, events(T, source="app")),
        ("destination_delivery_rate", {"destination_id": "wh", "source_id": "web"}, result(T, 1, 0)),
        (
            "destination_delivery_rate",
            {"destination_id": "wh", "source_id": "web"},
            result(T, 1, 0, source_id="app"),
        ),
        (
            "destination_delivery_rate",
            {"destination_id": "wh"},
            result(T, 1, 0, kind="mapping", mapping_id="m1"),
        ),
        (
            "destination_delivery_rate",
            {"destination_id": "wh"},
            result(T, 1, 0, kind="activation", audience_id="aud"),
        ),
        ("activation_volume", {"audience_id": "aud", "destination_id": "wh"}, result(T, 1, 0)),
        ("audience_size", {"audience_id": "aud"}, size(T, 5, destination="wh")),
        ("audience_size", {"audience_id": "aud", "destination_id": "wh"}, size(T, 5)),
        ("audience_size", {"audience_id": "aud", "destination_id": "wh"}, size(T, 5, destination="other")),
    ],
)
def test_an_alert_does_not_read_other_subjects(
    kind: str, subject: dict[str, str], record: InputRecord
) -> None:
    assert alert_subject_key(alert(kind, **subject)) not in subject_keys(record)


def test_group_by_key_keeps_input_order_and_fans_out() -> None:
    first, second = result(T, 1, 0, source_id="web"), result(T, 2, 0)
    groups = group_by_key([(7, first), (8, second)])
    assert groups == {"dst|w|wh": [(7, first), (8, second)], "dst|w|wh|web": [(7, first)]}


# --- counting ---------------------------------------------------------------------------------


def test_counts_go_to_the_hour_of_their_event_time() -> None:
    state = apply(
        None,
        "events",
        numbered(
            events(H - HOUR),
            events(H - HOUR + timedelta(minutes=59, seconds=59, microseconds=999999), count=4),
            events(H, count=10),
            events(H - 2 * HOUR, count=1000),
            events(at("2026-11-28T09:30:00+01:00"), count=3),  # 08:30 UTC
        ),
        NOW,
    )
    assert window_total(state, H - HOUR, H) == 1 + 4 + 3
    assert window_total(state, H, H + HOUR) == 10
    assert window_total(state, H - 2 * HOUR, H - HOUR) == 1000
    assert window_total(state, H - 48 * HOUR, H + HOUR) == 1018
    assert window_total(state, H - 48 * HOUR, H - 2 * HOUR) == 0
    assert state.applied_offset == 4


def test_outcomes_sum_delivered_and_failed_separately() -> None:
    state = apply(
        None,
        "outcomes",
        numbered(result(H - HOUR, 9899, 0), result(H - 3 * HOUR, 0, 101), result(H - 30 * HOUR, 5, 5)),
        NOW,
    )
    assert window_outcomes(state, H - 24 * HOUR, H) == (9899, 101)
    assert window_outcomes(state, H - 48 * HOUR, H - 24 * HOUR) == (5, 5)
    assert window_total(state, H - 24 * HOUR, H) == 9899


@pytest.mark.parametrize(
    ("batches", "expected_total", "expected_offset"),
    [
        ([[(0, 1), (1, 2)]], 3, 1),
        ([[(0, 1), (1, 2)], [(0, 1), (1, 2)]], 3, 1),  # the same batch replayed
        ([[(0, 1), (1, 2)], [(1, 2), (2, 4)]], 7, 2),  # a replay overlapping new records
        ([[(5, 1)], [(3, 100), (4, 100), (6, 2)]], 3, 6),  # lower offsets are already applied
        ([[(2, 4), (0, 1), (1, 2)]], 7, 2),  # a batch out of order is applied in offset order
        ([[]], 0, -1),
    ],
)
def test_replayed_offsets_are_skipped(
    batches: list[list[tuple[int, int]]], expected_total: int, expected_offset: int
) -> None:
    state: SubjectState | None = None
    for batch in batches:
        state = apply(state, "events", [(offset, events(H - HOUR, count)) for offset, count in batch], NOW)
    assert window_total(state, H - HOUR, H) == expected_total
    assert state is not None and state.applied_offset == expected_offset


def test_apply_leaves_its_input_state_unchanged() -> None:
    before = apply(None, "events", numbered(events(H - HOUR)), NOW)
    snapshot = before.to_bytes()
    after = apply(before, "events", numbered(events(H - HOUR), start=1), NOW)
    assert before.to_bytes() == snapshot
    assert window_total(after, H - HOUR, H) == 2


def test_buckets_before_the_retention_start_are_pruned_and_ignored() -> None:
    baseline_start = H - 360 * HOUR  # 15 days: a week-over-week baseline a week back
    state = apply(
        None,
        "events",
        numbered(events(baseline_start - US, 100), events(baseline_start, 1), events(H - HOUR, 2)),
        NOW,
    )
    assert (state.base, len(state.values)) == (hour_index(baseline_start), 360)
    assert window_total(state, baseline_start - HOUR, H) == 3
    assert state.applied_offset == 2
    later = apply(state, "events", [], NOW + 2 * HOUR)
    assert later.base == hour_index(baseline_start + 2 * HOUR)
    assert window_total(later, baseline_start, H) == 2
    much_later = apply(state, "events", [], NOW + 16 * 24 * HOUR)
    assert much_later.values == []
    assert much_later.applied_offset == 2


def test_far_future_records_are_ignored_but_consumed() -> None:
    state = apply(None, "events", numbered(events(NOW + timedelta(days=400))), NOW)
    assert state.values == []
    assert state.applied_offset == 0


def test_a_record_of_the_wrong_counter_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot update"):
        apply(None, "events", numbered(size(H, 1)), NOW)
    with pytest.raises(ValueError, match="counts events"):
        apply(apply(None, "events", [], NOW), "gauge", [], NOW)


def test_one_batch_equals_one_record_at_a_time() -> None:
    rng = random.Random(7)
    records: list[InputRecord] = [
        result(
            H - 48 * HOUR + timedelta(seconds=rng.randrange(49 * 3600)),
            rng.randrange(1, 50),
            rng.randrange(5),
        )
        for _ in range(500)
    ]
    items = numbered(*records)
    batched = apply(None, "outcomes", items, NOW)
    single: SubjectState | None = None
    for item in items:
        single = apply(single, "outcomes", [item], NOW)
    assert single is not None and single.to_bytes() == batched.to_bytes()
    delivered = sum(r.delivered for r in records if isinstance(r, DeliveryResult) and r.timestamp < H)
    assert window_outcomes(batched, H - 48 * HOUR, H)[0] == delivered


@pytest.mark.parametrize(
    ("start", "end"),
    [(H + US, H + HOUR), (H, H + timedelta(minutes=30))],
)
def test_windows_must_be_whole_hours(start: datetime, end: datetime) -> None:
    with pytest.raises(ValueError, match="hour boundary"):
        window_total(apply(None, "events", [], NOW), start, end)


def test_hourly_series_of_counts() -> None:
    state = apply(None, "events", numbered(events(H - 3 * HOUR, 5), events(H - HOUR, 2)), NOW)
    assert hourly_series(state, H - 4 * HOUR, H) == [
        (H - 4 * HOUR, 0),
        (H - 3 * HOUR, 5),
        (H - 2 * HOUR, 0),
        (H - HOUR, 2),
    ]
    assert hourly_series(None, H - HOUR, H) == [(H - HOUR, 0)]


# --- gauges -----------------------------------------------------------------------------------

X = H - 24 * HOUR
"""A query instant: the baseline window's end."""


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        ([], None),
        ([(X, 7)], 7),  # a sample exactly at X counts
        ([(X + US, 7)], None),  # one a microsecond later does not
        ([(X + timedelta(seconds=1), 7)], None),
        ([(X - US, 7)], 7),
        ([(X - HOUR, 5), (X, 7)], 7),
        ([(X - HOUR, 5), (X + US, 7)], 5),
        ([(X - HOUR, 5), (X, 7), (X + timedelta(minutes=5), 9)], 7),  # start sample then later ones
        ([(X, 7), (X, 8)], 8),  # equal timestamps: the later offset wins
        ([(X - 5 * HOUR, 1), (X - 5 * HOUR, 2)], 2),
        ([(X - HOUR, 5), (X - 2 * HOUR, 6)], 5),  # applied later, but older event time
        ([(X - 10 * US, 5), (X - 20 * US, 6)], 5),  # same bucket, older event time
        ([(X - 20 * US, 6), (X - 10 * US, 5)], 5),
        ([(X - 47 * HOUR, 3)], 3),  # set long ago, unchanged
        ([(X, 0)], 0),  # a size of zero is a known size
        ([(X - HOUR, 5), (X - HOUR + timedelta(minutes=30), 0)], 0),
    ],
)
def test_gauge_is_the_latest_sample_at_or_before_the_instant(
    samples: list[tuple[datetime, int]], expected: int | None
) -> None:
    items = numbered(*(size(t, v) for t, v in samples))
    assert gauge_at(apply(None, "gauge", items, NOW), X) == expected
    one_by_one: SubjectState | None = None
    for item in items:
        one_by_one = apply(one_by_one, "gauge", [item], NOW)
    assert gauge_at(one_by_one, X) == expected


def test_gauge_set_days_ago_survives_pruning() -> None:
    three_days_ago = H - 384 * HOUR + timedelta(minutes=13)  # 16 days: before the retention start
    state = apply(None, "gauge", numbered(size(three_days_ago, 1000)), NOW - 24 * HOUR)
    state = apply(state, "gauge", [], NOW)
    assert state.values == []
    assert gauge_at(state, H - 24 * HOUR) == 1000
    assert gauge_at(state, H) == 1000
    state = apply(state, "gauge", numbered(size(H - 2 * HOUR + US, 1200), start=1), NOW)
    assert gauge_at(state, H - 24 * HOUR) == 1000
    assert gauge_at(state, H - 2 * HOUR) == 1000
    assert gauge_at(state, H - HOUR) == 1200


def test_pruning_keeps_the_latest_pruned_sample() -> None:
    start = H - 360 * HOUR  # the retention start
    samples = [
        size(start - 12 * HOUR, 1),
        size(start - 7 * HOUR, 2),
        size(start - 2 * HOUR, 3),
        size(start + 8 * HOUR, 4),
    ]
    state = apply(None, "gauge", numbered(*samples), NOW - 24 * HOUR)
    state = apply(state, "gauge", [], NOW)
    assert state.carry is not None and state.carry[1] == 3
    assert gauge_at(state, start) == 3
    assert gauge_at(state, start + 8 * HOUR) == 4
    late = apply(state, "gauge", numbered(size(start - HOUR, 9), start=10), NOW)
    assert gauge_at(late, start) == 9
    older = apply(state, "gauge", numbered(size(start - 22 * HOUR, 9), start=10), NOW)
    assert gauge_at(older, start) == 3


def test_gauge_series_is_the_size_at_each_hour_end() -> None:
    state = apply(
        None, "gauge", numbered(size(H - 3 * HOUR + US, 5), size(H - HOUR, 8), size(H - HOUR + US, 9)), NOW
    )
    assert hourly_series(state, H - 4 * HOUR, H) == [
        (H - 4 * HOUR, None),
        (H - 3 * HOUR, 5),
        (H - 2 * HOUR, 8),  # a sample exactly at an hour's end is part of that hour's end size
        (H - HOUR, 9),
    ]


# --- serialization ----------------------------------------------------------------------------


def full_state(counter: Counter, precision: timedelta = US) -> SubjectState:
    """48 h of hourly buckets plus the current hour, with realistic numbers."""
    rng = random.Random(1)
    start = H - 48 * HOUR
    records: list[InputRecord] = []
    for hour in range(49):
        moment = start + hour * HOUR + rng.randrange(3600 * 10**6) * US // precision * precision
        if counter == "events":
            records.append(events(moment, rng.randrange(50_000, 150_000)))
        elif counter == "outcomes":
            records.append(result(moment, rng.randrange(50_000, 150_000), rng.randrange(0, 2_000)))
        else:
            records.append(size(moment, rng.randrange(1_000_000, 2_000_000)))
    return apply(None, counter, numbered(*records, start=123_456_789), NOW)


@pytest.mark.parametrize("precision", [US, timedelta(milliseconds=1)])
@pytest.mark.parametrize("counter", ["events", "outcomes", "gauge"])
def test_state_round_trips_through_bytes(counter: Counter, precision: timedelta) -> None:
    state = full_state(counter, precision)
    assert len(state.values) == 49
    raw = state.to_bytes()
    again = SubjectState.from_bytes(raw)
    assert again == state
    assert again.to_bytes() == raw


@pytest.mark.parametrize("counter", ["events", "outcomes", "gauge"])
def test_state_with_49_hourly_buckets_stays_under_a_kilobyte(counter: Counter) -> None:
    assert len(full_state(counter).to_bytes()) <= 1024


def test_empty_and_sparse_states_round_trip() -> None:
    for state in (
        apply(None, "events", [], NOW),
        apply(None, "gauge", numbered(size(H - 72 * HOUR, 3)), NOW),
        apply(None, "gauge", numbered(size(X, 1), size(X + timedelta(minutes=1), 2)), NOW),
    ):
        assert SubjectState.from_bytes(state.to_bytes()) == state


def fifteen_days(counter: Counter, high: int) -> SubjectState:
    """15 days of hourly buckets plus the current hour, every hour with data below `high`."""
    rng = random.Random(2)
    start = H - 360 * HOUR
    records: list[InputRecord] = []
    for hour in range(361):
        moment = start + hour * HOUR + rng.randrange(3600 * 1000) * timedelta(milliseconds=1)
        if counter == "events":
            records.append(events(moment, rng.randrange(1, high)))
        elif counter == "outcomes":
            records.append(result(moment, rng.randrange(1, high), rng.randrange(0, high // 50 + 1)))
        else:
            records.append(size(moment, rng.randrange(1, high)))
    return apply(None, counter, numbered(*records, start=987_654_321), NOW)


@pytest.mark.parametrize("counter", ["events", "outcomes", "gauge"])
def test_a_15_day_state_is_compact_and_round_trips(counter: Counter) -> None:
    state = fifteen_days(counter, 65_536)
    assert len(state.values) == 361
    raw = state.to_bytes()
    assert SubjectState.from_bytes(raw) == state and SubjectState.from_bytes(raw).to_bytes() == raw
    # 2 bytes an hour for counts under 65,536 (and the failures beside them; a gauge's
    # millisecond into the hour takes 4), less than half the JSON text.
    limit = {"events": 1024, "outcomes": 1536, "gauge": 2400}[counter]
    assert len(raw) <= limit
    assert len(raw) * 2 < len(state.to_json_bytes())
    assert SubjectState.from_bytes(state.to_json_bytes()) == state


def test_the_narrowest_type_holds_every_value_exactly() -> None:
    for values in (
        [0, 255],
        [0, 256],
        [NONE, 127],
        [NONE, 128],
        [0, 65_536],
        [NONE, 2**31],
        [0, BUCKET_LIMIT],
    ):
        counter: Counter = "gauge" if NONE in values else "events"  # only a gauge holds NONE
        state = SubjectState(counter=counter, applied_offset=2**62, base=499_000, values=values)
        if counter == "gauge":
            state.last_us = [NONE if value == NONE else 1 for value in values]
        again = SubjectState.from_bytes(state.to_bytes())
        assert again == state, values
    small, large = (SubjectState(counter="events", values=v).to_bytes() for v in ([1] * 100, [70_000] * 100))
    assert len(small) < 130 < 400 < len(large)
    gauge = apply(None, "gauge", numbered(size(H - 400 * HOUR, 7), size(X, 5), size(X + US, 6)), NOW)
    assert gauge.carry is not None and gauge.starts
    assert SubjectState.from_bytes(gauge.to_bytes()) == gauge
    with pytest.raises(ValueError, match="version"):
        SubjectState.from_bytes(b"\x09" + gauge.to_bytes()[1:])
