"""A real `streamalert worker` process against the real broker."""

from __future__ import annotations

import urllib.request

import orjson
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from tests.support import WorkerProcess, consume, http_get, produce

CATALOGUE = [
    "pipeline-events",
    "delivery-results",
    "alert-configs",
    "alert-fired",
    "deliveries",
    "dead-letter",
]


def test_health_and_readiness(module_worker: WorkerProcess) -> None:
    assert http_get(f"{module_worker.url}/healthz") == (200, {"status": "ok", "version": "0.1.0"})
    status, body = http_get(f"{module_worker.url}/readyz")
    assert status == 200
    assert body == {
        "ready": True,
        "checks": {
            "configs_loaded": True,
            "tokens_loaded": True,
            "alert_states_loaded": True,
            "deliveries_loaded": True,
            "notifications_loaded": True,
            "agents_running": True,
            "deliveries_recordable": True,
            "kafka_broker_reachable": True,
        },
    }
    status, body = http_get(f"{module_worker.url}/readyz/partitions")
    assert (status, body) == (200, {"ready": True, "checks": {"partitions_recovered": True}})
    with urllib.request.urlopen(f"{module_worker.url}/metrics", timeout=5) as response:
        assert "streamalert_partitions_recovered 1.0" in response.read().decode()


async def test_worker_creates_the_topic_catalogue(module_worker: WorkerProcess, kafka_bootstrap: str) -> None:
    names = [f"{module_worker.prefix}.{name}" for name in CATALOGUE]
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        described = {t["topic"]: t for t in await admin.describe_topics(names)}
        configs = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, f"{module_worker.prefix}.{n}") for n in CATALOGUE]
        )
    finally:
        await admin.close()
    for name in names:
        assert described[name]["error_code"] == 0, name
        assert len(described[name]["partitions"]) == 4, name
    settings = {
        resource[3]: {entry[0]: entry[1] for entry in resource[4]}
        for response in configs
        for resource in response.resources
    }
    assert settings[f"{module_worker.prefix}.alert-configs"]["cleanup.policy"] == "compact"
    assert settings[f"{module_worker.prefix}.pipeline-events"]["cleanup.policy"] == "delete"
    assert int(settings[f"{module_worker.prefix}.pipeline-events"]["retention.ms"]) >= 16 * 24 * 3_600_000


async def test_unusable_records_round_trip_to_dead_letter(
    module_worker: WorkerProcess, kafka_bootstrap: str, unique: str
) -> None:
    from datetime import UTC, datetime

    prefix = module_worker.prefix
    source = f"{unique}-src"
    now = datetime.now(UTC).isoformat()

    def event(**change: object) -> bytes:
        record = {"type": "source_events", "workspace_id": unique, "source_id": source, "timestamp": now}
        return orjson.dumps(record | change)

    # All on one key, hence one partition, in order: the last (bad) record proves
    # the worker has been through every record before it.
    records: list[tuple[bytes | None, bytes | None]] = [
        (source.encode(), event()),
        (source.encode(), b"{broken"),
        (source.encode(), event(count=25)),
        (f"{unique}-other".encode(), event()),
        (source.encode(), event(timestamp=1_000)),
        (source.encode(), event(count=0)),
    ]
    await produce(kafka_bootstrap, f"{prefix}.pipeline-events", records)
    await produce(
        kafka_bootstrap,
        f"{prefix}.delivery-results",
        [(b"dest", orjson.dumps({"workspace_id": unique, "kind": "destination", "timestamp": now}))],
    )

    def ours(found: list) -> list[dict]:
        return [orjson.loads(r.value) for r in found if r.key and r.key.decode().startswith(unique)]

    found = await consume(
        kafka_bootstrap, f"{prefix}.dead-letter", lambda found: len(ours(found)) >= 4, timeout=60
    )
    # The worker reads a partition in order: with the last bad record of `source` in, the
    # good records before it have been through and none of them was rejected.
    letters = ours(found)
    reasons = sorted(letter["reason"] for letter in letters)
    assert len(reasons) == 4, reasons
    assert reasons[0] == "count: Input should be greater than or equal to 1"
    assert reasons[1].startswith(f"key '{unique}-other' does not match the record's subject id '{source}'")
    assert reasons[2].startswith("not UTF-8 JSON")
    assert "older than the retention start" in reasons[3]
    broken = next(letter for letter in letters if letter["reason"].startswith("not UTF-8"))
    assert broken["raw"] == "{broken"
    assert broken["topic"] == f"{prefix}.pipeline-events"
    assert broken["offset"] >= 0

    delivery = [orjson.loads(r.value) for r in found if r.key == b"dest" and unique.encode() in r.value]
    delivery = delivery or [
        orjson.loads(r.value)
        for r in await consume(
            kafka_bootstrap,
            f"{prefix}.dead-letter",
            lambda found: any(r.key == b"dest" and unique.encode() in r.value for r in found),
        )
        if r.key == b"dest" and unique.encode() in r.value
    ]
    assert len(delivery) == 1
    assert delivery[0]["topic"] == f"{prefix}.delivery-results"
    assert "destination_id: Field required" in delivery[0]["reason"]
    assert "delivered: Field required" in delivery[0]["reason"]


async def test_a_record_on_the_wrong_partition_is_dead_lettered_not_miscounted(
    module_worker: WorkerProcess, kafka_bootstrap: str, unique: str
) -> None:
    """A librdkafka producer's default partitioner puts a key elsewhere than the Java client's:
    such a record is neither counted by the wrong table partition nor skipped silently."""
    from datetime import UTC, datetime, timedelta

    from aiokafka import AIOKafkaProducer

    from streamalert.counting.buckets import SubjectState
    from streamalert.ingest.validation import home_partition
    from streamalert.kinds import KINDS
    from tests.integration.test_notifications import scrape
    from tests.integration.test_poison_records import latest_states
    from tests.support import wait_caught_up

    prefix, source = module_worker.prefix, f"{unique}-src"
    home = home_partition(source.encode(), 4)
    stamp = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    record = orjson.dumps(
        {"type": "source_events", "workspace_id": unique, "source_id": source, "timestamp": stamp, "count": 7}
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(f"{prefix}.pipeline-events", record, key=source.encode(), partition=home)
        wrong = (home + 1) % 4
        await producer.send_and_wait(
            f"{prefix}.pipeline-events", record, key=source.encode(), partition=wrong
        )
        await producer.send_and_wait(f"{prefix}.pipeline-events", record, key=source.encode(), partition=home)
    finally:
        await producer.stop()

    found = await consume(
        kafka_bootstrap,
        f"{prefix}.dead-letter",
        lambda found: any(r.key == source.encode() for r in found),
        timeout=30,
    )
    letters = [orjson.loads(r.value) for r in found if r.key == source.encode()]
    assert len(letters) == 1
    assert letters[0]["partition"] == wrong
    assert f"belongs to partition {home}, not {wrong}" in letters[0]["reason"]
    assert "partitioner=murmur2_random" in letters[0]["reason"]
    # The two records on the key's own partition are counted, once each.
    await wait_caught_up(kafka_bootstrap, prefix, [f"{prefix}.pipeline-events"])
    states = await latest_states(kafka_bootstrap, prefix)
    assert (
        sum(SubjectState.from_bytes(states[KINDS["source_volume"].key(unique, source).encode()]).values) == 14
    )
    metrics = scrape(module_worker)
    assert metrics[f'streamalert_records_misrouted_total{{topic="{prefix}.pipeline-events"}}'] >= 1
