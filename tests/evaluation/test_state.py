import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from streamalert.evaluation.decide import Evaluation, Status
from streamalert.evaluation.state import HISTORY_LIMIT, AlertState, Transition, event_id, step
from streamalert.records import AlertConfig
from streamalert.records.outputs import ChangeObserved, RateObserved, Window

H = datetime(2026, 11, 28, 9, tzinfo=UTC)
MINUTE = timedelta(minutes=1)

ALERT = AlertConfig.model_validate(
    {
        "id": "a1",
        "workspace_id": "w",
        "kind": "source_volume",
        "name": "n",
        "threshold_pct": 4,
        "source_id": "web",
        "channels": [{"type": "in_app"}],
        "created_by": {"user_id": "u", "name": "U"},
        "created_at": "2026-11-01T00:00:00Z",
        "updated_at": "2026-11-01T00:00:00Z",
    }
)

OBSERVED: dict[str, ChangeObserved | None] = {
    "ok": ChangeObserved(current=100, baseline=100, change_pct=Decimal("0.00")),
    "firing": ChangeObserved(current=95, baseline=100, change_pct=Decimal("-5.00")),
    "insufficient_data": None,
}


def evaluation(status: Status, at: datetime = H) -> Evaluation:
    hour = at.replace(minute=0, second=0, microsecond=0)
    return Evaluation(
        status=status,
        window=Window(start=hour - timedelta(hours=24), end=hour),
        baseline_window=Window(start=hour - timedelta(hours=48), end=hour - timedelta(hours=24)),
        observed=OBSERVED[status],
    )


def run(statuses: list[Status], state: AlertState | None = None) -> tuple[AlertState, list[Transition]]:
    transitions = []
    for i, status in enumerate(statuses):
        now = H + i * MINUTE
        state, transition = step(state, ALERT, evaluation(status, now), now)
        if transition is not None:
            transitions.append(transition)
    return state if state is not None else AlertState(), transitions


OK: Status = "ok"
FIRE: Status = "firing"
NODATA: Status = "insufficient_data"


@pytest.mark.parametrize(
    ("statuses", "notifications", "incident", "is_open"),
    [
        ([], [], 0, False),
        ([OK], [], 0, False),
        ([OK, OK, OK], [], 0, False),
        ([NODATA], [], 0, False),
        ([FIRE], [("firing", 1)], 1, True),
        ([FIRE, FIRE, FIRE], [("firing", 1)], 1, True),
        ([FIRE, OK], [("firing", 1), ("resolved", 1)], 1, False),
        (
            [FIRE, OK, OK, FIRE, FIRE, OK],
            [("firing", 1), ("resolved", 1), ("firing", 2), ("resolved", 2)],
            2,
            False,
        ),
        ([OK, FIRE], [("firing", 1)], 1, True),
        ([NODATA, FIRE], [("firing", 1)], 1, True),
        # insufficient_data never notifies and does not close an open incident.
        ([FIRE, NODATA], [("firing", 1)], 1, True),
        ([FIRE, NODATA, OK], [("firing", 1), ("resolved", 1)], 1, False),
        ([FIRE, NODATA, FIRE], [("firing", 1)], 1, True),
        ([FIRE, NODATA, NODATA, FIRE, NODATA, OK], [("firing", 1), ("resolved", 1)], 1, False),
        ([OK, NODATA, OK, NODATA], [], 0, False),
        ([FIRE, OK, NODATA, OK], [("firing", 1), ("resolved", 1)], 1, False),
        ([FIRE, OK, NODATA, FIRE], [("firing", 1), ("resolved", 1), ("firing", 2)], 2, True),
    ],
)
def test_notifications_follow_the_state_machine(
    statuses: list[Status], notifications: list[tuple[str, int]], incident: int, is_open: bool
) -> None:
    state, transitions = run(statuses)
    assert [(t.state, t.incident) for t in transitions] == notifications
    assert (state.incident, state.open) == (incident, is_open)
    assert state.status == (statuses[-1] if statuses else None)


def test_a_transition_carries_what_was_observed() -> None:
    now = H + 42 * MINUTE
    state, transition = step(None, ALERT, evaluation(FIRE, now), now)
    assert transition == Transition(
        state="firing",
        incident=1,
        event_id=event_id("a1", 1, "firing"),
        occurred_at=now,
        alert_version=1,
        threshold_pct=Decimal(4),
        window=Window(start=H - timedelta(hours=24), end=H),
        baseline_window=Window(start=H - timedelta(hours=48), end=H - timedelta(hours=24)),
        observed=OBSERVED["firing"],
    )
    assert state.observed == OBSERVED["firing"]
    assert state.evaluated_at == now and state.status_since == now


