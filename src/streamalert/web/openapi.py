"""The OpenAPI 3.1 document served at `/openapi.json`, generated from the pydantic models."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from streamalert import __version__
from streamalert.alerts.editing import AlertCreate, AlertPatch
from streamalert.alerts.responses import AlertOut, AlertRow
from streamalert.auth import Principal


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


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


ERRORS = {
    "401": _json("Error", "missing or unknown token"),
    "404": _json("Error", "no such workspace or alert for this token"),
}


@cache
def openapi_document() -> dict[str, Any]:
    models: list[tuple[type[BaseModel], Any]] = [
        (AlertCreate, "validation"),
        (AlertPatch, "validation"),
        (AlertOut, "serialization"),
        (AlertList, "serialization"),
        (Principal, "serialization"),
        (Error, "serialization"),
    ]
    _, top = models_json_schema(models, ref_template="#/components/schemas/{model}")
    schemas = top["$defs"]
    schemas["Alert"] = schemas.pop("AlertOut")
    ws = {"name": "ws", "in": "path", "required": True, "schema": {"type": "string"}}
    alert_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    alert_ok = _json("Alert", "the alert, secrets masked")
    invalid = _json("Error", "a field breaks a rule; details name each field")
    return {
        "openapi": "3.1.0",
        "info": {"title": "streamalert", "version": __version__},
        "security": [{"bearer": []}],
        "components": {
            "schemas": _retarget(schemas),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
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
                    "responses": {"200": _json("AlertList", "one row per alert"), **ERRORS},
                },
                "post": {
                    "summary": "create an alert",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("AlertCreate")}},
                    },
                    "responses": {"201": alert_ok, "422": invalid, **ERRORS},
                },
            },
            "/v1/workspaces/{ws}/alerts/{id}": {
                "parameters": [ws, alert_id],
                "get": {"summary": "one alert", "responses": {"200": alert_ok, **ERRORS}},
                "patch": {
                    "summary": "edit, enable or disable an alert",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("AlertPatch")}},
                    },
                    "responses": {"200": alert_ok, "422": invalid, **ERRORS},
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
        },
    }


def _retarget(schemas: dict[str, Any]) -> dict[str, Any]:
    """Point references to the renamed `AlertOut` at `Alert`."""
    import orjson

    text = orjson.dumps(schemas).replace(b"#/components/schemas/AlertOut", b"#/components/schemas/Alert")
    loaded: dict[str, Any] = orjson.loads(text)
    return loaded
