"""The published JSON Schemas match the models, and records validate against them."""

from pathlib import Path

import orjson
import pytest
from jsonschema import Draft202012Validator

from streamalert.records.schemas import RECORD_TYPES, json_schema, render

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


@pytest.mark.parametrize("name", sorted(RECORD_TYPES))
def test_committed_schema_matches_the_model(name: str) -> None:
    committed = SCHEMAS / f"{name}.schema.json"
    assert committed.exists(), f"{committed} is missing: run `make schemas`"
    assert committed.read_bytes() == render(name), f"{committed} drifted from the model: run `make schemas`"


@pytest.mark.parametrize("name", sorted(RECORD_TYPES))
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    Draft202012Validator.check_schema(json_schema(name))


def test_pipeline_event_schema_accepts_both_timestamp_forms_and_rejects_unknown_types() -> None:
    validator = Draft202012Validator(orjson.loads(render("pipeline-event")))
    base = {"type": "source_events", "workspace_id": "w", "source_id": "s"}
    assert validator.is_valid(base | {"timestamp": "2026-11-28T09:00:00Z"})
    assert validator.is_valid(base | {"timestamp": 1795858200000, "count": 5})
    assert not validator.is_valid(base | {"timestamp": 1795858200000, "count": 0})
    assert not validator.is_valid(base | {"type": "clicks", "timestamp": 1795858200000})
