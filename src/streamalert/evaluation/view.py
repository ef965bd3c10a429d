"""Every worker's view of alert states, read from the `alert_states` table's changelog.

States are written by whichever worker owns an alert's partition; the API on any worker
answers from this view (Faust's table routing would forward requests instead).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from aiokafka.structs import ConsumerRecord

from streamalert.evaluation.state import AlertState
from streamalert.records.alerts import AlertConfig
from streamalert.topic_view import TopicView

log = logging.getLogger(__name__)


class AlertStateView(TopicView):
    def __init__(self, kafka: Mapping[str, Any], changelog_topic: str) -> None:
        super().__init__(kafka, changelog_topic, client_id="streamalert-alert-states")
        self._states: dict[str, AlertState] = {}

    def get(self, alert_id: str) -> AlertState | None:
        return self._states.get(alert_id)

    def of(self, alert: AlertConfig) -> AlertState | None:
        """The alert's state; None while the id's state is still a deleted alert's (a keyed alert
        created again has the same id, and its first evaluation starts afresh)."""
        state = self._states.get(alert.id)
        if state is not None and state.alert_created_at not in (None, alert.created_at):
            return None
        return state

    def apply(self, record: ConsumerRecord[bytes, bytes]) -> None:
        if record.key is None:
            return
        alert_id = record.key.decode("utf-8", "replace")
        if record.value is None:
            self._states.pop(alert_id, None)
        else:
            self._states[alert_id] = AlertState.from_bytes(record.value)
