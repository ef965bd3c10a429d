"""`streamalert simulate`: realistic pipeline metrics for demos and benchmarks.

Two layers, kept apart:

- pure generation: the entities of one workspace (`build_world`), the daily curve (`diurnal`),
  the hourly plan with its anomalies (`plan_traffic`), and the records built from it
  (`hour_records`, `backfill_records`, `LiveTraffic`). Everything takes `now` and a
  `random.Random`, so a seed repeats a run exactly;
- Kafka I/O: the topic check, a batching producer, the backfill and the live phase.

Volumes are planned per 24-hour window as the worker sees them (docs/design.md#alerts): the baseline window
[H - 48h, H - 24h) and the current window [H - 24h, H) hold the same total for a subject, spread
over the hours by the daily curve and some noise. Only the anomalies asked for move a subject's
current window away from its baseline, so an alert fires where the user expects it and nowhere else.
A plan may reach 15 days back (what the worker keeps), and with weekly seasonality (`--weekly`)
weekend days carry a share of a weekday's traffic, the same weekday a week apart the same total.
"""

from streamalert.simulate.anomalies import Anomalies
from streamalert.simulate.command import simulate_command
from streamalert.simulate.records import (
    Emission,
    LiveTraffic,
    backfill_hours_from,
    backfill_records,
    hour_records,
)
from streamalert.simulate.report import Tally
from streamalert.simulate.traffic import Plan, distribute, diurnal, plan_traffic
from streamalert.simulate.world import SOURCE_PROFILES, World, build_world

__all__ = [
    "SOURCE_PROFILES",
    "Anomalies",
    "Emission",
    "LiveTraffic",
    "Plan",
    "Tally",
    "World",
    "backfill_hours_from",
    "backfill_records",
    "build_world",
    "distribute",
    "diurnal",
    "hour_records",
    "plan_traffic",
    "simulate_command",
]
