"""Turning raw input records into typed ones, or into a dead letter with the reason. Pure."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeVar

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError

from streamalert.counting.windows import accepted_time_range
from streamalert.records import DeadLetter, DeliveryResult, pipeline_event_adapter
from streamalert.records.inputs import AudienceSize, SourceEvents

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


def _parse(
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
        shown = "missing" if key_text is None else repr(key_text)
        return reject(f"key {shown} does not match the record's subject id {subject!r}")
    oldest, newest = accepted_time_range(now)
    timestamp: datetime = record.timestamp  # type: ignore[attr-defined]
    if timestamp < oldest:
        return reject(
            f"timestamp {timestamp.isoformat()} is older than the baseline window start {oldest.isoformat()}"
        )
    if timestamp > newest:
        return reject(f"timestamp {timestamp.isoformat()} is more than 5 minutes in the future")
    return record


def describe_errors(error: ValidationError) -> str:
    """`field: message; field: message` with discriminator noise (`source_events.`) left out."""
    parts = []
    for item in error.errors(include_url=False):
        location = [str(p) for p in item["loc"]]
        if location and location[0] in ("source_events", "audience_size"):
            location = location[1:]
        where = ".".join(location) or "record"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def dead_letter(key: bytes | None, value: bytes | None, position: Position, reason: str) -> DeadLetter:
    raw: str | None
    encoding: Literal["utf-8", "base64"] = "utf-8"
    if value is None:
        raw = None
    else:
        try:
            raw = value.decode("utf-8")
        except UnicodeDecodeError:
            raw, encoding = base64.b64encode(value).decode("ascii"), "base64"
    return DeadLetter(
        topic=position.topic,
        partition=position.partition,
        offset=position.offset,
        reason=reason,
        raw=raw,
        raw_encoding=encoding,
        key=key.decode("utf-8", "replace") if key is not None else None,
    )