def test_event_ids_are_deterministic_and_distinct() -> None:
    ids = {
        event_id(alert, incident, kind)
        for alert in ("a1", "a2")
        for incident in (1, 2)
        for kind in ("firing", "resolved")
    }  # type: ignore[arg-type]
    assert len(ids) == 8
    assert event_id("a1", 1, "firing") == event_id("a1", 1, "firing")
    assert uuid.UUID(event_id("a1", 1, "firing")).version == 5
    _, first = run([FIRE, OK, FIRE])
    _, again = run([FIRE, OK, FIRE])
    assert [t.event_id for t in first] == [t.event_id for t in again]
    assert [t.event_id for t in first] == [
        event_id("a1", 1, "firing"),
        event_id("a1", 1, "resolved"),
        event_id("a1", 2, "firing"),
    ]


def test_an_unchanged_status_keeps_its_since_and_history() -> None:
    state, _ = run([OK, FIRE, FIRE, FIRE])
    assert state.status_since == H + MINUTE
    assert state.evaluated_at == H + 3 * MINUTE
    assert [(e.previous, e.status, e.notification) for e in state.history] == [
        (None, "ok", None),
        ("ok", "firing", "firing"),
    ]


def test_history_records_every_status_change_with_observed_values() -> None:
    state, transitions = run([OK, FIRE, NODATA, FIRE, OK])
    assert [(e.status, e.notification, e.incident) for e in state.history] == [
        ("ok", None, 0),
        ("firing", "firing", 1),
        ("insufficient_data", None, 1),
        ("firing", None, 1),
        ("ok", "resolved", 1),
    ]
    assert [e.event_id for e in state.history if e.notification] == [t.event_id for t in transitions]
    assert state.history[1].observed == OBSERVED["firing"]
    assert state.history[2].observed is None


def test_history_is_bounded() -> None:
    state, transitions = run([FIRE, OK] * 40)
    assert len(transitions) == 80
    assert len(state.history) == HISTORY_LIMIT
    assert state.history[-1].event_id == transitions[-1].event_id
    assert state.history[0].event_id == transitions[-HISTORY_LIMIT].event_id


def test_the_evaluated_alert_version_and_threshold_are_remembered() -> None:
    state, _ = run([FIRE])
    edited = AlertConfig.model_validate(
        ALERT.model_dump() | {"threshold_pct": Decimal("10"), "updated_at": H + MINUTE, "version": 2}
    )
    state, transition = step(state, edited, evaluation(OK), H + 2 * MINUTE)
    assert transition is not None and transition.state == "resolved"
    assert (transition.alert_version, transition.threshold_pct) == (2, Decimal(10))
    assert state.alert_version == 2


def test_state_round_trips_through_bytes() -> None:
    state, _ = run([OK, FIRE, NODATA, FIRE, OK, FIRE])
    raw = state.to_bytes()
    assert AlertState.from_bytes(raw) == state
    assert AlertState.from_bytes(AlertState().to_bytes()) == AlertState()
    resumed, transitions = run([FIRE, OK], AlertState.from_bytes(raw))
    assert [(t.state, t.incident) for t in transitions] == [("resolved", 2)]
    assert resumed.incident == 2


def test_rate_observations_round_trip_too() -> None:
    observed = RateObserved(delivered=9899, failed=101, success_rate_pct=Decimal("98.99"))
    firing = evaluation(FIRE).model_copy(update={"observed": observed})
    state, _ = step(None, ALERT, firing, H)
    again = AlertState.from_bytes(state.to_bytes())
    assert again.observed == observed
    assert isinstance(again.history[0].observed, RateObserved)


def test_an_alert_created_again_under_its_id_starts_afresh_but_numbers_incidents_on() -> None:
    # A keyed alert deleted while firing and created again has the same id (it derives from the key).
    old, _ = run([FIRE])
    assert (old.open, old.incident, old.alert_created_at) == (True, 1, ALERT.created_at)
    again = ALERT.model_copy(update={"created_at": ALERT.created_at + timedelta(days=3)})
    state, transition = step(old, again, evaluation(FIRE), H)
    assert transition is not None and (transition.state, transition.incident) == ("firing", 2)
    assert transition.event_id != event_id(ALERT.id, 1, "firing")
    assert [entry.incident for entry in state.history] == [2]
    # The same alert keeps its state.
    same, nothing = step(old, ALERT, evaluation(FIRE), H)
    assert nothing is None and same.incident == 1
