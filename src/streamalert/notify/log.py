"""The delivery log: every attempt on `deliveries`, read back by every worker.

It answers "was this event already delivered to this channel?" after a restart or a
rebalance (SPEC §4: a delivery already made is not repeated), and feeds the alert's
history. A final record is written before the alert-fired event is acknowledged.
"""

from __future__ import annotations

import logging
from collections import defaultdict, deque
from collections.abc import Mapping
from typing import Any

import orjson
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from streamalert.records.outputs import DeliveryAttempt, MaskedTarget
from streamalert.topic_view import TopicView

log = logging.getLogger(__name__)

HISTORY_PER_ALERT = 100


def delivery_key(event_id: str, channel: MaskedTarget) -> tuple[str, str, str]:
    return (event_id, channel.type, channel.target)


class DeliveryLog(TopicView):
    def __init__(self, kafka: Mapping[str, Any], topic: str) -> None:
        super().__init__(kafka, topic, client_id="streamalert-deliveries", writable=True)
        self._final: set[tuple[str, str, str]] = set()
        self._by_alert: dict[str, deque[DeliveryAttempt]] = defaultdict(
            lambda: deque(maxlen=HISTORY_PER_ALERT)
        )

    def is_final(self, event_id: str, channel: MaskedTarget) -> bool:
        """True when this event's delivery to this channel ended, delivered or failed."""
        return delivery_key(event_id, channel) in self._final

    def for_alert(self, alert_id: str) -> list[DeliveryAttempt]:
        """The alert's most recent attempts, newest first."""
        return list(reversed(self._by_alert.get(alert_id, ())))

    async def record(self, attempt: DeliveryAttempt) -> None:
        await self.write(attempt.alert_id.encode(), orjson.dumps(attempt.model_dump(mode="json")))

    def apply(self, record: ConsumerRecord[bytes, bytes]) -> None:
        if record.value is None:
            return
        try:
            attempt = DeliveryAttempt.model_validate_json(record.value)
        except ValidationError:
            log.warning("%s[%d]@%d is not a delivery attempt", self.topic, record.partition, record.offset)
            return
        self._by_alert[attempt.alert_id].append(attempt)
        if attempt.outcome != "retrying":
            self._final.add(delivery_key(attempt.event_id, attempt.channel))
