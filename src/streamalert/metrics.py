"""Prometheus metrics of a worker, served at `/metrics` (names follow Prometheus conventions).

Counters and histograms are updated where things happen; gauges that describe state
(alerts by state, consumer lag) are computed when scraped.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from streamalert.evaluation.state import AlertState
    from streamalert.records.alerts import AlertConfig

REGISTRY = CollectorRegistry()

RECORDS_IN = Counter(
    "streamalert_records_total", "Input records read, by topic.", ["topic"], registry=REGISTRY
)
CHANGELOG_WRITES = Counter(
    "streamalert_counts_changelog_writes_total",
    "Records written to the counts changelog (one per changed subject per flush).",
    registry=REGISTRY,
)
RECORDS_REJECTED = Counter(
    "streamalert_records_rejected_total",
    "Input records sent to the dead-letter topic, by topic.",
    ["topic"],
    registry=REGISTRY,
)
RECORDS_MISROUTED = Counter(
    "streamalert_records_misrouted_total",
    "Input records on another partition than their key's (a producer not using the Java client's "
    "default partitioner), sent to the dead-letter topic, by topic.",
    ["topic"],
    registry=REGISTRY,
)
EVALUATIONS = Counter(
    "streamalert_evaluations_total", "Alert evaluations, by resulting status.", ["status"], registry=REGISTRY
)
EVALUATION_ERRORS = Counter(
    "streamalert_evaluation_errors_total",
    "Alert evaluations that failed with an error (the alert is evaluated again on the next tick).",
    registry=REGISTRY,
)
TRANSITIONS = Counter(
    "streamalert_alert_transitions_total",
    "alert-fired events published, by state (firing, resolved).",
    ["state"],
    registry=REGISTRY,
)
DELIVERIES = Counter(
    "streamalert_deliveries_total",
    "Final outcomes of notification deliveries, by channel type and outcome.",
    ["channel", "outcome"],
    registry=REGISTRY,
)
DELIVERY_ATTEMPTS = Counter(
    "streamalert_delivery_attempts_total",
    "Notification delivery attempts, by channel type and outcome (delivered, retrying, failed).",
    ["channel", "outcome"],
    registry=REGISTRY,
)
DELIVERY_LATENCY = Histogram(
    "streamalert_delivery_latency_seconds",
    "Seconds from an alert transition to its delivery, by channel type.",
    ["channel"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
    registry=REGISTRY,
)

AGENT_CRASHES = Counter(
    "streamalert_agent_crashes_total",
    "Times an agent's body raised; Faust does not resume a crashed agent, so one is enough to alarm.",
    ["agent"],
    registry=REGISTRY,
)
AGENT_UP = Gauge(
    "streamalert_agent_up",
    "1 while the agent runs and makes progress, 0 once it crashed or is stuck.",
    ["agent"],
    registry=REGISTRY,
)
DELIVERIES_UNRECORDED = Gauge(
    "streamalert_deliveries_unrecorded",
    "Deliveries given up on whose failure cannot be written to `deliveries` yet (Kafka unreachable).",
    registry=REGISTRY,
)


class StateCollector(Collector):
    """Alerts by state, consumer lag and partition readiness, read from the worker when scraped."""

    def __init__(
        self,
        configs: Configs,
        states: States,
        lag: Callable[[], Iterable[tuple[str, int, int]]],
        recovered: Callable[[], bool],
    ) -> None:
        self.configs, self.states, self.lag, self.recovered = configs, states, lag, recovered

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from streamalert.alerts.responses import current_status

        states = GaugeMetricFamily(
            "streamalert_alerts", "Enabled alerts by state, as this worker sees them.", labels=["state"]
        )
        tally = Tally(
            current_status(self.states.get(alert.id)) for alert in self.configs.all() if alert.enabled
        )
        for state in ("ok", "firing", "insufficient_data"):
            states.add_metric([state], tally.get(state, 0))
        yield states

        lag = GaugeMetricFamily(
            "streamalert_consumer_lag",
            "Records not yet read, per assigned partition.",
            labels=["topic", "partition"],
        )
        for topic, partition, behind in self.lag():
            lag.add_metric([topic, str(partition)], behind)
        yield lag

        recovered = GaugeMetricFamily(
            "streamalert_partitions_recovered",
            "1 when this worker holds partitions and their tables are recovered (/readyz/partitions), else 0.",
        )
        recovered.add_metric([], 1 if self.recovered() else 0)
        yield recovered


class Configs(Protocol):
    def all(self) -> list[AlertConfig]: ...


class States(Protocol):
    def get(self, alert_id: str) -> AlertState | None: ...


def register_state_collector(
    configs: Configs,
    states: States,
    lag: Callable[[], Iterable[tuple[str, int, int]]],
    recovered: Callable[[], bool],
) -> None:
    REGISTRY.register(StateCollector(configs, states, lag, recovered))
