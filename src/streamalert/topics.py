"""The topic catalogue (docs/design.md#topics) and its idempotent creation."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from streamalert.kafka_config import KafkaSetupError, check_connection, client_options, mask_secret
from streamalert.settings import Settings

log = logging.getLogger(__name__)

HOUR_MS = 3_600_000

# Counts are kept in tables co-partitioned with these topics: partition p of each holds the
# same subjects (and the alerts evaluated by partition p publish to partition p of alert-fired).
COPARTITIONED = ("pipeline-events", "delivery-results", "ticks", "alert-fired")
TABLES = ("counts", "alert_states")


@dataclass(frozen=True)
class TopicSpec:
    name: str
    description: str
    key: str
    config: dict[str, str] = field(default_factory=dict)
    partitions: int | None = None  # None: STREAMALERT_PARTITIONS


def catalogue(settings: Settings) -> list[TopicSpec]:
    """Every topic streamalert uses, with its full name under the configured prefix."""
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
            topic_name(settings, "tokens"),
            "API tokens: who each is for and its SHA-256, never the token (compacted, tombstone = revoked)",
            "token id",
            {"cleanup.policy": "compact"},
        ),
        TopicSpec(
            topic_name(settings, "ticks"),
            "internal: the evaluation clock, one tick per partition per evaluation interval",
            "none",
            {"retention.ms": str(HOUR_MS)},
        ),
    ]


def faust_topics(settings: Settings) -> list[TopicSpec]:
    """The topics Faust would create itself, created here instead so that they get
    `STREAMALERT_REPLICATION_FACTOR` (or the broker's default), with the configuration Faust gives them."""
    changelogs = [
        TopicSpec(
            f"{settings.app_id}-{table}-changelog",
            f"Faust's changelog of the {table} table",
            "table key",
            {"cleanup.policy": "compact"},
        )
        for table in TABLES
    ]
    leader = TopicSpec(
        f"{settings.app_id}-__assignor-__leader", "Faust's partition assignor", "none", partitions=1
    )
    return [*changelogs, leader]


def topic_name(settings: Settings, name: str) -> str:
    return f"{settings.topic_prefix}.{name}"


def copartitioned_topics(settings: Settings) -> list[str]:
    """The topics that must all have `STREAMALERT_PARTITIONS` partitions, table changelogs included."""
    names = [topic_name(settings, name) for name in COPARTITIONED]
    return names + [f"{settings.app_id}-{table}-changelog" for table in TABLES]


def partition_mismatch(
    expected: int, copartitioned: Iterable[str], existing: Mapping[str, int]
) -> str | None:
    """Why the existing topics cannot be counted into, or None when every one has `expected` partitions."""
    wrong = {
        name: existing[name] for name in copartitioned if name in existing and existing[name] != expected
    }
    if not wrong:
        return None
    found = ", ".join(f"{name} has {count}" for name, count in wrong.items())
    counts = {existing[name] for name in copartitioned if name in existing}
    hint = (
        f"set STREAMALERT_PARTITIONS={counts.pop()} to match them"
        if len(counts) == 1
        else "the existing topics disagree among themselves: recreate them (or use a new "
        "STREAMALERT_TOPIC_PREFIX and STREAMALERT_APP_ID)"
    )
    return (
        f"co-partitioned topics must all have STREAMALERT_PARTITIONS={expected} partitions, but {found}; "
        f"counting into them would put a subject's records and its counts on different partitions. "
        f"Refusing to start: {hint}"
    )


def new_topic(spec: TopicSpec, settings: Settings) -> NewTopic:
    partitions = spec.partitions or settings.partitions
    if settings.replication_factor is not None:
        return NewTopic(spec.name, partitions, settings.replication_factor, topic_configs=spec.config)
    # -1 asks for the broker's default.replication.factor (CreateTopics accepts it since Kafka 2.4);
    # aiokafka's NewTopic only lets -1 through together with an (empty) replica assignment.
    return NewTopic(spec.name, partitions, -1, replica_assignments={}, topic_configs=spec.config)


class PartitionMismatch(KafkaSetupError):
    """Existing topics have partition counts that would make the counts wrong."""


async def ensure_topics(settings: Settings) -> list[str]:
    """Create the missing topics of the catalogue; return the names created.

    Connects first (`check_connection`), so a wrong address, password or CA is one clear error.
    Existing topics are left as they are, but the co-partitioned ones must all have
    `STREAMALERT_PARTITIONS` partitions (PartitionMismatch otherwise); any other topic that
    differs is logged.
    """
    await check_connection(settings)
    specs = catalogue(settings) + faust_topics(settings)
    admin = AIOKafkaAdminClient(**client_options(settings), client_id="streamalert-admin")
    try:
        await admin.start()
        # All topics (a null list): naming topics in a Metadata request may auto-create them.
        existing = {t["topic"]: len(t["partitions"]) for t in await admin.describe_topics(None)}
        problem = partition_mismatch(settings.partitions, copartitioned_topics(settings), existing)
        if problem:
            raise PartitionMismatch(problem)
        for spec in specs:
            found = existing.get(spec.name)
            if found is not None and found != (spec.partitions or settings.partitions):
                log.warning(
                    "topic %s has %d partitions, expected %d",
                    spec.name,
                    found,
                    spec.partitions or settings.partitions,
                )
        missing = [s for s in specs if s.name not in existing]
        if not missing:
            return []
        response = await admin.create_topics([new_topic(s, settings) for s in missing])
        created = []
        for name, code, *rest in response.topic_errors:
            if code == 0:
                created.append(name)
                log.info("created topic %s", name)
            elif for_code(code) is not TopicAlreadyExistsError:
                message = rest[0] if rest else ""
                raise KafkaSetupError(
                    f"could not create topic {name} (STREAMALERT_PARTITIONS={settings.partitions}, "
                    f"STREAMALERT_REPLICATION_FACTOR={settings.replication_factor or 'broker default'}): "
                    f"{for_code(code).__name__}: {message}"
                )
        return created
    except KafkaError as error:
        raise KafkaSetupError(mask_secret(settings, f"Kafka admin request failed: {error}")) from None
    finally:
        await admin.close()
