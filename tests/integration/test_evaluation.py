"""Counting and evaluation of every alert kind on a real worker (evaluation interval 1 s).

Records are timestamped in the middle of hours well inside each window, so a test that
runs across an hour boundary sees the same windows' contents.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from streamalert.auth import Principal
from tests.support import ApiUser, WorkerProcess, consume, issue_token, produce, wait_caught_up

HOUR = timedelta(hours=1)


def hour_now() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def at(hours_before: float) -> str:
    """An RFC 3339 time `hours_before` the current hour, in the middle of an hour."""
    return (hour_now() - hours_before * HOUR + 30 * timedelta(minutes=1)).isoformat()


@dataclass
class Scenario:
    """One subject, its records, an alert on it and what the alert must do."""

    name: str
    alert: dict[str, Any]
    pipeline: list[tuple[bytes, dict[str, Any]]] = field(default_factory=list)
    deliveries: list[tuple[bytes, dict[str, Any]]] = field(default_factory=list)
    expect: str = "ok"  # status after evaluation
    alert_id: str = ""


class Pipeline:
    """Builds records for one workspace, one subject per scenario."""

    def __init__(self, workspace: str) -> None:
        self.workspace = workspace

    def source(
        self,
        name: str,
        baseline: list[int],
        current: list[int],
        threshold: Any = 4,
        expect: str = "ok",
        **alert: Any,
    ) -> Scenario:
        """`baseline`/`current`: counts per record, spread over hours 26-46 / 2-22 before now."""
        source = f"{name}-src"
        records = [
            (
                source.encode(),
                {
                    "type": "source_events",
                    "workspace_id": self.workspace,
                    "source_id": source,
                    "timestamp": at(26 + i % 20),
                    "count": count,
                },
            )
            for i, count in enumerate(baseline)
        ] + [
            (
                source.encode(),
                {
                    "type": "source_events",
                    "workspace_id": self.workspace,
                    "source_id": source,
                    "timestamp": at(2 + i % 20),
                    "count": count,
                },
            )
            for i, count in enumerate(current)
        ]
        body = {
            "kind": "source_volume",
            "source_id": source,
            "threshold_pct": threshold,
            "channels": [{"type": "in_app"}],
        } | alert
        return Scenario(name, body, pipeline=records, expect=expect)

    def delivery(
        self,
        name: str,
        kind: str,
        delivered: int,
        failed: int,
        threshold: Any = 99,
        baseline_delivered: int = 0,
    ) -> Scenario:
        subject = f"{name}-subj"
        ids = {
            "destination": {"destination_id": subject},
            "mapping": {"destination_id": "dest", "mapping_id": subject},
            "activation": {"destination_id": "dest", "audience_id": subject},
        }[kind]

        def result(hours: float, ok: int, bad: int) -> tuple[bytes, dict[str, Any]]:
            return subject.encode(), {
                "workspace_id": self.workspace,
                "kind": kind,
                "timestamp": at(hours),
                "delivered": ok,
                "failed": bad,
            } | ids

        records = [result(5, delivered, failed)] if delivered or failed else []
        if baseline_delivered:
            records.append(result(30, baseline_delivered, 0))
        alert_kind = {
            "destination": "destination_delivery_rate",
            "mapping": "mapping_delivery_rate",
            "activation": "activation_volume",
        }[kind]
        subject_fields = {
            "destination": {"destination_id": subject},
            "mapping": {"mapping_id": subject},
            "activation": {"audience_id": subject, "destination_id": "dest"},
        }[kind]
        body = {
            "kind": alert_kind,
            "threshold_pct": threshold,
            "channels": [{"type": "in_app"}],
        } | subject_fields
        return Scenario(name, body, deliveries=records)

    def audience(
        self, name: str, samples: list[tuple[float, int]], threshold: Any = 4, per_destination: bool = False
    ) -> Scenario:
        audience = f"{name}-aud"
        extra = {"destination_id": "dest"} if per_destination else {}
        records = [
            (
                audience.encode(),
                {
                    "type": "audience_size",
                    "workspace_id": self.workspace,
                    "audience_id": audience,
                    "timestamp": at(hours),
                    "size": size,
                }
                | extra,
            )
            for hours, size in samples
        ]
        body = {
            "kind": "audience_size",
            "audience_id": audience,
            "threshold_pct": threshold,
            "channels": [{"type": "in_app"}],
        } | extra
        return Scenario(name, body, pipeline=records)


def api_user(worker: WorkerProcess, workspace: str) -> ApiUser:
    principal = Principal(workspace_id=workspace, user_id="eve", name="Eve", role="owner")
    return ApiUser(worker.url, issue_token(worker.env, principal), workspace)


async def run(
    worker: WorkerProcess, bootstrap: str, user: ApiUser, scenarios: list[Scenario]
) -> dict[str, dict[str, Any]]:
    """Publish every scenario's records, wait until counted, create the alerts, wait until each
    is evaluated; returns each scenario's history by name."""
    prefix = worker.prefix
    await produce(
        bootstrap,
        f"{prefix}.pipeline-events",
        [(k, orjson.dumps(v)) for s in scenarios for k, v in s.pipeline],
    )
    await produce(
        bootstrap,
        f"{prefix}.delivery-results",
        [(k, orjson.dumps(v)) for s in scenarios for k, v in s.deliveries],
    )
    await wait_caught_up(bootstrap, prefix, [f"{prefix}.pipeline-events", f"{prefix}.delivery-results"])
    for scenario in scenarios:
        scenario.alert_id = user.create(scenario.alert)["id"]
    return await histories(user, scenarios)


