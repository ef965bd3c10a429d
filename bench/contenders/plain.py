"""Python's floor: a plain aiokafka consumer that decodes each value with orjson and adds its
count into a dict. Reads every partition of BENCH_TOPIC from the beginning to the end offsets it
found at start, then prints one JSON line: records, events, subjects, seconds (from the first
fetch to the last record, by its own position) and cpu_s (this process's CPU time, all threads,
over those seconds)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition


async def main(topic: str, bootstrap: str, max_seconds: float) -> dict[str, float]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, max_partition_fetch_bytes=4 * 1024 * 1024
    )
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()  # no subscription: no metadata yet
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        total = sum(ends.values())
        counts: dict[str, int] = {}
        records = events = 0
        began = time.monotonic()
        cpu_began = time.process_time()
        deadline = began + max_seconds
        while records < total and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500, max_records=20_000)
            for batch in batches.values():
                for message in batch:
                    value = orjson.loads(message.value)
                    source = value["source_id"]
                    added = value.get("count", 1)
                    counts[source] = counts.get(source, 0) + added
                    events += added
                records += len(batch)
        seconds = time.monotonic() - began
        cpu = time.process_time() - cpu_began
        return {
            "records": records,
            "events": events,
            "subjects": len(counts),
            "seconds": seconds,
            "cpu_s": cpu,
        }
    finally:
        # aiokafka 0.14 may raise CancelledError from stop() after a manual assign(); the
        # numbers are taken by then.
        with contextlib.suppress(BaseException):
            await consumer.stop()


if __name__ == "__main__":
    topic, bootstrap, max_seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    result = asyncio.run(main(topic, bootstrap, max_seconds))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    os._exit(0)
