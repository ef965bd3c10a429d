"""The delivery log: every attempt on `deliveries`, read back by every worker.

It answers "was this event already delivered to this channel?" after a restart or a
rebalance (a delivery already made is not repeated), and feeds the alert's history. A final
record is written before the alert-fired event is acknowledged.

Memory is bounded (`FinalKeys`): the final (event, channel) pairs are remembered for
FINAL_HORIZON (the `deliveries` topic's retention: older ones are gone from it anyway) and at
most FINAL_LIMIT of them, oldest forgotten first. The log knows the newest time it forgot, and
`forgets(occurred_at)` tells the notifier that it can no longer answer for an event that old:
the notifier then does not deliver it (see docs/operations.md, "Bounded memory"). Every final
attempt of an event is made after the event occurred, so for any newer event nothing of it
was forgotten, and "already delivered" stays exact. The pairs that ended delivered are kept
apart as well, with the same bounds: a muted resolve goes only to the channels that received
its firing (docs/design.md#muting).
"""

from __future__ import annotations

import logging
from collections import OrderedDict, defaultdict, deque
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import orjson
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from streamalert.records.outputs import DeliveryAttempt, MaskedTarget
from streamalert.topic_view import TopicView

log = logging.getLogger(__name__)

HISTORY_PER_ALERT = 100
FINAL_LIMIT = 100_000
"""Final (event, channel) pairs remembered at most (about 0.5 KB each as Python objects)."""
FINAL_HORIZON = timedelta(days=7)
"""How long a final pair is remembered: the retention of `deliveries` (and `alert-fired`)."""
CLOCK_SKEW = timedelta(minutes=5)
"""Margin for workers' clocks: an attempt's time comes from one worker, the event's from another."""

Key = tuple[str, str, str]


def delivery_key(event_id: str, channel: MaskedTarget) -> Key:
    return (event_id, channel.type, channel.target)


class FinalKeys:
    """The (event, channel) deliveries that ended, bounded in number and in age."""

    def __init__(self, limit: int = FINAL_LIMIT, horizon: timedelta = FINAL_HORIZON) -> None:
        self.limit = limit
        self.horizon = horizon
        self._at: OrderedDict[Key, datetime] = OrderedDict()
        self.forgotten_until: datetime | None = None
        """The newest attempt time among the pairs forgotten so far."""

    def __len__(self) -> int:
        return len(self._at)

    def __contains__(self, key: object) -> bool:
        return key in self._at

    def add(self, key: Key, at: datetime) -> None:
        """Remember `key`, final at `at`; the attempts' own times are the clock for expiry."""
        if key in self._at:
            at = max(at, self._at.pop(key))
        self._at[key] = at
        cutoff = at - self.horizon
        while self._at:
            oldest_key, oldest_at = next(iter(self._at.items()))
            if len(self._at) <= self.limit and oldest_at >= cutoff:
                break
            del self._at[oldest_key]
            self._forgot(oldest_at)

    def _forgot(self, at: datetime) -> None:
        if self.forgotten_until is None or at > self.forgotten_until:
            self.forgotten_until = at

    def forgets(self, occurred_at: datetime, now: datetime) -> bool:
        """True when a final record of an event that occurred at `occurred_at` may have been
        forgotten, so whether it was delivered is no longer known."""
        if occurred_at < now - self.horizon:
            return True
        return self.forgotten_until is not None and occurred_at <= self.forgotten_until + CLOCK_SKEW


class DeliveryLog(TopicView):
    def __init__(self, kafka: Mapping[str, Any], topic: str) -> None:
        super().__init__(kafka, topic, client_id="streamalert-deliveries", writable=True)
        self._final = FinalKeys()
        self._delivered = FinalKeys()
        self._by_alert: dict[str, deque[DeliveryAttempt]] = defaultdict(
            lambda: deque(maxlen=HISTORY_PER_ALERT)
        )

    def is_final(self, event_id: str, channel: MaskedTarget) -> bool:
        """True when this event's delivery to this channel ended, delivered or failed."""
        return delivery_key(event_id, channel) in self._final

    def was_delivered(self, event_id: str, channel: MaskedTarget) -> bool:
        """True when this event reached this channel."""
        return delivery_key(event_id, channel) in self._delivered

    def forgets(self, occurred_at: datetime, now: datetime) -> bool:
        """True when the log can no longer tell whether an event that old was delivered."""
        return self._final.forgets(occurred_at, now)

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
            self._final.add(delivery_key(attempt.event_id, attempt.channel), attempt.at)
        if attempt.outcome == "delivered":
            self._delivered.add(delivery_key(attempt.event_id, attempt.channel), attempt.at)
