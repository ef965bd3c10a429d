"""The topic catalogue (SPEC §3) and its idempotent creation."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

from streamalert.settings import Settings

log = logging.getLogger(__name__)

HOUR_MS = 3_600_000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    description: str
    key: str
    config: dict[str, str] = field(default_factory=dict)


def catalogue(settings: Settings) -> list[TopicSpec]:
    """Every topic of SPEC §3, with its full name under the configured prefix."""
    input_retention = {"retention.ms": str(settings.input_retention_hours * HOUR_MS)}
    week = {"retention.ms": str(7 * 24 * HOUR_MS)}
    return [
        TopicSpec(
            topic_name(settings, "pipeline-events"),
            "source event counts and audience sizes, from producers",
            "source_id or audience_id",
            input_retention,
        ),
        TopicSpec(
            topic_name(settings, "delivery-results"),
            "delivered/failed counts per destination, mapping or activation, from producers",
            "destination_id, mapping_id or audience_id",
            input_retention,
        ),
        TopicSpec(
            topic_name(settings, "alert-configs"),
            "alert configurations; the system of record (compacted, tombstone = deleted)",
            "alert id",
            # An hour before compaction: an edit that lost a race is followed by the winner's
            # record again well within it (alerts/view.py), so compaction never keeps a loser.
            {"cleanup.policy": "compact", "min.compaction.lag.ms": str(HOUR_MS)},
        ),
        TopicSpec(
            topic_name(settings, "alert-fired"),
            "one record per alert state transition: the downstream contract",
            "alert id",
            week,
        ),
        TopicSpec(
            topic_name(settings, "deliveries"),
            "one record per notification delivery attempt",
            "alert id",
            week,
        ),
        TopicSpec(
            topic_name(settings, "dead-letter"),
            "input records that could not be used, with the reason",
            "the input record's key",
            week,
        ),
        TopicSpec(
            topic_name(settings, "notifications"),
            "the in-app notification list of each workspace (compacted)",
            "workspace id and notification id",
            {"cleanup.policy": "compact"},
        ),
        TopicSpec(
            topic_name(settings, "ticks"),
            "internal: the evaluation clock, one tick per partition per evaluation interval",
            "none",
            {"retention.ms": str(HOUR_MS)},
        ),
    ]


def topic_name(settings: Settings, name: str) -> str:
    return f"{settings.topic_prefix}.{name}"


async def ensure_topics(settings: Settings) -> list[str]:
    """Create the missing topics of the catalogue; return the names created.

    Existing topics are left as they are, but a partition count that differs from
    `STREAMALERT_PARTITIONS` is logged: counts are co-partitioned with their tables.
    """
    specs = catalogue(settings)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, client_id="streamalert-admin")
    await admin.start()
    try:
        # All topics (a null list): naming topics in a Metadata request may auto-create them.
        existing = {t["topic"]: t for t in await admin.describe_topics(None)}
        missing = [s for s in specs if s.name not in existing]
        for spec in specs:
            found = existing.get(spec.name)
            if found and len(found["partitions"]) != settings.partitions:
                log.warning(
                    "topic %s has %d partitions but STREAMALERT_PARTITIONS is %d",
                    spec.name,
                    len(found["partitions"]),
                    settings.partitions,
                )
        if not missing:
            return []
        response = await admin.create_topics(
            [NewTopic(s.name, settings.partitions, 1, topic_configs=s.config) for s in missing]
        )
        created = []
        for name, code, *rest in response.topic_errors:
            if code == 0:
                created.append(name)
                log.info("created topic %s", name)
            elif for_code(code) is not TopicAlreadyExistsError:
                message = rest[0] if rest else ""
                raise for_code(code)(f"could not create topic {name}: {message}")
        return created
    finally:
        await admin.close()
