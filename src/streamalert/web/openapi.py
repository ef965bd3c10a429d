"""The OpenAPI 3.1 document served at `/openapi.json`, generated from the pydantic models."""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from streamalert import __version__
from streamalert.alerts.editing import AlertCreate, AlertPatch
from streamalert.alerts.responses import AlertOut, AlertRow
from streamalert.auth import Principal
from streamalert.evaluation.backtest import Preview
from streamalert.evaluation.series import Series
from streamalert.records.outputs import DeliveryAttempt, MaskedTarget
from streamalert.web.preview import AlertPreview


class ErrorDetail(BaseModel):
    field: str
    message: str


class ErrorInfo(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] | None = None


class Error(BaseModel):
    error: ErrorInfo


class AlertList(BaseModel):
    alerts: list[AlertRow]


class StatusChange(BaseModel):
    at: str
    status: Literal["ok", "firing", "insufficient_data"]
    previous: Literal["ok", "firing", "insufficient_data"] | None
    incident: int
    notification: Literal["firing", "resolved"] | None
    event_id: str | None
    observed: dict[str, Any] | None
    muted: bool = False


class History(BaseModel):
    alert_id: str
    status: Literal["ok", "firing", "insufficient_data"]
    incident: int
    open: bool
    status_since: str | None
    evaluated_at: str | None
    observed: dict[str, Any] | None
    window: dict[str, str] | None
    baseline_window: dict[str, str] | None
    transitions: list[StatusChange]
    deliveries: list[DeliveryAttempt]


class TestResult(BaseModel):
    channel: MaskedTarget
    outcome: Literal["delivered", "retrying", "failed"]
    attempts: int
    status_code: int | None
    error: str | None


class TestResults(BaseModel):
    alert_id: str
    event_id: str
    results: list[TestResult]


class Notification(BaseModel):
    id: str
    event_id: str
    alert_id: str
    alert_name: str
    kind: str
    state: Literal["firing", "resolved"]
    title: str
    summary: str
    occurred_at: str
    url: str
    test: bool
    read: bool


class NotificationList(BaseModel):
    notifications: list[Notification]
    unread: int


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


ERRORS = {
    "401": _json("Error", "missing or unknown token"),
    "404": _json("Error", "no such workspace or alert for this token"),
    "503": _json(
        "Error", "the Kafka broker did not answer in time, or the worker's view is catching up; retry"
    ),
}
BAD_BODY = {"400": _json("Error", "the body is not a JSON object")}
PREVIEW_REQUEST = {"kind": "source_volume", "source_id": "web", "threshold_pct": 20}
PREVIEW_RESPONSE = {
    "evaluations": [
        {
            "at": "2026-11-21T10:00:00.000Z",
            "state": "ok",
            "observed": {"current": 2400, "baseline": 2300, "change_pct": 4.35},
        },
        {
            "at": "2026-11-21T11:00:00.000Z",
            "state": "firing",
            "observed": {"current": 2900, "baseline": 2310, "change_pct": 25.54},
        },
        {
            "at": "2026-11-28T09:00:00.000Z",
            "state": "ok",
            "observed": {"current": 2410, "baseline": 2395, "change_pct": 0.63},
        },
    ],
    "transitions": [
        {
            "at": "2026-11-21T11:00:00.000Z",
            "state": "firing",
            "incident": 1,
            "observed": {"current": 2900, "baseline": 2310, "change_pct": 25.54},
        },
    ],
    "fired": 1,
    "from": "2026-11-21T10:00:00.000Z",
    "to": "2026-11-28T09:00:00.000Z",
    "suggested_threshold_pct": 25.541126,
}
"""An abridged example: a 7-day preview has 168 evaluations."""
KEY_QUERY = {
    "name": "key",
    "in": "query",
    "required": False,
    "description": "only the alert with this key (`streamalert alerts apply` finds alerts by key)",
    "schema": {"type": "string"},
    "example": "checkout-volume",
}
CREATE_EXAMPLES = {
    "keyed": {
        "summary": "an alert with a key: a second create of the key answers 409",
        "value": {
            "key": "checkout-volume",
            "kind": "source_volume",
            "source_id": "checkout-web",
            "threshold_pct": 20,
            "channels": [{"type": "in_app"}, {"type": "email", "address": "oncall@corp.local"}],
        },
    }
}
MUTE_EXAMPLES = {
    "mute": {
        "summary": "mute until 14:00 UTC: evaluated and published, no channel notified",
        "value": {"muted_until": "2026-11-28T14:00:00Z"},
    },
    "unmute": {"summary": "unmute now", "value": {"muted_until": None}},
}
BASELINE_EXAMPLES = {
    "week_over_week": {
        "summary": "a source volume alert compared with the same day last week",
        "description": "`baseline` (change kinds only): `previous_day` (the default) compares the last "
        "24 hours with the 24 before; `same_day_last_week` with [H - 192 h, H - 168 h), so a pipeline "
        "that is quiet every weekend does not fire every Saturday and Monday. A rate kind with "
        "`same_day_last_week` is refused with a 422 naming `baseline`.",
        "value": {
            "kind": "source_volume",
            "source_id": "web",
            "threshold_pct": 20,
            "baseline": "same_day_last_week",
            "channels": [{"type": "in_app"}],
        },
    }
}


