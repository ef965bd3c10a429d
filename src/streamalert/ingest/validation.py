"""Turning raw input records into typed ones, or into a dead letter with the reason. Pure."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Literal, TypeVar

import orjson
from aiokafka.partitioner import murmur2
from pydantic import BaseModel, TypeAdapter, ValidationError

from streamalert.counting.windows import accepted_time_range
from streamalert.records import DeadLetter, DeliveryResult, pipeline_event_adapter
from streamalert.records.inputs import AudienceSize, SourceEvents
from streamalert.text import clip

PipelineRecord = SourceEvents | AudienceSize
InputRecord = PipelineRecord | DeliveryResult

T = TypeVar("T", bound=BaseModel)

delivery_result_adapter: TypeAdapter[DeliveryResult] = TypeAdapter(DeliveryResult)


@dataclass(frozen=True)
class Position:
    """Where a record was read from, so a dead letter can point back at it."""

    topic: str
    partition: int
    offset: int


def parse_pipeline_event(
    key: bytes | None, value: bytes | None, position: Position, now: datetime
) -> PipelineRecord | DeadLetter:
    return _parse(pipeline_event_adapter, key, value, position, now)


def parse_delivery_result(
    key: bytes | None, value: bytes | None, position: Position, now: datetime
) -> DeliveryResult | DeadLetter:
    return _parse(delivery_result_adapter, key, value, position, now)


MAX_RAW_BYTES = 8 * 1024
"""A dead letter keeps this much of a value; larger values are noted by size and hash instead."""
MAX_KEY_CHARS = 256
MAX_REASON_CHARS = 1000


def _parse(
    adapter: TypeAdapter[T], key: bytes | None, value: bytes | None, position: Position, now: datetime
) -> T | DeadLetter:
    try:
        return _validate(adapter, key, value, position, now)
    except Exception as error:  # whatever a record holds, it is counted or dead-lettered
        return dead_letter(key, value, position, f"could not be read: {type(error).__name__}")


def _validate(
    adapter: TypeAdapter[T], key: bytes | None, value: bytes | None, position: Position, now: datetime
) -> T | DeadLetter:
    def reject(reason: str) -> DeadLetter:
        return dead_letter(key, value, position, reason)

    if value is None:
        return reject("empty value (tombstone) on an input topic")
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError as error:
        return reject(f"not UTF-8 JSON: {error}")
    if not isinstance(data, dict):
        return reject(f"expected a JSON object, got {type(data).__name__}")
    try:
        record = adapter.validate_python(data)
    except ValidationError as error:
        return reject(describe_errors(error))
    subject = record.subject_key  # type: ignore[attr-defined]
    key_text = key.decode("utf-8", "replace") if key is not None else None
    if key_text != subject:
        shown = "missing" if key_text is None else repr(clip(key_text, 80))
        return reject(f"key {shown} does not match the record's subject id {subject!r}")
    oldest, newest = accepted_time_range(now)
    timestamp: datetime = record.timestamp  # type: ignore[attr-defined]
    if timestamp < oldest:
        return reject(
            f"timestamp {timestamp.isoformat()} is older than the retention start {oldest.isoformat()} "
            "(15 days before the current hour)"
        )
    if timestamp > newest:
        return reject(f"timestamp {timestamp.isoformat()} is more than 5 minutes in the future")
    return record


MISROUTED_FIX = (
    "partition records with the Java client's default (murmur2) partitioner, "
    "e.g. partitioner=murmur2_random in librdkafka clients (kcat, confluent-kafka, Go, .NET)"
)


@lru_cache(maxsize=65_536)  # per record, on keys that repeat; murmur2 in Python costs ~2 µs
def home_partition(key: bytes, partitions: int) -> int:
    """The partition the Java client's default partitioner gives `key` (also aiokafka's and Faust's):
    where the subject's counts live."""
    hashed: int = murmur2(key)  # aiokafka's partitioner is untyped
    return (hashed & 0x7FFFFFFF) % partitions


def misrouted(key: bytes | None, position: Position, partitions: int) -> str | None:
    """The reason a keyed record read at `position` cannot be counted there, or None.

    A subject's hourly state lives with its partition, and replays are skipped by offset within
    that partition, so a record of the subject on any other partition would be counted by the
    wrong table partition or skipped. It is dead-lettered instead, naming the fix."""
    if key is None:
        return None
    home = home_partition(key, partitions)
    if home == position.partition:
        return None
    return f"key belongs to partition {home}, not {position.partition}: {MISROUTED_FIX}"


def describe_errors(error: ValidationError) -> str:
    """`field: message; field: message` with discriminator noise (`source_events.`) left out."""
    parts = []
    for item in error.errors(include_url=False, include_input=False):
        location = [str(p) for p in item["loc"]]
        if location and location[0] in ("source_events", "audience_size"):
            location = location[1:]
        where = ".".join(location) or "record"
        parts.append(f"{clip(where, 100)}: {clip(item['msg'], 200)}")
    return "; ".join(parts)


def dead_letter(key: bytes | None, value: bytes | None, position: Position, reason: str) -> DeadLetter:
    """The dead letter of a record, bounded in size whatever the record held: a value larger than
    MAX_RAW_BYTES is kept by its first bytes, its size and its SHA-256."""
    raw: str | None = None
    encoding: Literal["utf-8", "base64"] = "utf-8"
    truncated = value is not None and len(value) > MAX_RAW_BYTES
    if value is not None:
        kept = value[:MAX_RAW_BYTES]
        raw = _as_text(kept, cut_short=truncated)
        if raw is None:
            raw, encoding = base64.b64encode(kept).decode("ascii"), "base64"
    return DeadLetter(
        topic=position.topic,
        partition=position.partition,
        offset=position.offset,
        reason=clip(reason, MAX_REASON_CHARS),
        raw=raw,
        raw_encoding=encoding,
        raw_truncated=truncated,
        raw_size=len(value) if value is not None else None,
        raw_sha256=hashlib.sha256(value).hexdigest() if truncated and value is not None else None,
        key=clip(key.decode("utf-8", "replace"), MAX_KEY_CHARS) if key is not None else None,
    )


def _as_text(data: bytes, *, cut_short: bool) -> str | None:
    """`data` as UTF-8 text, None if it is not; a value cut short may end in a partial character."""
    for drop in range(4 if cut_short else 1):
        try:
            return data[: len(data) - drop].decode("utf-8")
        except UnicodeDecodeError:
            continue
    return None
