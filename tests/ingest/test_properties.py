"""Whatever a record holds, parsing ends in a record or a bounded dead letter, and the published
JSON Schemas accept exactly what the validator accepts (property-based, with hypothesis)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from streamalert.ingest.validation import (
    Position,
    delivery_result_adapter,
    parse_delivery_result,
    parse_pipeline_event,
)
from streamalert.records import DeadLetter, pipeline_event_adapter
from streamalert.records.common import MAX_SAFE_INTEGER
from streamalert.records.schemas import render

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
POSITION = Position("streamalert.pipeline-events", 3, 1234)
DEAD_LETTER_LIMIT = 64 * 1024

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.none() | st.binary(max_size=300), value=st.none() | st.binary(max_size=20_000))
def test_any_bytes_end_in_a_record_or_a_bounded_dead_letter(key: bytes | None, value: bytes | None) -> None:
    for parse in (parse_pipeline_event, parse_delivery_result):
        result = parse(key, value, POSITION, NOW)
        if isinstance(result, DeadLetter):
            assert len(orjson.dumps(result.model_dump(mode="json"))) < DEAD_LETTER_LIMIT


@settings(max_examples=300)
@given(key=st.text(max_size=20).map(str.encode), document=json_values)
def test_any_json_ends_in_a_record_or_a_dead_letter(key: bytes, document: Any) -> None:
    value = json.dumps(document).encode()  # the standard library writes integers of any size
    for parse in (parse_pipeline_event, parse_delivery_result):
        result = parse(key, value, POSITION, NOW)
        assert isinstance(result, DeadLetter) or result.timestamp is not None


@settings(max_examples=50, suppress_health_check=[HealthCheck.too_slow])
@given(size=st.integers(min_value=8_000, max_value=1_100_000), byte=st.integers(min_value=0, max_value=255))
def test_huge_values_make_small_dead_letters(size: int, byte: int) -> None:
    value = bytes([byte]) * size
    result = parse_pipeline_event(b"k" * size, value, POSITION, NOW)
    assert isinstance(result, DeadLetter)
    assert len(orjson.dumps(result.model_dump(mode="json"))) < DEAD_LETTER_LIMIT
    assert result.raw_size == size
    assert result.raw_truncated == (size > 8 * 1024)


# Field values near every edge the validator and the schema draw: integers around 0 and the
# largest exact JSON integer, whole and fractional floats, numbers as strings, booleans, nulls.
edge_numbers = st.sampled_from(
    [
        0,
        1,
        -1,
        5,
        MAX_SAFE_INTEGER,
        MAX_SAFE_INTEGER + 1,
        2**63,
        2**64,
        5.0,
        5.5,
        0.0,
        -0.0,
        1e300,
        "5",
        True,
        None,
    ]
)
# Ids: valid ones, an empty one, too long, a forbidden character. (No trailing newline: Python's
# `re`, which the jsonschema package uses, lets `$` match before one, unlike JSON Schema itself.)
ids = st.sampled_from(["web", "a.b:c@d-e_f", "", "x" * 128, "x" * 129, "has|pipe", "-lead", 7, None])
timestamps = st.sampled_from(
    ["2026-11-28T09:00:00Z", "2026-11-28T09:00:00+01:00", 1795858200000, 1795858200000.0, 1.5, True, None]
)


def optional(name: str, values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(st.just({}), values.map(lambda value: {name: value}))


def records(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    parts = [optional(name, values) for name, values in fields.items()]
    return st.tuples(*parts).map(lambda dicts: {k: v for d in dicts for k, v in d.items()})


pipeline_events = records(
    {
        "type": st.sampled_from(["source_events", "audience_size", "clicks", None]),
        "workspace_id": ids,
        "source_id": ids,
        "audience_id": ids,
        "destination_id": ids,
        "timestamp": timestamps,
        "count": edge_numbers,
        "size": edge_numbers,
    }
)
delivery_results = records(
    {
        "workspace_id": ids,
        "kind": st.sampled_from(["destination", "mapping", "activation", "other"]),
        "source_id": ids,
        "destination_id": ids,
        "mapping_id": ids,
        "audience_id": ids,
        "timestamp": timestamps,
        "delivered": edge_numbers,
        "failed": edge_numbers,
    }
)
PIPELINE_SCHEMA = Draft202012Validator(orjson.loads(render("pipeline-event")))
DELIVERY_SCHEMA = Draft202012Validator(orjson.loads(render("delivery-result")))


def accepted(adapter: Any, record: dict[str, Any]) -> bool:
    try:
        adapter.validate_python(record)
    except ValidationError:
        return False
    return True


@settings(max_examples=2000)
@given(record=pipeline_events)
def test_the_pipeline_event_schema_accepts_what_the_validator_accepts(record: dict[str, Any]) -> None:
    # Timestamps are always well formed here: the schema's date-time format is not asserted.
    assert PIPELINE_SCHEMA.is_valid(record) == accepted(pipeline_event_adapter, record), record


@settings(max_examples=2000)
@given(record=delivery_results)
def test_the_delivery_result_schema_accepts_what_the_validator_accepts(record: dict[str, Any]) -> None:
    assert DELIVERY_SCHEMA.is_valid(record) == accepted(delivery_result_adapter, record), record
