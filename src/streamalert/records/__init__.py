"""Every record streamalert reads or writes, as pydantic models (docs/design.md#topics)."""

from streamalert.kinds import AlertKind
from streamalert.records.alerts import AlertConfig, Channel
from streamalert.records.inputs import AudienceSize, DeliveryResult, SourceEvents, pipeline_event_adapter
from streamalert.records.outputs import AlertFired, DeadLetter, DeliveryAttempt

__all__ = [
    "AlertConfig",
    "AlertFired",
    "AlertKind",
    "AudienceSize",
    "Channel",
    "DeadLetter",
    "DeliveryAttempt",
    "DeliveryResult",
    "SourceEvents",
    "pipeline_event_adapter",
]
