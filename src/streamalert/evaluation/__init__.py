"""Evaluation: exact decisions, the alert state machine, and rendering alert-fired records."""

from streamalert.evaluation.decide import Evaluation, evaluate
from streamalert.evaluation.render import render_alert_fired
from streamalert.evaluation.state import AlertState, Transition, event_id, step

__all__ = ["AlertState", "Evaluation", "Transition", "evaluate", "event_id", "render_alert_fired", "step"]
