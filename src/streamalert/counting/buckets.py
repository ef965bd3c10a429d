"""Per-subject hourly state (docs/design.md#counting): what a Faust table holds for one subject key. Pure.

One table key per subject; the agent groups a batch of records by key and calls `apply` once
per key, so a key is written once per batch (docs/design.md#counting). Counts go into hourly buckets by event
time (UTC); buckets older than the retention start (H - 15 days, `windows.RETENTION`) are pruned.

Key format: `<prefix>|<workspace_id>|<id>[|<id>]`, one prefix and counter per alert kind
(`streamalert.kinds`): `src` events, `dst`/`map`/`act` outcomes, `aud` gauge. A destination's
record with a source counts for `dst|ws|destination` and `dst|ws|destination|source`.

Every key a record feeds is derived from the record's Kafka key (its subject id), so all of a
key's records come from one topic-partition and its offsets grow: `applied_offset` is then
enough to skip a replay after a crash.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeAlias

import orjson

from streamalert.counting.windows import DAY, HOUR, retention_start
from streamalert.kinds import BY_INPUT, KINDS, PREFIX_COUNTER, SEPARATOR, Counter, table_keys
from streamalert.records.alerts import AlertConfig
from streamalert.records.common import MAX_SAFE_INTEGER
from streamalert.records.inputs import AudienceSize, DeliveryResult, SourceEvents

InputRecord: TypeAlias = SourceEvents | AudienceSize | DeliveryResult
Item: TypeAlias = tuple[int, InputRecord]
"""(input offset, validated record)."""

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
NONE = -1
"""Gauge sentinel for "no sample": sizes are never negative."""

BUCKET_LIMIT = MAX_SAFE_INTEGER
"""An hour's sum saturates here instead of growing past what the stored JSON (and every JSON
reader) holds exactly; sums of up to 360 such hours (15 days) still fit a 64-bit integer.
No real pipeline gets near 9e15 events in an hour: only a hostile producer could."""

FUTURE_GUARD = DAY
"""Records further than this ahead of `now` are ignored: validation already dead-letters them, and
one absurd timestamp must not grow a subject's arrays by years of empty hours."""

_CODES: dict[Counter, str] = {"events": "e", "outcomes": "o", "gauge": "g"}
_COUNTERS: dict[str, Counter] = {code: counter for counter, code in _CODES.items()}

# The stored form (docs/design.md#counting): a version byte, then fixed-width little-endian
# arrays of the smallest integer type that holds each one. 15 days of hourly counts under 65,536
# take 2 bytes an hour, less than half their JSON text. States written as JSON (a first byte
# of "{") are still read.
_BINARY = 1
_HEADER = struct.Struct("<BcqqI")  # version, counter code, applied offset, base hour, buckets
_CARRY = struct.Struct("<qq")
_TYPES = [
    (
        code,
        -(1 << (8 * size - 1)) if code.islower() else 0,
        (1 << (8 * size - (1 if code.islower() else 0))) - 1,
    )
    for code in "BbHhIiq"
    if (size := array(code).itemsize)
]
"""(array type code, smallest, largest) from the narrowest type up; `q` holds any stored value."""


def _pack(values: list[int], signed: bool = False) -> bytes:
    """One array: its type code, then its items. Only `signed` arrays may hold NONE (-1); the
    others are never negative, which spares a pass over them."""
    low = min(values) if signed and values else 0
    high = max(values) if values else 0
    code = next(code for code, smallest, largest in _TYPES if smallest <= low and high <= largest)
    return code.encode() + array(code, values).tobytes()


def _unpack(raw: memoryview, position: int, count: int) -> tuple[list[int], int]:
    """The `count` items of the array at `position`, and the position after it."""
    code = chr(raw[position])
    items = array(code)
    end = position + 1 + count * items.itemsize
    items.frombytes(raw[position + 1 : end])
    return items.tolist(), end


def subject_keys(record: InputRecord) -> list[str]:
    """The table keys a validated input record contributes to."""
    return table_keys(record.input, record)


def alert_subject_key(alert: AlertConfig) -> str:
    """The table key an alert reads; the same string `subject_keys` gives the records it watches."""
    return KINDS[alert.kind].table_key(alert)


def key_counter(key: str) -> Counter:
    """What the state under `key` counts, from the key's prefix."""
    return PREFIX_COUNTER[key.split(SEPARATOR, 1)[0]]


def record_counter(record: InputRecord) -> Counter:
    return BY_INPUT[record.input][0].counter


