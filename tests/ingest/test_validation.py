from datetime import UTC, datetime

import orjson
import pytest

from streamalert.ingest.validation import Position, parse_delivery_result, parse_pipeline_event
from streamalert.records import DeadLetter, SourceEvents

NOW = datetime(2026, 11, 28, 9, 42, tzinfo=UTC)
POSITION = Position("p.pipeline-events", 3, 1234)


def source(**change: object) -> bytes:
    record = {
        "type": "source_events",
        "workspace_id": "w",
        "source_id": "s1",
        "timestamp": "2026-11-28T09:00:00Z",
    }
    return orjson.dumps(record | change)


def test_a_valid_record_is_parsed() -> None:
    result = parse_pipeline_event(b"s1", source(count=7), POSITION, NOW)
    assert isinstance(result, SourceEvents)
    assert result.count == 7


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        (b"s1", b"{not json", "not UTF-8 JSON"),
        (b"s1", b"\xff\xfe", "not UTF-8 JSON"),
        (b"s1", b"[1, 2]", "expected a JSON object, got list"),
        (b"s1", None, "tombstone"),
        (b"s1", source(type="clicks"), "type"),
        (b"s1", source(count=0), "count: Input should be greater than or equal to 1"),
        (b"s1", source(count="3"), "count: Input should be a valid integer"),
        (None, source(), "key missing does not match the record's subject id 's1'"),
        (b"s2", source(), "key 's2' does not match"),
        (b"s1", source(timestamp="2026-11-13T08:59:59Z"), "older than the retention start"),
        (b"s1", source(timestamp="2026-11-28T09:47:01Z"), "more than 5 minutes in the future"),
    ],
)
def test_unusable_records_become_dead_letters_with_a_reason(
    key: bytes | None, value: bytes | None, reason: str
) -> None:
    result = parse_pipeline_event(key, value, POSITION, NOW)
    assert isinstance(result, DeadLetter)
    assert reason in result.reason
    assert (result.topic, result.partition, result.offset) == ("p.pipeline-events", 3, 1234)


def test_the_edges_of_the_accepted_range_are_kept() -> None:
    assert isinstance(
        parse_pipeline_event(b"s1", source(timestamp="2026-11-13T09:00:00Z"), POSITION, NOW), SourceEvents
    )
    assert isinstance(
        parse_pipeline_event(b"s1", source(timestamp="2026-11-28T09:47:00Z"), POSITION, NOW), SourceEvents
    )


def test_dead_letters_keep_the_raw_bytes() -> None:
    text = parse_pipeline_event(b"s1", b"{oops", POSITION, NOW)
    binary = parse_pipeline_event(b"s1", b"\xff\x00", POSITION, NOW)
    assert isinstance(text, DeadLetter) and isinstance(binary, DeadLetter)
    assert (text.raw, text.raw_encoding, text.key) == ("{oops", "utf-8", "s1")
    assert (binary.raw, binary.raw_encoding) == ("/wA=", "base64")


def test_delivery_results_are_checked_the_same_way() -> None:
    value = orjson.dumps(
        {
            "workspace_id": "w",
            "kind": "mapping",
            "destination_id": "d",
            "mapping_id": "m",
            "timestamp": 1795858200000,
            "delivered": 0,
            "failed": 0,
        }
    )
    result = parse_delivery_result(b"m", value, POSITION, NOW)
    assert isinstance(result, DeadLetter)
    assert "delivered and failed are both 0" in result.reason
    wrong_key = parse_delivery_result(b"d", value.replace(b'"failed":0', b'"failed":2'), POSITION, NOW)
    assert isinstance(wrong_key, DeadLetter)
    assert "subject id 'm'" in wrong_key.reason


@pytest.mark.parametrize(
    ("key", "partitions", "home"),
    # The Java client's default partitioner: murmur2 of the key, made positive, modulo partitions.
    [
        (b"web", 8, 4),
        (b"web", 4, 0),
        (b"src-1", 8, 3),
        (b"foo", 8, 0),
        (b"\xff\x00", 8, 7),
        (b"a" * 100, 4, 2),
    ],
)
def test_home_partition_is_the_java_clients(key: bytes, partitions: int, home: int) -> None:
    from aiokafka.partitioner import DefaultPartitioner

    from streamalert.ingest.validation import home_partition

    assert home_partition(key, partitions) == home
    everything = list(range(partitions))
    assert DefaultPartitioner()(key, everything, everything) == home


@pytest.mark.parametrize(
    ("key", "partition", "reason"),
    [
        (b"web", 4, None),
        (None, 1, None),  # unkeyed records are dead-lettered for their missing key instead
        (b"web", 5, "key belongs to partition 4, not 5: partition records with the Java client's default"),
    ],
)
def test_records_on_another_partition_than_their_keys_are_misrouted(
    key: bytes | None, partition: int, reason: str | None
) -> None:
    from streamalert.ingest.validation import misrouted

    found = misrouted(key, Position("p.pipeline-events", partition, 9), 8)
    if reason is None:
        assert found is None
    else:
        assert found is not None and found.startswith(reason)
        assert "partitioner=murmur2_random" in found
