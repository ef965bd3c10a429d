"""Contender (e) of the throughput benchmark: a Quix Streams app counting per key with RocksDB state.

Quix Streams (confluent-kafka / librdkafka underneath) is a bench requirement only and runs from
its own venv, `.venv-quix` (bench/requirements-quix.txt, made by `bench.common.quix_python`), so
its confluent-kafka and pydantic pins never meet streamalert's. This file therefore imports
nothing from `bench` or `streamalert`: it is run as a script,

    BENCH_APP_ID=... BENCH_TOPIC=... .venv-quix/bin/python bench/contenders/quix_app.py

It reads BENCH_TOPIC from the beginning in its own consumer group (BENCH_APP_ID), decodes each
value as JSON and adds its `count` (default 1) into a per-key state, the same per-subject count
as streamalert's counting agent keeps: RocksDB state with a changelog topic, at-least-once, as
Quix Streams sets it up by default. Its commit interval is Faust's default `broker_commit_interval`
(2.8 s), so every contender's commits reach the end offsets on the same clock. Every 0.5 s at most
it writes how many records it has been handed to BENCH_PROGRESS, as the Faust contenders do.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from quixstreams import Application, State

TOPIC = os.environ.get("BENCH_TOPIC", "bench.pipeline-events")
PROGRESS = os.environ.get("BENCH_PROGRESS")
COMMIT_INTERVAL = float(os.environ.get("BENCH_COMMIT_INTERVAL", "2.8"))

processed = 0
last_written = 0.0


def write_progress() -> None:
    global last_written
    if PROGRESS is None:
        return
    last_written = time.monotonic()
    path = Path(PROGRESS)
    partial = path.with_suffix(".tmp")
    partial.write_text(f"{processed} {time.time()}")
    partial.replace(path)


def count(value: dict[str, Any], state: State) -> None:
    """The per-key count: state is scoped to the record's key (the subject)."""
    global processed
    state.set("count", state.get("count", 0) + value.get("count", 1))
    processed += 1
    if processed & 1023 == 0 and time.monotonic() - last_written >= 0.5:
        write_progress()


def main() -> None:
    app = Application(
        broker_address=os.environ.get("BENCH_BOOTSTRAP", "127.0.0.1:9092"),
        consumer_group=os.environ.get("BENCH_APP_ID", "bench-quix"),
        auto_offset_reset="earliest",
        commit_interval=COMMIT_INTERVAL,
        state_dir=os.environ.get("BENCH_DATA_DIR", ".local/bench-quix-state"),
        processing_guarantee="at-least-once",
        loglevel=os.environ.get("BENCH_LOG_LEVEL", "INFO"),  # type: ignore[arg-type]
    )
    topic = app.topic(TOPIC, key_deserializer="bytes", value_deserializer="json")
    sdf = app.dataframe(topic)
    sdf = sdf.update(count, stateful=True)
    try:
        app.run()  # until SIGTERM / SIGINT, which stop it gracefully
    finally:
        write_progress()
        logging.getLogger("quixstreams").info("bench: %d records processed", processed)


if __name__ == "__main__":
    main()