def group_by_key(items: Iterable[Item]) -> dict[str, list[Item]]:
    """A batch of (offset, record) grouped by table key, in input order: one `apply` per key."""
    groups: dict[str, list[Item]] = {}
    for item in items:
        for key in subject_keys(item[1]):
            groups.setdefault(key, []).append(item)
    return groups


def hour_index(moment: datetime) -> int:
    """Whole hours since the epoch (UTC), exactly, with no float arithmetic."""
    return (moment - EPOCH) // HOUR


def hour_start(index: int) -> datetime:
    return EPOCH + index * HOUR


def _micros_into_hour(moment: datetime) -> int:
    return ((moment - EPOCH) % HOUR) // MICROSECOND


def _epoch_micros(moment: datetime) -> int:
    return (moment - EPOCH) // MICROSECOND


@dataclass(slots=True)
class SubjectState:
    """Hourly buckets of one subject: a base hour plus short arrays of ints (no per-hour dicts).

    Bucket `i` covers hour `base + i` (hours since the epoch). Per counter:
    - events: `values[i]` = events in the hour;
    - outcomes: `values[i]` = delivered, `failed[i]` = failed;
    - gauge: `values[i]` = size of the hour's latest sample (NONE if no sample), `last_us[i]` =
      that sample's microseconds into the hour, `starts` = {i: size} for hours with a sample
      exactly at the hour's start (the latest such). `carry` = (epoch µs, size) of the latest
      sample in pruned hours, so a size set long ago and unchanged is still known.

    Records of one key arrive in offset order (one topic-partition), so of two samples with the
    same timestamp the one applied later has the later offset and wins.
    """

    counter: Counter
    applied_offset: int = -1
    base: int = 0
    values: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    last_us: list[int] = field(default_factory=list)
    starts: dict[int, int] = field(default_factory=dict)
    carry: tuple[int, int] | None = None

    def to_bytes(self) -> bytes:
        """The compact binary form (module comment at `_BINARY`)."""
        count = len(self.values)
        parts = [
            _HEADER.pack(_BINARY, _CODES[self.counter].encode(), self.applied_offset, self.base, count),
            _pack(self.values, signed=self.counter == "gauge"),
        ]
        if self.counter == "outcomes":
            parts.append(_pack(self.failed))
        elif self.counter == "gauge":
            # Whole milliseconds (epoch-millisecond producers) fit a narrower type.
            millis = all(us % 1000 == 0 for us in self.last_us if us != NONE)
            last = [us // 1000 if us != NONE else NONE for us in self.last_us] if millis else self.last_us
            starts = [item for pair in sorted(self.starts.items()) for item in pair]
            parts += [
                b"m" if millis else b"u",
                _pack(last, signed=True),
                struct.pack("<I", len(self.starts)),
                _pack(starts),
            ]
            parts.append(_CARRY.pack(*self.carry) if self.carry is not None else b"")
        return b"".join(parts)

    def to_json_bytes(self) -> bytes:
        """The JSON form states were stored in before the binary one (still read)."""
        data: dict[str, object] = {"c": _CODES[self.counter], "o": self.applied_offset}
        if self.values:
            data["b"] = self.base
            data["v"] = self.values
        if self.failed:
            data["f"] = self.failed
        if self.last_us:
            # Whole milliseconds (epoch-millisecond producers) take 3 digits less per hour.
            if all(us % 1000 == 0 for us in self.last_us if us != NONE):
                data["t"] = [us // 1000 if us != NONE else NONE for us in self.last_us]
            else:
                data["tu"] = self.last_us
        if self.starts:
            data["s"] = [item for pair in sorted(self.starts.items()) for item in pair]
        if self.carry is not None:
            data["k"] = list(self.carry)
        # A copy: orjson's own result keeps an ~8 KB allocation whatever its length, and the
        # memory store holds this object for as long as the subject lives (docs/benchmarks.md).
        return memoryview(orjson.dumps(data)).tobytes()

    @classmethod
    def from_bytes(cls, raw: bytes) -> SubjectState:
        if raw[:1] != b"{":
            return cls._from_binary(memoryview(raw))
        data = orjson.loads(raw)
        starts = data.get("s", [])
        carry = data.get("k")
        return cls(
            counter=_COUNTERS[data["c"]],
            applied_offset=data["o"],
            # "p" (the input partition, in states written before records on another partition
            # than their key's were dead-lettered) is ignored: it is the key's home partition.
            base=data.get("b", 0),
            values=data.get("v", []),
            failed=data.get("f", []),
            last_us=data["tu"]
            if "tu" in data
            else [ms * 1000 if ms != NONE else NONE for ms in data.get("t", [])],
            starts=dict(zip(starts[::2], starts[1::2], strict=True)),
            carry=(carry[0], carry[1]) if carry is not None else None,
        )

    @classmethod
    def _from_binary(cls, raw: memoryview) -> SubjectState:
        version, code, applied_offset, base, count = _HEADER.unpack_from(raw)
        if version != _BINARY:
            raise ValueError(f"unknown subject state version {version}")
        counter = _COUNTERS[code.decode()]
        values, position = _unpack(raw, _HEADER.size, count)
        state = cls(counter=counter, applied_offset=applied_offset, base=base, values=values)
        if counter == "outcomes":
            state.failed, position = _unpack(raw, position, count)
        elif counter == "gauge":
            millis = raw[position] == ord("m")
            last, position = _unpack(raw, position + 1, count)
            state.last_us = [ms * 1000 if ms != NONE else NONE for ms in last] if millis else last
            (pairs,) = struct.unpack_from("<I", raw, position)
            starts, position = _unpack(raw, position + 4, 2 * pairs)
            state.starts = dict(zip(starts[::2], starts[1::2], strict=True))
            if len(raw) - position >= _CARRY.size:
                state.carry = _CARRY.unpack_from(raw, position)
        return state

    def copy(self) -> SubjectState:
        return SubjectState(
            counter=self.counter,
            applied_offset=self.applied_offset,
            base=self.base,
            values=list(self.values),
            failed=list(self.failed),
            last_us=list(self.last_us),
            starts=dict(self.starts),
            carry=self.carry,
        )

    # -- mutation helpers, used only on a private copy inside `apply` --

    def _fold_into_carry(self, epoch_us: int, size: int) -> None:
        if self.carry is None or epoch_us >= self.carry[0]:
            self.carry = (epoch_us, size)

    def _prune(self, cutoff: int) -> None:
        """Drop buckets before hour `cutoff`; a gauge keeps their latest sample as `carry`."""
        drop = min(cutoff - self.base, len(self.values))
        if drop <= 0:
            return
        if self.counter == "gauge":
            for i in range(drop - 1, -1, -1):
                if self.values[i] != NONE:
                    epoch_us = _epoch_micros(hour_start(self.base + i)) + self.last_us[i]
                    self._fold_into_carry(epoch_us, self.values[i])
                    break
            self.starts = {i - drop: size for i, size in self.starts.items() if i >= drop}
            del self.last_us[:drop]
        del self.values[:drop]
        if self.failed:
            del self.failed[:drop]
        self.base = cutoff if not self.values else self.base + drop

    def _slot(self, index: int) -> int:
        """Position of hour `index` in the arrays, growing them at either end as needed."""
        empty = NONE if self.counter == "gauge" else 0
        if not self.values:
            self.base = index
        if index < self.base:
            grow = self.base - index
            self.values[:0] = [empty] * grow
            if self.counter == "outcomes":
                self.failed[:0] = [0] * grow
            if self.counter == "gauge":
                self.last_us[:0] = [NONE] * grow
                self.starts = {i + grow: size for i, size in self.starts.items()}
            self.base = index
        position = index - self.base
        if position >= len(self.values):
            grow = position + 1 - len(self.values)
            self.values.extend([empty] * grow)
            if self.counter == "outcomes":
                self.failed.extend([0] * grow)
            if self.counter == "gauge":
                self.last_us.extend([NONE] * grow)
        return position

    def _add(self, position: int, record: InputRecord) -> None:
        """Count `record` into the bucket at `position` (its hour)."""
        if isinstance(record, SourceEvents):
            self.values[position] = min(self.values[position] + record.count, BUCKET_LIMIT)
        elif isinstance(record, DeliveryResult):
            self.values[position] = min(self.values[position] + record.delivered, BUCKET_LIMIT)
            self.failed[position] = min(self.failed[position] + record.failed, BUCKET_LIMIT)
        else:
            into = _micros_into_hour(record.timestamp)
            if into >= self.last_us[position]:
                self.values[position] = record.size
                self.last_us[position] = into
            if into == 0:
                self.starts[position] = record.size


def retained_since(now: datetime) -> datetime:
    """The oldest hour a subject state keeps at `now`: `apply` prunes the buckets before it, so
    a window starting earlier cannot be summed exactly (the preview says so, `evaluation.backtest`)."""
    return retention_start(now)


def new_state(counter: Counter) -> SubjectState:
    return SubjectState(counter=counter)


def apply(state: SubjectState | None, counter: Counter, items: Sequence[Item], now: datetime) -> SubjectState:
    """A new state with a batch of (offset, record) applied; `state` itself is left unchanged.

    Records at offsets already applied (a replay after a crash) are skipped. Records before the
    retention start of `now` (H - 15 days) only advance the offset (a gauge keeps them as `carry`).
    """
    result = new_state(counter) if state is None else state.copy()
    if result.counter != counter:
        raise ValueError(f"state counts {result.counter}, not {counter}")
    cutoff = hour_index(retained_since(now))
    ceiling = hour_index(now + FUTURE_GUARD)
    result._prune(cutoff)
    for offset, record in sorted(items, key=lambda item: item[0]):
        if offset <= result.applied_offset:
            continue
        result.applied_offset = offset
        if record_counter(record) != counter:
            raise ValueError(f"a {type(record).__name__} record cannot update a {counter} state")
        moment = record.timestamp
        index = hour_index(moment)
        if index > ceiling:
            continue
        if index < cutoff:
            if isinstance(record, AudienceSize):
                result._fold_into_carry(_epoch_micros(moment), record.size)
            continue
        result._add(result._slot(index), record)
    return result


def _positions(state: SubjectState, start: datetime, end: datetime) -> range:
    first, stop = _hour_bounds(start, end)
    return range(max(first - state.base, 0), min(stop - state.base, len(state.values)))


def _hour_bounds(start: datetime, end: datetime) -> tuple[int, int]:
    for moment in (start, end):
        if (moment - EPOCH) % HOUR:
            raise ValueError(f"{moment.isoformat()} is not an hour boundary")
    return hour_index(start), hour_index(end)


def window_total(state: SubjectState | None, start: datetime, end: datetime) -> int:
    """Events (or delivered) with event time in [start, end); both ends are hour boundaries."""
    if state is None:
        return 0
    if state.counter == "gauge":
        raise ValueError("a gauge has no window total")
    return sum(state.values[i] for i in _positions(state, start, end))


def window_outcomes(state: SubjectState | None, start: datetime, end: datetime) -> tuple[int, int]:
    """(delivered, failed) with event time in [start, end)."""
    if state is None:
        return 0, 0
    if state.counter != "outcomes":
        raise ValueError(f"a {state.counter} state has no outcomes")
    positions = _positions(state, start, end)
    return sum(state.values[i] for i in positions), sum(state.failed[i] for i in positions)


def gauge_at(state: SubjectState | None, instant: datetime) -> int | None:
    """Size of the latest sample with timestamp ≤ `instant` (an hour boundary); None if unknown.

    Exact for any instant from the oldest retained hour on. A sample exactly at `instant` counts;
    one a microsecond later does not.
    """
    if state is None:
        return None
    if state.counter != "gauge":
        raise ValueError(f"a {state.counter} state is not a gauge")
    target, _ = _hour_bounds(instant, instant)
    position = target - state.base
    if 0 <= position < len(state.values) and position in state.starts:
        return state.starts[position]
    limit = _epoch_micros(instant)
    carry = state.carry if state.carry is not None and state.carry[0] <= limit else None
    for i in range(min(position, len(state.values)) - 1, -1, -1):
        if state.values[i] != NONE:
            epoch_us = _epoch_micros(hour_start(state.base + i)) + state.last_us[i]
            # The carry is older than every retained bucket unless `now` went backwards.
            return carry[1] if carry is not None and carry[0] > epoch_us else state.values[i]
    return carry[1] if carry is not None else None


def hourly_series(
    state: SubjectState | None, start: datetime, end: datetime
) -> list[tuple[datetime, int | None]]:
    """One point per hour in [start, end), for a chart.

    Counters: the hour's events (or delivered), 0 when none. Gauges: the size at the end of the
    hour (`gauge_at(hour + 1h)`), so the last point of a window is the value an evaluation compares.
    """
    first, stop = _hour_bounds(start, end)
    if state is None:
        return [(hour_start(h), 0) for h in range(first, stop)]
    if state.counter == "gauge":
        return [(hour_start(h), gauge_at(state, hour_start(h + 1))) for h in range(first, stop)]
    series: list[tuple[datetime, int | None]] = []
    for h in range(first, stop):
        position = h - state.base
        series.append((hour_start(h), state.values[position] if 0 <= position < len(state.values) else 0))
    return series
