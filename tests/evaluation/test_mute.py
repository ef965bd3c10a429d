"""Muting's decision rules from tables: what is published, and what each channel is told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

import pytest

from streamalert.evaluation.decide import Status
from streamalert.evaluation.mute import (
    channel_action,
    expiry_due,
    expiry_event_id,
    is_muted,
    resolve_is_muted,
)
from streamalert.evaluation.published import PartitionLog, adopt_published
from streamalert.evaluation.render import render_alert_fired
from streamalert.evaluation.state import AlertState, Transition, event_id, step
from tests.evaluation.test_state import ALERT, evaluation

H = datetime(2026, 11, 28, 9, tzinfo=UTC)
MINUTE = timedelta(minutes=1)

OK: Status = "ok"
FIRE: Status = "firing"
NODATA: Status = "insufficient_data"
MUTED, LIVE = True, False
Sent = tuple[Literal["firing", "resolved"], int, bool]  # (state, incident, the expiry notification)


@pytest.mark.parametrize(
    ("muted_until", "now", "expected"),
    [
        (None, H, False),
        (H + MINUTE, H, True),
        (H, H, False),  # from the instant itself on, it is not muted
        (H - MINUTE, H, False),  # a time already past is not muted
    ],
)
def test_is_muted(muted_until: datetime | None, now: datetime, expected: bool) -> None:
    assert is_muted(muted_until, now) is expected


@pytest.mark.parametrize(
    ("open_incident", "firing_now", "firing_was_muted", "muted_now", "expected"),
    [
        (True, True, True, False, True),
        (True, True, True, True, False),  # still muted
        (True, True, False, False, False),  # its firing was notified already
        (True, False, True, False, False),  # insufficient data: wait until it fires again
        (False, False, False, False, False),  # expiry while ok
        (False, True, True, False, False),  # no open incident
    ],
)
def test_expiry_due(
    open_incident: bool, firing_now: bool, firing_was_muted: bool, muted_now: bool, expected: bool
) -> None:
    assert expiry_due(open_incident, firing_now, firing_was_muted, muted_now) is expected


@pytest.mark.parametrize(
    ("muted_now", "firing_was_muted", "expected"),
    [(False, False, False), (True, False, True), (False, True, True), (True, True, True)],
)
def test_resolve_is_muted(muted_now: bool, firing_was_muted: bool, expected: bool) -> None:
    assert resolve_is_muted(muted_now, firing_was_muted) is expected


def _transition(state: Literal["firing", "resolved"], muted: bool) -> Transition:
    now = H
    _, made = step(
        AlertState(status="firing", incident=1, open=True) if state == "resolved" else None,
        ALERT.model_copy(update={"muted_until": now + MINUTE if muted else None}),
        evaluation(FIRE if state == "firing" else OK, now),
        now,
    )
    assert made is not None and made.muted is muted
    return made


@pytest.mark.parametrize(
    ("state", "muted", "received_firing", "expected"),
    [
        ("firing", False, False, "send"),
        ("firing", True, False, "muted"),
        ("firing", True, True, "muted"),
        ("resolved", False, False, "send"),  # as before muting existed
        ("resolved", False, True, "send"),
        ("resolved", True, True, "send"),  # a vendor incident is always closed
        ("resolved", True, False, "muted"),  # nobody was told of the firing
    ],
)
def test_channel_action(
    state: Literal["firing", "resolved"], muted: bool, received_firing: bool, expected: str
) -> None:
    event = render_alert_fired(ALERT, _transition(state, muted))
    assert channel_action(event, received_firing) == expected


def simulate(steps: list[tuple[Status, bool]]) -> tuple[list[Sent], list[Sent], AlertState]:
    """Each step evaluates once, muted for an hour from then or not muted. Returns what is
    published, what one channel receives (`channel_action` over its own delivery history), and
    the final state."""
    state: AlertState | None = None
    published: list[Sent] = []
    received: list[Sent] = []
    got: set[str] = set()  # event ids the channel received
    for minute, (status, muted) in enumerate(steps):
        now = H + minute * MINUTE
        alert = ALERT.model_copy(update={"muted_until": now + timedelta(hours=1) if muted else None})
        state, transition = step(state, alert, evaluation(status, now), now)
        if transition is None:
            continue
        expiry = transition.event_id == expiry_event_id(ALERT.id, transition.incident)
        published.append((transition.state, transition.incident, expiry))
        event = render_alert_fired(alert, transition)
        assert event.muted is transition.muted
        firing_ids = {event_id(ALERT.id, event.incident, "firing"), expiry_event_id(ALERT.id, event.incident)}
        if channel_action(event, bool(firing_ids & got)) == "send":
            received.append((transition.state, transition.incident, expiry))
            got.add(event.event_id)
    assert state is not None
    return published, received, state


F1, R1, X1 = ("firing", 1, False), ("resolved", 1, False), ("firing", 1, True)
F2, R2 = ("firing", 2, False), ("resolved", 2, False)


@pytest.mark.parametrize(
    ("steps", "published", "received"),
    [
        pytest.param([(FIRE, LIVE), (OK, LIVE)], [F1, R1], [F1, R1], id="never muted"),
        pytest.param([(FIRE, MUTED), (FIRE, MUTED)], [F1], [], id="muted firing"),
        pytest.param([(FIRE, MUTED), (OK, MUTED)], [F1, R1], [], id="resolve while muted of a muted firing"),
        pytest.param(
            [(FIRE, LIVE), (FIRE, MUTED), (OK, MUTED)],
            [F1, R1],
            [F1, R1],
            id="resolve while muted after an unmuted firing",
        ),
        pytest.param(
            [(FIRE, MUTED), (FIRE, LIVE), (FIRE, LIVE), (OK, LIVE)],
            [F1, X1, R1],
            [X1, R1],
            id="unmute before resolve",
        ),
        pytest.param(
            [(FIRE, MUTED), (FIRE, LIVE), (FIRE, LIVE), (FIRE, LIVE)],
            [F1, X1],
            [X1],
            id="expiry while firing notifies exactly once",
        ),
        pytest.param(
            [(FIRE, MUTED), (OK, MUTED), (OK, LIVE), (OK, LIVE)], [F1, R1], [], id="expiry while ok"
        ),
        pytest.param([(OK, MUTED), (OK, LIVE)], [], [], id="expiry with nothing ever firing"),
        pytest.param(
            [(FIRE, MUTED), (OK, LIVE)],
            [F1, R1],
            [],
            id="mute ends on the evaluation that resolves: nobody was told, nobody is",
        ),
        pytest.param(
            [(FIRE, MUTED), (FIRE, LIVE), (FIRE, MUTED), (FIRE, LIVE), (FIRE, MUTED), (OK, MUTED)],
            [F1, X1, R1],
            [X1, R1],
            id="mute changed repeatedly",
        ),
        pytest.param(
            [(FIRE, MUTED), (NODATA, LIVE), (NODATA, LIVE), (FIRE, LIVE), (OK, LIVE)],
            [F1, X1, R1],
            [X1, R1],
            id="expiry during insufficient data notifies when it fires again",
        ),
        pytest.param(
            [(FIRE, MUTED), (OK, MUTED), (FIRE, LIVE), (OK, MUTED)],
            [F1, R1, F2, R2],
            [F2, R2],
            id="a new incident after the mute is told as always",
        ),
    ],
)
def test_what_is_published_and_received(
    steps: list[tuple[Status, bool]], published: list[Sent], received: list[Sent]
) -> None:
    got_published, got_received, state = simulate(steps)
    assert got_published == published
    assert got_received == received
    assert not state.muted_firing or state.open


def test_the_expiry_notification_has_an_id_of_its_own() -> None:
    ids = {event_id(ALERT.id, 1, "firing"), event_id(ALERT.id, 1, "resolved"), expiry_event_id(ALERT.id, 1)}
    assert len(ids) == 3
    assert expiry_event_id(ALERT.id, 1) == expiry_event_id(ALERT.id, 1) != expiry_event_id(ALERT.id, 2)


@pytest.mark.parametrize(
    ("stored", "latest", "expected"),
    [
        # The muted firing was published, its state not written: adopt it, expiry still to come.
        (None, ("firing", 1, True), (1, True, True)),
        # The expiry was published, its state not written: the log says it was sent.
        (AlertState(incident=1, open=True, muted_firing=True), ("firing", 1, False), (1, True, False)),
        # The state already knows the muted firing.
        (AlertState(incident=1, open=True, muted_firing=True), ("firing", 1, True), (1, True, True)),
        # A muted resolve published, its state not written.
        (AlertState(incident=1, open=True, muted_firing=True), ("resolved", 1, True), (1, False, False)),
    ],
)
def test_adopt_published_with_muted_events(
    stored: AlertState | None, latest: tuple[str, int, bool], expected: tuple[int, bool, bool]
) -> None:
    log = PartitionLog()
    state, incident, muted = latest
    log.add(ALERT.id, incident, state, muted)
    adopted = adopt_published(stored, log.latest[ALERT.id])
    assert adopted is not None
    assert (adopted.incident, adopted.open, adopted.muted_firing) == expected


def test_the_partition_log_orders_a_muted_firing_before_its_expiry() -> None:
    log = PartitionLog()
    log.add("a", 1, "firing", True)
    assert log.holds("a", 1, "firing", True) and not log.holds("a", 1, "firing", False)
    log.add("a", 1, "firing", False)
    assert log.holds("a", 1, "firing", True) and log.holds("a", 1, "firing", False)
    assert not log.holds("a", 1, "resolved")
    log.add("a", 1, "firing", True)  # read out of order: the later position stays
    assert log.holds("a", 1, "firing", False)