async def histories(
    user: ApiUser, scenarios: list[Scenario], timeout: float = 30.0
) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    found: dict[str, dict[str, Any]] = {}
    while True:
        for scenario in scenarios:
            status, body = user.call("GET", f"/v1/workspaces/{{ws}}/alerts/{scenario.alert_id}/history")
            assert status == 200, body
            found[scenario.name] = body
        if all(
            body["evaluated_at"] is not None and body["status"] == s.expect
            for s, body in zip(scenarios, found.values(), strict=True)
        ):
            return found
        if time.monotonic() > deadline:
            wrong = {
                s.name: (found[s.name]["status"], s.expect, found[s.name]["observed"])
                for s in scenarios
                if found[s.name]["status"] != s.expect
            }
            raise AssertionError(f"not evaluated as expected: {wrong}")
        await asyncio.sleep(0.3)


async def fired(
    bootstrap: str, worker: WorkerProcess, alert_ids: set[str], expected: int
) -> list[dict[str, Any]]:
    """The alert-fired events of `alert_ids`, once at least `expected` are there."""

    def ours(records: list[Any]) -> list[dict[str, Any]]:
        return [orjson.loads(r.value) for r in records if r.key.decode() in alert_ids]

    return ours(
        await consume(bootstrap, f"{worker.prefix}.alert-fired", lambda found: len(ours(found)) >= expected)
    )


@pytest.fixture
def pipeline(unique: str) -> Pipeline:
    return Pipeline(unique)


async def test_source_volume_boundaries(
    module_worker: WorkerProcess, kafka_bootstrap: str, unique: str, pipeline: Pipeline
) -> None:
    hundred = [5] * 20  # 100 over 20 hours, pre-aggregated
    scenarios = [
        pipeline.source("drop95", hundred, [1] * 95, expect="firing"),
        pipeline.source("rise105", hundred, [1] * 105, expect="firing"),
        pipeline.source("drop96", hundred, [1] * 96),
        pipeline.source("rise104", hundred, [1] * 104),
        # Decimal threshold: exactly -2.5 % does not fire, -2.6 % does.
        pipeline.source("dec-eq", [1000], [975], threshold=2.5),
        pipeline.source("dec-over", [1000], [974], threshold=2.5, expect="firing"),
        # Large pre-aggregated counts: 10^12 against 10^12 + 4 %.
        pipeline.source("huge-eq", [10**12], [10**12 + 4 * 10**10]),
        pipeline.source("huge-over", [10**12], [10**12 + 4 * 10**10 + 1], expect="firing"),
        pipeline.source("to-zero", hundred, [], expect="firing"),
        pipeline.source("no-baseline", [], [50], expect="insufficient_data"),
    ]
    user = api_user(module_worker, unique)
    found = await run(module_worker, kafka_bootstrap, user, scenarios)
    assert found["drop95"]["observed"] == {"current": 95, "baseline": 100, "change_pct": -5}
    assert found["rise104"]["observed"] == {"current": 104, "baseline": 100, "change_pct": 4}
    assert found["huge-eq"]["observed"]["baseline"] == 10**12
    assert found["to-zero"]["observed"] == {"current": 0, "baseline": 100, "change_pct": -100}
    assert found["no-baseline"]["observed"] is None

    firing = {s.alert_id: s for s in scenarios if s.expect == "firing"}
    events = await fired(kafka_bootstrap, module_worker, {s.alert_id for s in scenarios}, len(firing))
    await asyncio.sleep(2.5)  # a few more evaluations: nothing new while unchanged
    events = await fired(kafka_bootstrap, module_worker, {s.alert_id for s in scenarios}, len(firing))
    assert sorted(e["alert_id"] for e in events) == sorted(firing)
    assert all(e["state"] == "firing" and e["incident"] == 1 for e in events)
    drop = next(e for e in events if e["alert_id"] == scenarios[0].alert_id)
    assert drop["schema"] == "streamalert.alert-fired/v2"
    assert drop["subject"] == {"source_id": "drop95-src"}
    assert drop["observed"] == {"current": 95, "baseline": 100, "change_pct": -5}
    assert drop["threshold_pct"] == 4 and drop["kind"] == "source_volume"
    window_end = datetime.fromisoformat(drop["window"]["end"])
    assert drop["window"]["start"] == drop["baseline_window"]["end"]
    assert window_end - datetime.fromisoformat(drop["baseline_window"]["start"]) == 48 * HOUR


