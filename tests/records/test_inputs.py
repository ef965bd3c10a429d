from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from streamalert.records import AudienceSize, DeliveryResult, SourceEvents, pipeline_event_adapter

NOW = "2026-11-28T09:00:00Z"


def test_source_events_count_defaults_to_one() -> None:
    record = pipeline_event_adapter.validate_python(
        {"type": "source_events", "workspace_id": "w", "source_id": "s", "timestamp": NOW}
    )
    assert isinstance(record, SourceEvents)
    assert record.count == 1
    assert record.subject_key == "s"
    assert record.timestamp == datetime(2026, 11, 28, 9, tzinfo=UTC)


def test_audience_size_is_keyed_by_audience() -> None:
    record = pipeline_event_adapter.validate_python(
        {"type": "audience_size", "workspace_id": "w", "audience_id": "a", "timestamp": NOW, "size": 0}
    )
    assert isinstance(record, AudienceSize)
    assert (record.subject_key, record.size, record.destination_id) == ("a", 0, None)


@pytest.mark.parametrize(
    "change",
    [
        {"type": "page_views"},
        {"count": 0},
        {"count": -3},
        {"count": "5"},
        {"count": 2.5},
        {"count": True},
        {"source_id": ""},
        {"source_id": "has space"},
        {"workspace_id": None},
        {"timestamp": "tomorrow"},
    ],
)
def test_source_events_reject_bad_fields(change: dict[str, object]) -> None:
    data = {"type": "source_events", "workspace_id": "w", "source_id": "s", "timestamp": NOW} | change
    with pytest.raises(ValidationError):
        pipeline_event_adapter.validate_python(data)


def test_negative_audience_size_is_rejected() -> None:
    with pytest.raises(ValidationError, match="size"):
        pipeline_event_adapter.validate_python(
            {"type": "audience_size", "workspace_id": "w", "audience_id": "a", "timestamp": NOW, "size": -1}
        )


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"kind": "destination", "destination_id": "d", "source_id": "s"}, "d"),
        ({"kind": "mapping", "destination_id": "d", "mapping_id": "m"}, "m"),
        ({"kind": "activation", "destination_id": "d", "audience_id": "a"}, "a"),
    ],
)
def test_delivery_results_are_keyed_by_their_kind(data: dict[str, str], key: str) -> None:
    record = DeliveryResult.model_validate(
        {"workspace_id": "w", "timestamp": NOW, "delivered": 3, "failed": 1} | data
    )
    assert record.subject_key == key


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"delivered": 0, "failed": 0}, "both 0"),
        ({"kind": "mapping"}, "mapping_id is required"),
        ({"kind": "activation"}, "audience_id is required"),
        ({"failed": -1}, "failed"),
        ({"kind": "webhook"}, "kind"),
        ({"destination_id": None}, "destination_id"),
    ],
)
def test_delivery_results_reject_bad_fields(change: dict[str, object], message: str) -> None:
    data = {
        "workspace_id": "w",
        "kind": "destination",
        "destination_id": "d",
        "timestamp": NOW,
        "delivered": 1,
        "failed": 0,
    } | change
    with pytest.raises(ValidationError, match=message):
        DeliveryResult.model_validate(data)
