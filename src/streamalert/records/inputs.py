"""The records producers publish (README: a producer's guide): pipeline events and delivery results."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, model_validator

from streamalert.kinds import BY_INPUT
from streamalert.records.common import Count, Id, PositiveCount, Record, Timestamp


class SourceEvents(Record):
    """Events received by a source: one record per event, or a pre-aggregated count."""

    type: Literal["source_events"]
    workspace_id: Id
    source_id: Id
    timestamp: Timestamp
    count: PositiveCount = 1

    @property
    def input(self) -> str:
        return self.type

    @property
    def subject_key(self) -> str:
        return BY_INPUT[self.input][0].record_key(self)


class AudienceSize(Record):
    """A gauge: the audience's size at `timestamp`, optionally as synced to one destination."""

    type: Literal["audience_size"]
    workspace_id: Id
    audience_id: Id
    destination_id: Id | None = None
    timestamp: Timestamp
    size: Count

    @property
    def input(self) -> str:
        return self.type

    @property
    def subject_key(self) -> str:
        return BY_INPUT[self.input][0].record_key(self)


PipelineEvent = Annotated[SourceEvents | AudienceSize, Field(discriminator="type")]
pipeline_event_adapter: TypeAdapter[SourceEvents | AudienceSize] = TypeAdapter(PipelineEvent)


_DELIVERY_RULES: dict[str, Any] = {
    # The rules of `_check`, so that the published schema and the validator agree.
    "allOf": [
        {
            "if": {"properties": {"kind": {"const": kind}}},
            "then": {"required": [field], "properties": {field: {"type": "string"}}},
        }
        for kind, field in (("mapping", "mapping_id"), ("activation", "audience_id"))
    ],
    "not": {"properties": {"delivered": {"const": 0}, "failed": {"const": 0}}},
}


class DeliveryResult(Record):
    """Outcomes of deliveries to a destination, through a reverse-ETL mapping, or of an audience.

    At least one of `delivered` and `failed` is above 0; kind `mapping` needs `mapping_id` and
    kind `activation` needs `audience_id`."""

    model_config = Record.model_config | {"json_schema_extra": _DELIVERY_RULES}

    workspace_id: Id
    kind: Literal["destination", "mapping", "activation"]
    source_id: Id | None = None
    destination_id: Id
    mapping_id: Id | None = None
    audience_id: Id | None = None
    timestamp: Timestamp
    delivered: Count
    failed: Count

    @model_validator(mode="after")
    def _check(self) -> DeliveryResult:
        if self.delivered == 0 and self.failed == 0:
            raise ValueError("delivered and failed are both 0")
        if self.kind == "mapping" and self.mapping_id is None:
            raise ValueError("mapping_id is required when kind is mapping")
        if self.kind == "activation" and self.audience_id is None:
            raise ValueError("audience_id is required when kind is activation")
        return self

    @property
    def input(self) -> str:
        return f"delivery:{self.kind}"

    @property
    def subject_key(self) -> str:
        return BY_INPUT[self.input][0].record_key(self)
