"""The configuration view's compare-and-set rule, replayed over record sequences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from aiokafka.structs import ConsumerRecord

from streamalert.alerts.view import ConfigView, decide
from streamalert.records.alerts import AlertConfig

NOW = datetime(2026, 11, 28, 9, tzinfo=UTC)


def config(version: int, threshold: int, alert_id: str = "al-1") -> AlertConfig:
    return AlertConfig(
        id=alert_id,
        workspace_id="ws",
        kind="source_volume",
        source_id="web",
        name="n",
        threshold_pct=threshold,
        channels=[{"type": "in_app"}],
        created_by={"user_id": "u", "name": "U"},
        created_at=NOW,
        updated_at=NOW + timedelta(seconds=version),
        version=version,
    )


V1, V2, V2_RIVAL, V3 = config(1, 4), config(2, 5), config(2, 6), config(3, 7)


@pytest.mark.parametrize(
    ("stored", "incoming", "decision"),
    [
        (None, V1, "apply"),
        (None, V3, "apply"),  # after compaction a key may start at any version
        (V1, V2, "apply"),
        (V2, V2_RIVAL, "lost"),  # the same version written second
        (V2, V2, "same"),  # a re-publish of the winner
        (V1, V3, "lost"),  # skips a version: written against a view that was not current
        (V3, V2, "lost"),  # older than what is held
        (V2, V1, "lost"),
    ],
)
def test_decide(stored: AlertConfig | None, incoming: AlertConfig, decision: str) -> None:
    assert decide(stored, incoming) == decision


def replay(records: list[AlertConfig | None]) -> tuple[AlertConfig | None, set[int]]:
    """Apply `records` (None = tombstone) in order; the final config and the lost offsets."""
    view = ConfigView("unused:9092", "configs")
    for offset, alert in enumerate(records):
        value = None if alert is None else orjson.dumps(alert.model_dump(mode="json"))
        view.apply(ConsumerRecord("configs", 0, offset, 0, 0, b"al-1", value, None, 0, 0, []))
    return view.get("al-1"), {offset for _, offset in view._lost}


# A race: V2 and V2_RIVAL both written against V1; V2 came first, then was re-published.
RACE = [V1, V2, V2_RIVAL, V2, V3]


def test_the_first_writer_of_a_version_wins_and_the_loser_is_known() -> None:
    assert replay(RACE) == (V3, {2})
    assert replay([V1, V2_RIVAL, V2]) == (V2_RIVAL, {2})


# Compaction keeps, per key, the latest record before some point and everything after it.
# Thanks to the re-publish that record is never the loser (index 2): min.compaction.lag.ms
# keeps the loser until the winner's record follows it.
@pytest.mark.parametrize("start", [0, 1, 3, 4])
def test_every_suffix_compaction_can_leave_rebuilds_the_same_state(start: int) -> None:
    assert replay(RACE[start:])[0] == V3
    assert replay(RACE[start:4])[0] == (V2 if start < 4 else None)


def test_a_tombstone_deletes_and_a_later_edit_brings_the_alert_back_everywhere() -> None:
    assert replay([V1, None]) == (None, set())
    assert replay([V1, None, V2]) == (V2, set())
