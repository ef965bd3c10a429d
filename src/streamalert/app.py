"""The Faust app and everything wired into it: one obvious place.

Data flow: producers → `pipeline-events` / `delivery-results` → ingest (validate, count)
→ evaluation → `alert-fired` → notifier → channels. Configuration comes from
`alert-configs`. The HTTP API runs in the same worker.
"""

from __future__ import annotations

from typing import Any, cast

import faust
from mode import ServiceT

from streamalert.alerts.view import ConfigView
from streamalert.auth import TokenStore
from streamalert.evaluation.view import AlertStateView
from streamalert.faust_adapter.counting import register_counting
from streamalert.faust_adapter.evaluation import register_evaluation
from streamalert.faust_adapter.fastpath import install as install_fast_path
from streamalert.faust_adapter.internals import consumer_lag, partitions_recovered
from streamalert.faust_adapter.notify import register_notifier
from streamalert.kafka_config import client_options, faust_options
from streamalert.metrics import register_state_collector
from streamalert.notify.inbox import Inbox
from streamalert.notify.log import DeliveryLog
from streamalert.settings import Settings, advertised_url, get_settings
from streamalert.supervision import AgentWatch
from streamalert.topics import topic_name
from streamalert.web.server import WebServer
from streamalert.wiring import StreamAlert, Topics


def create_faust_app(settings: Settings) -> faust.App:
    return faust.App(
        settings.app_id,
        # Broker, TLS/SASL credentials and replication, like every other client of the worker.
        **faust_options(settings),
        # Faust reads its own unprefixed variables (BROKER_URL, STORE, TOPIC_PARTITIONS, ...) and
        # lets them win over these arguments: the STREAMALERT_* settings are the only source.
        env={},
        store=settings.store,
        datadir=str(settings.data_dir),
        topic_partitions=settings.partitions,
        # Records are JSON validated by pydantic; Faust only moves bytes.
        key_serializer="raw",
        value_serializer="raw",
        consumer_auto_offset_reset="earliest",
        # Our own aiohttp server (streamalert.web) answers HTTP; Faust's debug pages stay off.
        web_enabled=False,
        # Shared with the group in the assignment metadata: how other workers reach this one's
        # API, to forward a preview to the worker holding a subject's counts (web/preview.py).
        canonical_url=advertised_url(settings),
        # Stop and rebalance without waiting for unacknowledged events: the notifier holds its
        # events until deliveries are final, and they are redelivered anyway. An evaluation in
        # progress is waited for by the tick agent's own revoke handler.
        stream_wait_empty=False,
        # Batch changelog writes for 10 ms instead of sending each at once: +39 % counting
        # throughput and -27 % CPU per record in the benchmark (docs/benchmarks.md).
        producer_linger=0.01,
        broker_session_timeout=settings.session_timeout,
        broker_heartbeat_interval=min(3.0, settings.session_timeout / 6),
        autodiscover=False,
    )


def raw_topic(app: faust.App, name: str, settings: Settings, **options: Any) -> faust.TopicT:
    return app.topic(
        topic_name(settings, name),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.partitions,
        **options,
    )


def store_options(name: str, settings: Settings) -> dict[str, Any]:
    """RocksDB tables share one memory budget (streamalert.rocksdb_memory); memory:// needs nothing."""
    if not settings.store.startswith("rocksdb:"):
        return {}
    from streamalert.rocksdb_memory import STORE_SCHEME, table_options

    # The path names the table's files, as Faust's own `rocksdb:<table>` does.
    return {"store": f"{STORE_SCHEME}:{name}", "options": table_options(settings.rocksdb_memory_mb)}


def raw_table(app: faust.App, name: str, settings: Settings) -> faust.Table:
    """A table of bytes keys and bytes values: records are encoded by streamalert, not Faust."""
    table = cast(
        faust.Table,
        app.Table(
            name,
            key_type=bytes,
            value_type=bytes,
            partitions=settings.partitions,
            **store_options(name, settings),
        ),
    )
    # Faust picks "json" for any value type but its own models, whatever the schema says; the
    # store is created lazily, so setting the codecs here covers the store and the changelog.
    table.key_serializer = table.value_serializer = "raw"
    return table


def build(settings: Settings | None = None) -> StreamAlert:
    """Create the app, its topics and every agent, service and route."""
    settings = settings or get_settings()
    app = create_faust_app(settings)
    revoke_listeners = install_fast_path(app)
    topics = Topics(
        pipeline_events=raw_topic(app, "pipeline-events", settings),
        delivery_results=raw_topic(app, "delivery-results", settings),
        alert_configs=raw_topic(app, "alert-configs", settings),
        alert_fired=raw_topic(app, "alert-fired", settings),
        deliveries=raw_topic(app, "deliveries", settings),
        dead_letter=raw_topic(app, "dead-letter", settings),
        ticks=raw_topic(app, "ticks", settings),
    )
    alert_states = raw_table(app, "alert_states", settings)
    kafka = client_options(settings)
    config_view = ConfigView(kafka, topic_name(settings, "alert-configs"))
    state_view = AlertStateView(kafka, alert_states.changelog_topic.get_topic_name())
    wiring = StreamAlert(
        settings=settings,
        app=app,
        topics=topics,
        config_view=config_view,
        tokens=TokenStore(kafka, topic_name(settings, "tokens")),
        counts=raw_table(app, "counts", settings),
        alert_states=alert_states,
        state_view=state_view,
        delivery_log=DeliveryLog(kafka, topic_name(settings, "deliveries")),
        inbox=Inbox(kafka, topic_name(settings, "notifications")),
        kafka=kafka,
        agent_watch=AgentWatch(app, settings.agent_stuck_after),
    )

    # Each part gets the pieces it needs, not the whole wiring.
    register_counting(app, topics, wiring.counts, kafka, settings.partitions, revoke_listeners)
    register_evaluation(app, topics, wiring.counts, alert_states, config_view, kafka, settings)
    register_notifier(
        app,
        topics.alert_fired,
        settings,
        config_view,
        wiring.delivery_log,
        wiring.inbox,
        kafka,
        wiring.agent_watch,
        wiring.readiness,
    )
    register_state_collector(
        config_view,
        state_view,
        lambda: consumer_lag(app),
        lambda: all(wiring.partitions.check().values()),
    )
    wiring.agent_watch.hook()
    wiring.readiness.add("configs_loaded", lambda: config_view.loaded)
    wiring.readiness.add("tokens_loaded", lambda: wiring.tokens.loaded)
    wiring.readiness.add("alert_states_loaded", lambda: state_view.loaded)
    wiring.readiness.add("deliveries_loaded", lambda: wiring.delivery_log.loaded)
    wiring.readiness.add("notifications_loaded", lambda: wiring.inbox.loaded)
    wiring.partitions.add("partitions_recovered", lambda: partitions_recovered(app))
    wiring.readiness.add("agents_running", lambda: wiring.agent_watch.running)
    # Reads need the broker (they answer 503 without it); say so before a load balancer asks.
    wiring.readiness.add("kafka_broker_reachable", lambda: config_view.broker_reachable())
    app.service(cast(type[ServiceT], config_view))
    app.service(cast(type[ServiceT], wiring.tokens))
    app.service(cast(type[ServiceT], state_view))
    app.service(cast(type[ServiceT], wiring.delivery_log))
    app.service(cast(type[ServiceT], wiring.inbox))
    app.service(cast(type[ServiceT], WebServer(wiring)))
    app.service(cast(type[ServiceT], wiring.agent_watch))
    return wiring
