"""alert-fired events of v1, still on the topic after an upgrade, are read as what they meant."""

from __future__ import annotations

import orjson
import pytest
from pydantic import ValidationError

from streamalert.records.outputs import ALERT_FIRED_SCHEMA, AlertFired

V1_EVENT = {
    "schema": "streamalert.alert-fired/v1",
    "event_id": "a1:1:firing",
    "alert_id": "a1",
    "workspace_id": "ws",
    "kind": "source_volume",
    "name": "checkout volume",
    "state": "firing",
    "incident": 1,
    "threshold_pct": "20",
    "subject": {"source_id": "web"},
    "window": {"start": "2026-11-27T10:00:00Z", "end": "2026-11-28T10:00:00Z"},
    "baseline_window": {"start": "2026-11-26T10:00:00Z", "end": "2026-11-27T10:00:00Z"},
    "observed": {"current": 50, "baseline": 100, "change_pct": "-50.00"},
    "occurred_at": "2026-11-28T10:00:01Z",
    "summary": "checkout volume: events fell 50.00%",
}


def v1_bytes() -> bytes:
    return orjson.dumps(V1_EVENT)


def test_a_v1_event_reads_as_an_unmuted_v2_event() -> None:
    event = AlertFired.model_validate_json(v1_bytes())
    assert event.schema_ == ALERT_FIRED_SCHEMA
    assert event.muted is False
    assert event.baseline == "previous_day"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"[]",
        b'{"schema": "streamalert.alert-fired/v9"}',
        v1_bytes().replace(b'"state":"firing"', b'"state":"exploded"'),
    ],
)
def test_anything_else_is_refused(raw: bytes) -> None:
    with pytest.raises((ValidationError, orjson.JSONDecodeError)):
        AlertFired.model_validate_json(raw)