async def test_delivery_rate_and_activation_boundaries(
    module_worker: WorkerProcess, kafka_bootstrap: str, unique: str, pipeline: Pipeline
) -> None:
    scenarios = [
        pipeline.delivery("d9899", "destination", 9899, 101),
        pipeline.delivery("d9900", "destination", 9900, 100),
        pipeline.delivery("m9899", "mapping", 9899, 101),
        pipeline.delivery("m9900", "mapping", 99, 1),
        pipeline.delivery("m-decimal", "mapping", 99_949, 51, threshold=99.95),  # 99.949 % < 99.95
        pipeline.delivery("d-none", "destination", 0, 0),
        pipeline.delivery("act95", "activation", 95, 3, threshold=4, baseline_delivered=100),
        pipeline.delivery("act96", "activation", 96, 0, threshold=4, baseline_delivered=100),
    ]
    expectations = {"d9899": "firing", "m9899": "firing", "m-decimal": "firing", "act95": "firing"}
    for scenario in scenarios:
        scenario.expect = expectations.get(scenario.name, "ok")
    # No delivery results at all for d-none: the alert is never evaluated, so it has insufficient data.
    scenarios[5].expect = "insufficient_data"
    user = api_user(module_worker, unique)
    prefix = module_worker.prefix
    await produce(
        kafka_bootstrap,
        f"{prefix}.delivery-results",
        [(k, orjson.dumps(v)) for s in scenarios for k, v in s.deliveries],
    )
    await wait_caught_up(kafka_bootstrap, prefix, [f"{prefix}.delivery-results"])
    for scenario in scenarios:
        scenario.alert_id = user.create(scenario.alert)["id"]
    evaluated = [s for s in scenarios if s.name != "d-none"]
    found = await histories(user, evaluated)
    assert found["d9899"]["observed"] == {"delivered": 9899, "failed": 101, "success_rate_pct": 98.99}
    assert found["d9900"]["observed"] == {"delivered": 9900, "failed": 100, "success_rate_pct": 99}
    assert found["act95"]["observed"] == {"current": 95, "baseline": 100, "change_pct": -5}
    status, none = user.call("GET", f"/v1/workspaces/{{ws}}/alerts/{scenarios[5].alert_id}/history")
    assert (status, none["status"], none["evaluated_at"]) == (200, "insufficient_data", None)
    events = await fired(kafka_bootstrap, module_worker, {s.alert_id for s in scenarios}, 4)
    assert sorted(e["alert_id"] for e in events) == sorted(
        s.alert_id for s in scenarios if s.expect == "firing"
    )
    rate = next(e for e in events if e["alert_id"] == scenarios[0].alert_id)
    assert rate["observed"] == {"delivered": 9899, "failed": 101, "success_rate_pct": 98.99}
    assert rate["subject"] == {"destination_id": "d9899-subj"}


async def test_audience_size_is_a_gauge(
    module_worker: WorkerProcess, kafka_bootstrap: str, unique: str, pipeline: Pipeline
) -> None:
    scenarios = [
        # latest at or before H-24h is 100 (the 40 h sample is older); latest at or before H is 95
        pipeline.audience("g95", [(40, 7), (30, 100), (10, 300), (3, 95)]),
        pipeline.audience("g96", [(30, 100), (3, 96)]),
        pipeline.audience("g-dest", [(30, 1000), (1, 1100)], threshold=9.99, per_destination=True),
        pipeline.audience("g-late-baseline", [(3, 100)]),
    ]
    for scenario, expect in zip(scenarios, ["firing", "ok", "firing", "insufficient_data"], strict=True):
        scenario.expect = expect
    found = await run(module_worker, kafka_bootstrap, api_user(module_worker, unique), scenarios)
    assert found["g95"]["observed"] == {"current": 95, "baseline": 100, "change_pct": -5}
    assert found["g-dest"]["observed"] == {"current": 1100, "baseline": 1000, "change_pct": 10}