@cache
def openapi_document() -> dict[str, Any]:
    models: list[tuple[type[BaseModel], Any]] = [
        (AlertCreate, "validation"),
        (AlertPatch, "validation"),
        (AlertOut, "serialization"),
        (AlertList, "serialization"),
        (Principal, "serialization"),
        (History, "serialization"),
        (TestResults, "serialization"),
        (Series, "serialization"),
        (AlertPreview, "validation"),
        (Preview, "serialization"),
        (Notification, "serialization"),
        (NotificationList, "serialization"),
        (Error, "serialization"),
    ]
    _, top = models_json_schema(models, ref_template="#/components/schemas/{model}")
    schemas = top["$defs"]
    schemas["Alert"] = schemas.pop("AlertOut")
    ws = {"name": "ws", "in": "path", "required": True, "schema": {"type": "string"}}
    alert_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    notification_id = {"name": "nid", "in": "path", "required": True, "schema": {"type": "string"}}
    alert_ok = _json("Alert", "the alert, secrets masked")
    invalid = _json("Error", "a field breaks a rule; details name each field")
    return {
        "openapi": "3.1.0",
        "info": {"title": "streamalert", "version": __version__},
        "security": [{"bearer": []}, {"session": []}],
        "components": {
            "schemas": _retarget(schemas),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "streamalert_session",
                    "description": "the web UI's session (docs/ui.md); writes also need X-CSRF-Token",
                },
            },
        },
        "paths": {
            "/v1/me": {
                "get": {
                    "summary": "who this token belongs to",
                    "responses": {"200": _json("Principal", "the caller"), **ERRORS},
                }
            },
            "/v1/workspaces/{ws}/alerts": {
                "parameters": [ws],
                "get": {
                    "summary": "the alerting table",
                    "parameters": [KEY_QUERY],
                    "responses": {"200": _json("AlertList", "one row per alert"), **ERRORS},
                },
                "post": {
                    "summary": "create an alert",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": _ref("AlertCreate"),
                                "examples": CREATE_EXAMPLES | BASELINE_EXAMPLES,
                            }
                        },
                    },
                    "responses": {
                        "201": alert_ok,
                        "409": _json(
                            "Error", "an alert with this key exists in the workspace (details: key)"
                        ),
                        "422": invalid,
                        **BAD_BODY,
                        **ERRORS,
                    },
                },
            },
            "/v1/workspaces/{ws}/alerts/preview": {
                "parameters": [ws],
                "post": {
                    "summary": "backtest an unsaved alert: its state at every hour boundary of the last days",
                    "description": "Takes the body of create (channels optional); nothing is saved or "
                    "sent. Any worker answers: the one holding the subject's counts decides (docs/design.md).",
                    "parameters": [
                        {
                            "name": "days",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 7, "default": 7},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": _ref("AlertPreview"),
                                "example": PREVIEW_REQUEST,
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "the evaluations, oldest first, and what they would have sent",
                            "content": {
                                "application/json": {"schema": _ref("Preview"), "example": PREVIEW_RESPONSE}
                            },
                        },
                        "422": _json("Error", "a field, or `days`, breaks a rule; details name it"),
                        **BAD_BODY,
                        **ERRORS,
                    },
                },
            },
            "/v1/workspaces/{ws}/alerts/{id}": {
                "parameters": [ws, alert_id],
                "get": {"summary": "one alert", "responses": {"200": alert_ok, **ERRORS}},
                "patch": {
                    "summary": "edit, enable, disable, mute or unmute an alert",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": _ref("AlertPatch"), "examples": MUTE_EXAMPLES}
                        },
                    },
                    "responses": {
                        "200": alert_ok,
                        "409": _json("Error", "the given version is not the alert's current one"),
                        "422": invalid,
                        **BAD_BODY,
                        **ERRORS,
                    },
                },
                "delete": {
                    "summary": "delete an alert (its creator or a workspace owner)",
                    "responses": {
                        "204": {"description": "deleted"},
                        "403": _json("Error", "not allowed"),
                        **ERRORS,
                    },
                },
            },
            "/v1/workspaces/{ws}/alerts/{id}/history": {
                "parameters": [ws, alert_id],
                "get": {
                    "summary": "current state, status changes and delivery attempts, newest first",
                    "responses": {"200": _json("History", "the alert's history"), **ERRORS},
                },
            },
            "/v1/workspaces/{ws}/alerts/{id}/series": {
                "parameters": [ws, alert_id],
                "get": {
                    "summary": "the 48 hourly points the last evaluation compared (baseline, then current)",
                    "responses": {
                        "200": _json("Series", "the points, empty before any evaluation"),
                        **ERRORS,
                    },
                },
            },
            "/v1/workspaces/{ws}/alerts/{id}/test": {
                "parameters": [ws, alert_id],
                "post": {
                    "summary": "send a marked test notification to every channel now",
                    "responses": {"200": _json("TestResults", "each channel's outcome"), **ERRORS},
                },
            },
            "/v1/workspaces/{ws}/notifications": {
                "parameters": [ws],
                "get": {
                    "summary": "the in-app notifications, newest first, with the unread count",
                    "responses": {"200": _json("NotificationList", "the list"), **ERRORS},
                },
            },
            "/v1/workspaces/{ws}/notifications/{nid}/read": {
                "parameters": [ws, notification_id],
                "post": {
                    "summary": "mark one notification read",
                    "responses": {"200": _json("Notification", "the notification"), **ERRORS},
                },
            },
            "/healthz": {
                "get": {
                    "summary": "liveness",
                    "security": [],
                    "responses": {"200": {"description": "running"}},
                }
            },
            "/readyz": {
                "get": {
                    "summary": "readiness of the API: configs, alert states, deliveries and notifications loaded",
                    "security": [],
                    "responses": {
                        "200": {"description": "ready"},
                        "503": {"description": "not ready; the body names the failing checks"},
                    },
                }
            },
            "/readyz/partitions": {
                "get": {
                    "summary": "this worker holds partitions and their tables are recovered (not during a rebalance)",
                    "security": [],
                    "responses": {
                        "200": {"description": "recovered"},
                        "503": {"description": "rebalancing, recovering or without an assignment"},
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "security": [],
                    "responses": {"200": {"description": "text format", "content": {"text/plain": {}}}},
                }
            },
        },
    }


def _retarget(schemas: dict[str, Any]) -> dict[str, Any]:
    """Point references to the renamed `AlertOut` at `Alert`."""
    import orjson

    text = orjson.dumps(schemas).replace(b"#/components/schemas/AlertOut", b"#/components/schemas/Alert")
    loaded: dict[str, Any] = orjson.loads(text)
    return loaded
