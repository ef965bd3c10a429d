"""Faust agents for the input topics. Thin: parsing lives in `validation`, counting in `counting`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import orjson
from faust import StreamT

from streamalert.ingest.validation import Position, parse_delivery_result, parse_pipeline_event
from streamalert.records import DeadLetter

if TYPE_CHECKING:
    from streamalert.app import StreamAlert

log = logging.getLogger(__name__)


def register_ingest(wiring: StreamAlert) -> None:
    app, topics = wiring.app, wiring.topics

    async def reject(letter: DeadLetter) -> None:
        log.info("dead-letter %s[%d]@%d: %s", letter.topic, letter.partition, letter.offset, letter.reason)
        await topics.dead_letter.send(
            key=letter.key.encode() if letter.key is not None else None,
            value=orjson.dumps(letter.model_dump(mode="json")),
        )

    @app.agent(topics.pipeline_events, name="streamalert.ingest.pipeline_events")
    async def ingest_pipeline_events(stream: StreamT[bytes]) -> AsyncIterator[None]:
        async for event in stream.events():
            message = event.message
            position = Position(message.topic, message.partition, message.offset)
            result = parse_pipeline_event(event.key, event.value, position, datetime.now(UTC))
            if isinstance(result, DeadLetter):
                await reject(result)
            else:
                log.debug("accepted %s for %s", result.type, result.subject_key)
            yield None

    @app.agent(topics.delivery_results, name="streamalert.ingest.delivery_results")
    async def ingest_delivery_results(stream: StreamT[bytes]) -> AsyncIterator[None]:
        async for event in stream.events():
            message = event.message
            position = Position(message.topic, message.partition, message.offset)
            result = parse_delivery_result(event.key, event.value, position, datetime.now(UTC))
            if isinstance(result, DeadLetter):
                await reject(result)
            else:
                log.debug("accepted %s result for %s", result.kind, result.subject_key)
            yield None
