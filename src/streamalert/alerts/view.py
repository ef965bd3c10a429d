"""Every worker's complete, live view of `alert-configs`, and the writes to it.

A write returns only once this worker's view has applied it, and reads call `sync()`
first, so a write is visible to the next read on any worker (SPEC §5.1).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from streamalert.records.alerts import AlertConfig
from streamalert.topic_view import TopicView

log = logging.getLogger(__name__)


class ConfigView(TopicView):
    def __init__(self, kafka: Mapping[str, Any], topic: str) -> None:
        super().__init__(kafka, topic, client_id="streamalert-configs", writable=True)
        self._alerts: dict[str, AlertConfig] = {}

    # --- reading -------------------------------------------------------------------

    def get(self, alert_id: str) -> AlertConfig | None:
        return self._alerts.get(alert_id)

    def in_workspace(self, workspace_id: str) -> list[AlertConfig]:
        alerts = [alert for alert in self._alerts.values() if alert.workspace_id == workspace_id]
        return sorted(alerts, key=lambda alert: (alert.created_at, alert.id))

    def all(self) -> list[AlertConfig]:
        return list(self._alerts.values())

    # --- writing -------------------------------------------------------------------

    async def put(self, alert: AlertConfig) -> AlertConfig:
        """Write a configuration and return it once this view has applied it."""
        await self.write(alert.id.encode(), orjson.dumps(alert.model_dump(mode="json")))
        stored = self._alerts.get(alert.id)
        assert stored is not None and stored.version >= alert.version
        return stored

    async def delete(self, alert_id: str) -> None:
        await self.write(alert_id.encode(), None)

    # --- following the topic -------------------------------------------------------

    def on_loaded(self) -> None:
        log.info("alert configurations loaded: %d alerts", len(self._alerts))

    def apply(self, record: ConsumerRecord[bytes, bytes]) -> None:
        if record.key is None:
            log.error("%s[%d]@%d has no key; ignored", self.topic, record.partition, record.offset)
            return
        alert_id = record.key.decode("utf-8", "replace")
        if record.value is None:
            self._alerts.pop(alert_id, None)
            return
        try:
            alert = AlertConfig.model_validate(orjson.loads(record.value))
        except orjson.JSONDecodeError:
            log.error("%s[%d]@%d is not JSON; ignored", self.topic, record.partition, record.offset)
            return
        except ValidationError as error:
            # Only the API writes this topic; a bad record is a bug or a foreign writer.
            # The fields are named, the values not: they may hold secrets.
            fields = sorted({".".join(map(str, e["loc"])) for e in error.errors(include_input=False)})
            log.error(
                "%s[%d]@%d is not a valid alert; ignored (fields: %s)",
                self.topic,
                record.partition,
                record.offset,
                fields,
            )
            return
        self._alerts[alert_id] = alert
