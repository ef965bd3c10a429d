"""`streamalert simulate` against the real broker: what lands on the topics."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.partitioner import murmur2
from click.testing import CliRunner

from streamalert.cli import main
from streamalert.counting.windows import HOUR, floor_hour
from streamalert.ingest.validation import Position, parse_delivery_result, parse_pipeline_event
from streamalert.records import DeadLetter, DeliveryResult
from streamalert.records.common import parse_timestamp
from streamalert.settings import Settings
from streamalert.topics import ensure_topics
from tests.support import consume

PARTITIONS = 4
IDS = {"web", "ios", "android", "server", "warehouse", "analytics", "ads", "m-orders-to-crm", "vip-customers"}


async def topic_names(bootstrap: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return {t["topic"] for t in await admin.describe_topics(None)}
    finally:
        await admin.close()


def published(output: str, phase: str) -> int:
    found = re.search(rf"^{phase}: ([\d,]+) records", output, re.MULTILINE)
    assert found, output
    return int(found.group(1).replace(",", ""))


def test_simulate_publishes_valid_keyed_records(kafka_bootstrap: str, unique: str) -> None:
    settings = Settings(
        broker=f"kafka://{kafka_bootstrap}", app_id=unique, topic_prefix=unique, partitions=PARTITIONS
    )
    asyncio.run(ensure_topics(settings))
    started = datetime.now(UTC)
    args = ["simulate", "--broker", settings.broker, "--prefix", unique, "--workspace", unique]
    args += ["--backfill-hours", "3", "--slices", "2", "--events-per-hour", "50", "--seed", "5"]
    args += ["--drop", "web=60", "--failures", "ads=20", "--rate", "300", "--duration", "1"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    output = result.stdout
    for subject in IDS:
        assert subject in output  # the ids to create alerts on are printed first
    total = published(output, "backfill") + published(output, "live")
    assert total > 100

    records: list[Any] = []
    for topic in ("pipeline-events", "delivery-results"):
        records += asyncio.run(
            consume(
                kafka_bootstrap,
                f"{unique}.{topic}",
                lambda found, topic=topic: len(found) >= published_on(output, unique, topic),
            )
        )
    assert len(records) == total

    now = datetime.now(UTC)
    keys, partitions_by_key = set(), {}
    for record in records:
        parse = parse_pipeline_event if record.topic.endswith("pipeline-events") else parse_delivery_result
        parsed = parse(record.key, record.value, Position(record.topic, record.partition, record.offset), now)
        assert not isinstance(parsed, DeadLetter), parsed.reason  # valid, keyed by subject, in range
        assert parsed.workspace_id == unique
        assert floor_hour(started) - 3 * HOUR <= parsed.timestamp <= now
        key = record.key.decode()
        keys.add(key)
        # The partition is the one a Java client (or aiokafka's default partitioner) picks for the key.
        assert record.partition == (murmur2(record.key) & 0x7FFFFFFF) % PARTITIONS
        partitions_by_key.setdefault((record.topic, key), set()).add(record.partition)
    assert keys == IDS
    assert all(len(found) == 1 for found in partitions_by_key.values())

    results = [r for r in records if r.topic.endswith("delivery-results")]
    counted = [parse_delivery_result(r.key, r.value, Position(r.topic, 0, 0), now) for r in results]
    ads = [
        r
        for r in counted
        if isinstance(r, DeliveryResult) and r.kind == "destination" and r.destination_id == "ads"
    ]
    assert sum(r.failed for r in ads) / sum(r.delivered + r.failed for r in ads) > 0.1  # the failure burst
    assert published(output, "live") > 0
    live = [r for r in records if parse_timestamp_of(r) >= started]
    assert len(live) >= published(output, "live")  # stamped at publication time


def parse_timestamp_of(record: Any) -> datetime:
    return parse_timestamp(orjson.loads(record.value)["timestamp"])


def published_on(output: str, prefix: str, topic: str) -> int:
    """Records of `topic` in the summaries (backfill and live) the command printed."""
    lines = re.findall(rf"^\s+{re.escape(prefix)}\.{topic}\s+([\d,]+) records", output, re.MULTILINE)
    assert lines, output
    return sum(int(n.replace(",", "")) for n in lines)


def test_missing_topics_are_named_and_not_created(kafka_bootstrap: str, unique: str) -> None:
    result = CliRunner().invoke(
        main,
        ["simulate", "--broker", f"kafka://{kafka_bootstrap}", "--prefix", unique, "--backfill-hours", "1"],
    )
    assert result.exit_code == 1
    assert f"missing topic(s) {unique}.pipeline-events, {unique}.delivery-results" in result.output
    assert "streamalert topics create" in result.output
    assert not {n for n in asyncio.run(topic_names(kafka_bootstrap)) if n.startswith(f"{unique}.")}
