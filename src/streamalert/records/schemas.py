"""JSON Schemas of every record type, published under `schemas/` and checked by a test."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, TypeAdapter

from streamalert.records.alerts import AlertConfig
from streamalert.records.inputs import DeliveryResult, pipeline_event_adapter
from streamalert.records.outputs import AlertFired, DeadLetter, DeliveryAttempt

Mode = Literal["validation", "serialization"]

# name → (type, mode): inputs are described as accepted, outputs as written.
RECORD_TYPES: dict[str, tuple[type[BaseModel] | TypeAdapter[Any], Mode]] = {
    "pipeline-event": (pipeline_event_adapter, "validation"),
    "delivery-result": (DeliveryResult, "validation"),
    "alert-config": (AlertConfig, "serialization"),
    "alert-fired": (AlertFired, "serialization"),
    "delivery-attempt": (DeliveryAttempt, "serialization"),
    "dead-letter": (DeadLetter, "serialization"),
}


def json_schema(name: str) -> dict[str, Any]:
    target, mode = RECORD_TYPES[name]
    schema = (
        target.json_schema(mode=mode)
        if isinstance(target, TypeAdapter)
        else target.model_json_schema(mode=mode, by_alias=True)
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://streamalert.dev/schemas/{name}.json",
        **schema,
    }


def render(name: str) -> bytes:
    return orjson.dumps(json_schema(name), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def write_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in RECORD_TYPES:
        path = folder / f"{name}.schema.json"
        path.write_bytes(render(name))
        written.append(path)
    return written
