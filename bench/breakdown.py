"""Where the counting path's own CPU goes, per record, measured in-process (no Kafka, no Faust).

Runs each step of `streamalert.counting.agents` on the benchmark's records with `timeit`, so a
throughput run can split a worker's CPU per record into streamalert's own code and the rest
(Faust's stream iteration, table writes and changelog sends, aiokafka).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from bench import data
from streamalert.counting.buckets import SubjectState, apply, key_counter, subject_keys
from streamalert.counting.windows import accepted_time_range
from streamalert.ingest.validation import Position, parse_pipeline_event
from streamalert.records import pipeline_event_adapter


def _per_item(function: Callable[[], Any], items: int, repeat: int = 3) -> float:
    """Best of `repeat` runs of `function` (which handles `items` items), in µs per item."""
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - began)
    return 1e6 * best / items


def breakdown(
    records: int = 20_000, subjects: int = 10_000, batch: int = 150, seed: int = 42
) -> dict[str, Any]:
    rows = [(key, value) for _, key, value in data.source_events(records, subjects, 8, seed)]
    now = datetime.now(UTC)
    position = Position("t", 0, 0)
    parsed = [parse_pipeline_event(key, value, position, now) for key, value in rows]
    dicts = [orjson.loads(value) for _, value in rows]

    def group() -> list[dict[str, list[Any]]]:
        groups = []
        for start in range(0, records, batch):
            by_key: dict[str, list[Any]] = {}
            for offset, record in enumerate(parsed[start : start + batch], start):
                for key in subject_keys(record):  # type: ignore[arg-type]
                    by_key.setdefault(key, []).append((offset, record))
            groups.append(by_key)
        return groups

    groups = group()
    writes = sum(len(g) for g in groups)
    table: dict[bytes, bytes] = {}

    def table_updates() -> None:
        for by_key in groups:
            for key, items in by_key.items():
                raw = table.get(key.encode())
                state = SubjectState.from_bytes(raw) if raw is not None else None
                table[key.encode()] = apply(state, key_counter(key), items, now).to_bytes()

    table_updates()  # warm: every subject has a state, as in a worker that has been running
    return {
        "records": records,
        "subjects": subjects,
        "batch": batch,
        "table_writes_per_record": round(writes / records, 3),
        "us_per_record": {
            "orjson.loads": round(_per_item(lambda: [orjson.loads(v) for _, v in rows], records), 2),
            "pydantic validate_python": round(
                _per_item(lambda: [pipeline_event_adapter.validate_python(d) for d in dicts], records), 2
            ),
            "accepted_time_range(now)": round(
                _per_item(lambda: [accepted_time_range(now) for _ in rows], records), 2
            ),
            "Position(...)": round(
                _per_item(lambda: [Position("t", 0, i) for i in range(records)], records), 2
            ),
            "parse_pipeline_event (all of the above)": round(
                _per_item(lambda: [parse_pipeline_event(k, v, position, now) for k, v in rows], records), 2
            ),
            "group by key": round(_per_item(group, records), 2),
            "state read+apply+write (per record)": round(_per_item(table_updates, records), 2),
        },
        "us_per_table_write": round(_per_item(table_updates, writes), 2),
    }


if __name__ == "__main__":
    print(orjson.dumps(breakdown(), option=orjson.OPT_INDENT_2).decode())
