"""Schemathesis against a real worker's /openapi.json, as an owner and as a member.

No request, valid or not, may get a 5xx, and every response must match the document. Each
operation gets a bounded number of valid and of invalid requests per role: about a minute.
(Schemathesis' own pytest plugin cannot load a schema from a fixture on this pytest, so the
cases are drawn with Hypothesis from each operation's strategy.)
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.integration.test_alerts_api import source_alert, user
from tests.support import ApiUser, WorkerProcess

EXAMPLES = 80  # per operation, mode and role
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def call_as(case: Any, api: ApiUser, alerts: list[str]) -> int:
    if case.path_parameters:
        # Most requests address the caller's own workspace, and many an alert that exists, so
        # that they get past the 404 and into validation and the handlers.
        seed = hashlib.sha256(repr(case.path_parameters).encode()).digest()[0]
        if "ws" in case.path_parameters and seed % 8:
            case.path_parameters["ws"] = api.workspace
        # Not /test: a generated channel would make it send to a real vendor.
        if "id" in case.path_parameters and seed % 2 and not case.path.endswith("/test"):
            case.path_parameters["id"] = alerts[seed % len(alerts)]
    response = case.call_and_validate(
        headers={"Authorization": f"Bearer {api.token}"}, checks=CHECKS, timeout=15
    )
    return int(response.status_code)


def test_fuzzed_requests_get_no_5xx_and_only_documented_answers(
    module_worker: WorkerProcess, unique: str
) -> None:
    schema = schemathesis.openapi.from_url(f"{module_worker.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 13
    statuses: dict[int, int] = {}
    started = time.monotonic()
    for role in ("owner", "member"):
        api = user(module_worker, unique, f"fuzz-{role}", role=role)
        alerts = [api.create(source_alert(f"{role}-{i}"))["id"] for i in range(3)]
        for operation in operations:
            # Only a body can be invalid: every string is a valid path parameter here.
            modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if list(operation.body) else [])
            for mode in modes:

                @given(case=operation.as_strategy(generation_mode=mode))
                @settings(
                    max_examples=EXAMPLES,
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )
                def fuzz(case: Any) -> None:
                    status = call_as(case, api, alerts)  # noqa: B023  # run before the loop moves on
                    statuses[status] = statuses.get(status, 0) + 1

                fuzz()
    took = time.monotonic() - started
    print(f"fuzzed {sum(statuses.values())} requests in {took:.0f} s: {dict(sorted(statuses.items()))}")
    # The requests reached the handlers: created, read, refused by validation, and so on.
    assert {200, 201, 404, 422} <= set(statuses), statuses
    assert not [status for status in statuses if status >= 500]
