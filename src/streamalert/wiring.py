"""The running pieces of one worker, as `streamalert.app.build` assembles them.

A leaf of the import graph: it names the parts, it registers nothing. The pipelines and their
Faust adapters take only the pieces they need; the HTTP server still takes the whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import faust

from streamalert.alerts.view import ConfigView
from streamalert.auth import TokenStore
from streamalert.evaluation.view import AlertStateView
from streamalert.notify.inbox import Inbox
from streamalert.notify.log import DeliveryLog
from streamalert.settings import Settings
from streamalert.supervision import AgentWatch
from streamalert.web.readiness import Readiness


@dataclass
class Topics:
    pipeline_events: faust.TopicT
    delivery_results: faust.TopicT
    alert_configs: faust.TopicT
    alert_fired: faust.TopicT
    deliveries: faust.TopicT
    dead_letter: faust.TopicT
    ticks: faust.TopicT


@dataclass
class StreamAlert:
    """The running pieces of one worker, handed to each part that registers agents or routes."""

    settings: Settings
    app: faust.App
    topics: Topics
    config_view: ConfigView
    tokens: TokenStore
    counts: faust.Table  # subject key → SubjectState bytes
    alert_states: faust.Table  # alert id → AlertState bytes
    state_view: AlertStateView
    delivery_log: DeliveryLog
    inbox: Inbox
    kafka: dict[str, Any]  # the options of every direct aiokafka client (kafka_config)
    agent_watch: AgentWatch
    readiness: Readiness = field(default_factory=Readiness)  # /readyz: the API can answer
    # /readyz/partitions: this worker's partitions are assigned and their tables recovered. Kept
    # out of /readyz so that a rebalance does not take every worker's API out of service.
    partitions: Readiness = field(default_factory=Readiness)
