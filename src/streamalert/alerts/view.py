"""Every worker's complete, live view of `alert-configs`, and the writes to it.

A write returns only once this worker's view has applied it, and reads call `sync()`
first, so a write is visible to the next read on any worker.

Compare-and-set across workers. Two workers may both read version n of an alert and both
write version n + 1. The topic is the system of record and orders them; every worker applies
its records in that order with one deterministic rule (`decide`): a record for an alert the
view already holds is applied only when its version is exactly the stored version + 1. A
record that is not is a lost race and is ignored, by every worker alike; a record identical
to the stored one (a re-publish, below) changes nothing. The writer waits until the view has
applied its own record and answers 409 when that record lost.

Compaction keeps only the latest record per key, which may be the loser: a worker rebuilding
from an empty disk would then start from the loser. So the latest record of a key must always
be an accepted one. The losing writer re-publishes the winner's record (identical content, a
no-op when applied) before it answers, and every worker re-publishes an alert whose latest
record lost and was not followed by another within `REPUBLISH_AFTER` seconds (the losing
writer died). `min.compaction.lag.ms` on the topic (topics.py) keeps records from being
compacted for an hour, long enough for the re-publish, so a rebuild always starts from an
accepted record and reaches the same state. A record for an alert the view does not hold is
applied whatever its version (after compaction a key may start at any version); an edit that
loses a race with a delete therefore brings the alert back, on every worker alike.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Literal

import orjson
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from streamalert.alerts.editing import VersionConflict
from streamalert.records.alerts import AlertConfig
from streamalert.topic_view import TopicView

log = logging.getLogger(__name__)

Decision = Literal["apply", "same", "lost"]
REPUBLISH_AFTER = 3.0
LOST_REMEMBERED = 10_000
"""How many lost records' offsets are kept for their writers to look up (a bound on memory)."""


def decide(stored: AlertConfig | None, incoming: AlertConfig) -> Decision:
    """What a configuration record does to the view that holds `stored` for its key."""
    if stored is None or incoming.version == stored.version + 1:
        return "apply"
    if incoming == stored:
        return "same"
    return "lost"


class ConfigView(TopicView):
    def __init__(self, kafka: Mapping[str, Any], topic: str) -> None:
        super().__init__(kafka, topic, client_id="streamalert-configs", writable=True)
        self._alerts: dict[str, AlertConfig] = {}
        self._lost: OrderedDict[tuple[int, int], None] = OrderedDict()
        self._latest_lost: dict[str, float] = {}  # alert id → since when its latest record lost

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
        """Write a configuration and return it once this view has applied it.

        Raises VersionConflict when another write of the same version came first.
        """
        written = await self.write(alert.id.encode(), orjson.dumps(alert.model_dump(mode="json")))
        stored = self._alerts.get(alert.id)
        if written in self._lost:
            await self._republish(alert.id)
            at = f"version {stored.version}" if stored is not None else "deleted"
            raise VersionConflict(
                f"another edit of version {alert.version - 1} came first; the alert is {at}"
            )
        assert stored is not None and stored.version >= alert.version
        return stored

    async def delete(self, alert_id: str) -> None:
        await self.write(alert_id.encode(), None)

    # --- following the topic -------------------------------------------------------

    def on_loaded(self) -> None:
        log.info("alert configurations loaded: %d alerts", len(self._alerts))

    async def on_start(self) -> None:
        await super().on_start()
        self.add_future(self._repair())

    async def _republish(self, alert_id: str) -> None:
        """Write the accepted record of `alert_id` again, so that it is the latest one."""
        alert = self._alerts.get(alert_id)
        if alert is not None and alert_id in self._latest_lost:
            log.info("re-publishing alert %s after an edit that lost a race", alert_id)
            # The same content as the accepted record: every view takes it as "same".
            await self.write(alert_id.encode(), orjson.dumps(alert.model_dump(mode="json")))

    async def _repair(self) -> None:
        """Re-publish for a losing writer that did not (it died, or is slow)."""
        await self.wait_loaded()
        while not self.should_stop:
            await asyncio.sleep(1.0)
            now = time.monotonic()
            for alert_id in [a for a, since in self._latest_lost.items() if now - since > REPUBLISH_AFTER]:
                try:
                    await self._republish(alert_id)
                except Exception as error:
                    log.warning("could not re-publish alert %s (%s); trying again", alert_id, error)

    def apply(self, record: ConsumerRecord[bytes, bytes]) -> None:
        if record.key is None:
            log.error("%s[%d]@%d has no key; ignored", self.topic, record.partition, record.offset)
            return
        alert_id = record.key.decode("utf-8", "replace")
        if record.value is None:
            self._alerts.pop(alert_id, None)
            self._latest_lost.pop(alert_id, None)
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
        decision = decide(self._alerts.get(alert_id), alert)
        if decision == "lost":
            log.info(
                "alert %s version %d at %s[%d]@%d lost a race with a concurrent edit; ignored",
                alert_id,
                alert.version,
                self.topic,
                record.partition,
                record.offset,
            )
            self._lost[(record.partition, record.offset)] = None
            while len(self._lost) > LOST_REMEMBERED:
                self._lost.popitem(last=False)
            self._latest_lost.setdefault(alert_id, time.monotonic())
            return
        self._latest_lost.pop(alert_id, None)
        if decision == "apply":
            self._alerts[alert_id] = alert
