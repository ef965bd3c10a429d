"""The Faust contenders of the throughput benchmark, as one Faust app chosen by BENCH_MODE.

- `bare`: an agent that only iterates the topic, value by value (Faust's own floor);
- `take`: an agent that only iterates the topic in `take_events` batches, as streamalert's
  counting agent does (the floor of the batch API);
- `hopping`: what a Faust tutorial leads to: a `faust.Record`, a table hopping over 24 h in
  1 h steps, `table[source] += count` per event (in-memory store: the cheapest one).

Run: `BENCH_MODE=bare BENCH_APP_ID=... BENCH_TOPIC=... BENCH_PARTITIONS=8 python -m
bench.contenders.faust_app worker -l warn`. The app settings are streamalert's where they apply.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import faust

MODE = os.environ.get("BENCH_MODE", "bare")
TOPIC = os.environ.get("BENCH_TOPIC", "bench.pipeline-events")
PARTITIONS = int(os.environ.get("BENCH_PARTITIONS", "8"))
PROGRESS = os.environ.get("BENCH_PROGRESS")
processed = 0  # records the agent has been handed, for the harness (commits may lag far behind)

app = faust.App(
    os.environ.get("BENCH_APP_ID", f"bench-{MODE}"),
    broker=os.environ.get("BENCH_BROKER", "kafka://127.0.0.1:9092"),
    store="memory://",
    datadir=os.environ.get("BENCH_DATA_DIR", ".local/bench-data"),
    topic_partitions=PARTITIONS,
    key_serializer="raw",
    value_serializer="raw",
    consumer_auto_offset_reset="earliest",
    web_enabled=False,
    stream_wait_empty=False,
    autodiscover=False,
)


class SourceEvent(faust.Record, serializer="json"):
    type: str
    workspace_id: str
    source_id: str
    timestamp: str
    count: int = 1


if MODE == "hopping":
    events_topic = app.topic(TOPIC, value_type=SourceEvent, partitions=PARTITIONS)
    source_counts = app.Table("source_counts", default=int, partitions=PARTITIONS).hopping(
        timedelta(hours=24), timedelta(hours=1), expires=timedelta(hours=48)
    )

    @app.agent(events_topic)
    async def count(events: faust.StreamT[SourceEvent]) -> AsyncIterator[None]:
        global processed
        async for event in events:
            source_counts[event.source_id] += event.count
            processed += 1
            yield None

elif MODE == "take":
    raw_topic = app.topic(
        TOPIC, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )

    @app.agent(raw_topic)
    async def take(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
        global processed
        async for events in stream.take_events(5000, within=0.05):
            processed += len(events)
            yield None

else:
    raw_topic = app.topic(
        TOPIC, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )

    @app.agent(raw_topic)
    async def bare(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
        global processed
        async for _value in stream:
            processed += 1
            yield None


if PROGRESS:
    progress_path = Path(PROGRESS)

    @app.timer(0.5)
    async def report_progress() -> None:
        partial = progress_path.with_suffix(".tmp")
        partial.write_text(f"{processed} {time.time()}")
        partial.replace(progress_path)


if __name__ == "__main__":
    app.main()