async def test_fire_resolve_edit_disable_delete(
    module_worker: WorkerProcess, kafka_bootstrap: str, unique: str, pipeline: Pipeline
) -> None:
    user = api_user(module_worker, unique)
    hundred = [10] * 10
    recovering = pipeline.source("recover", hundred, [1] * 90, expect="firing")
    edited = pipeline.source("edited", hundred, [95], expect="firing")
    deleted = pipeline.source("deleted", hundred, [50], expect="firing")
    disabled = pipeline.source("disabled", hundred, [50], enabled=False)  # would fire if enabled
    found = await run(module_worker, kafka_bootstrap, user, [recovering, edited, deleted])
    assert {name: body["status"] for name, body in found.items()} == {
        "recover": "firing",
        "edited": "firing",
        "deleted": "firing",
    }
    prefix = module_worker.prefix
    await produce(
        kafka_bootstrap, f"{prefix}.pipeline-events", [(k, orjson.dumps(v)) for k, v in disabled.pipeline]
    )
    disabled.alert_id = user.create(disabled.alert)["id"]

    # The window recovers: 10 more events in the current window bring it back to 100.
    extra = pipeline.source("recover", [], [1] * 10).pipeline
    await produce(kafka_bootstrap, f"{prefix}.pipeline-events", [(k, orjson.dumps(v)) for k, v in extra])
    # Raising the threshold to 10 % makes -5 % ok again: a resolution.
    assert (
        user.call("PATCH", f"/v1/workspaces/{{ws}}/alerts/{edited.alert_id}", {"threshold_pct": 10})[0] == 200
    )
    # A deleted firing alert sends nothing more, even when its window recovers.
    assert user.call("DELETE", f"/v1/workspaces/{{ws}}/alerts/{deleted.alert_id}")[0] == 204
    more = pipeline.source("deleted", [], [50]).pipeline
    await produce(kafka_bootstrap, f"{prefix}.pipeline-events", [(k, orjson.dumps(v)) for k, v in more])

    recovering.expect = edited.expect = "ok"
    after = await histories(user, [recovering, edited])
    assert after["recover"]["observed"] == {"current": 100, "baseline": 100, "change_pct": 0}
    transitions = after["recover"]["transitions"]
    assert [t["notification"] for t in transitions[:2]] == ["resolved", "firing"]

    ids = {recovering.alert_id, edited.alert_id, deleted.alert_id, disabled.alert_id}
    events = await fired(kafka_bootstrap, module_worker, ids, 5)
    await asyncio.sleep(2.5)
    events = await fired(kafka_bootstrap, module_worker, ids, 5)
    by_alert: dict[str, list[tuple[str, int]]] = {}
    for event in events:
        by_alert.setdefault(event["alert_id"], []).append((event["state"], event["incident"]))
    assert by_alert == {
        recovering.alert_id: [("firing", 1), ("resolved", 1)],
        edited.alert_id: [("firing", 1), ("resolved", 1)],
        deleted.alert_id: [("firing", 1)],
    }
    resolved = next(e for e in events if e["alert_id"] == edited.alert_id and e["state"] == "resolved")
    assert resolved["threshold_pct"] == 10 and resolved["event_id"] != next(
        e["event_id"] for e in events if e["alert_id"] == edited.alert_id and e["state"] == "firing"
    )
    status, history = user.call("GET", f"/v1/workspaces/{{ws}}/alerts/{disabled.alert_id}/history")
    assert (status, history["status"], history["evaluated_at"]) == (200, "insufficient_data", None)


async def test_late_future_and_malformed_records_do_not_count(
    module_worker: WorkerProcess, kafka_bootstrap: str, unique: str, pipeline: Pipeline
) -> None:
    scenario = pipeline.source("guarded", [10] * 10, [10] * 10)
    source = b"guarded-src"
    base = {"type": "source_events", "workspace_id": unique, "source_id": "guarded-src"}
    bad = [
        (source, orjson.dumps(base | {"timestamp": at(361), "count": 1000})),  # before the retention start
        (
            source,
            orjson.dumps(
                base | {"timestamp": (datetime.now(UTC) + timedelta(minutes=6)).isoformat(), "count": 1000}
            ),
        ),
        (source, orjson.dumps(base | {"timestamp": at(3), "count": -5})),
        (source, b"not json"),
    ]
    # Kept (15 days are), but in neither window of a day-over-day alert.
    outside = [(source, orjson.dumps(base | {"timestamp": at(49), "count": 1000}))]
    prefix = module_worker.prefix
    await produce(kafka_bootstrap, f"{prefix}.pipeline-events", bad + outside)
    found = await run(module_worker, kafka_bootstrap, api_user(module_worker, unique), [scenario])
    assert found["guarded"]["observed"] == {"current": 100, "baseline": 100, "change_pct": 0}
    letters = await consume(
        kafka_bootstrap,
        f"{prefix}.dead-letter",
        lambda records: len([r for r in records if r.key == source]) >= 4,
    )
    reasons = sorted(orjson.loads(r.value)["reason"] for r in letters if r.key == source)
    assert len(reasons) == 4
    assert any("older than the retention start" in r for r in reasons)
    assert any("in the future" in r for r in reasons)
    assert any(r.startswith("count:") for r in reasons)
    assert any(r.startswith("not UTF-8 JSON") for r in reasons)
