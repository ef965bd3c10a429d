"""Creating and editing alerts: request models and the rules that turn them into configs. Pure."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import Field, ValidationError

from streamalert.alerts.masking import mask_secret, mask_url
from streamalert.kinds import KINDS, SUBJECT_FIELDS, AlertKind
from streamalert.records.alerts import (
    AlertConfig,
    AlertName,
    Channel,
    Creator,
    Threshold,
    check_subjects_and_threshold,
)
from streamalert.records.common import Id, StrictRecord

Channels = Annotated[list[Channel], Field(min_length=1, max_length=20)]


class AlertCreate(StrictRecord):
    """`POST /v1/workspaces/{ws}/alerts`. Ids, creator and times are set by the server."""

    kind: AlertKind
    name: AlertName | None = None
    threshold_pct: Threshold
    source_id: Id | None = None
    destination_id: Id | None = None
    mapping_id: Id | None = None
    audience_id: Id | None = None
    enabled: bool = True
    channels: Channels


class AlertPatch(StrictRecord):
    """`PATCH …/alerts/{id}`: name, threshold, enabled and channels; absent fields stay as they are.

    Kind and subject are what an alert *is* (its state, incidents and event ids belong to
    them), so they cannot change: a different subject is a new alert. Channels are replaced as
    a whole; a channel sent back with its masked secret keeps the stored secret. `version`,
    when given, must be the stored one (409 otherwise), so concurrent edits cannot overwrite
    each other unseen.
    """

    name: AlertName | None = None
    threshold_pct: Threshold | None = None
    enabled: bool | None = None
    channels: Channels | None = None
    version: Annotated[int, Field(ge=1)] | None = None


IMMUTABLE_FIELDS = ("kind", *SUBJECT_FIELDS)


class VersionConflict(Exception):
    """The alert changed since the client read it."""


class InvalidRequest(Exception):
    """A request that breaks a rule; `details` name each offending field."""

    def __init__(self, details: list[dict[str, str]]) -> None:
        self.details = details
        first = details[0]
        super().__init__(f"{first['field']}: {first['message']}" if first["field"] else first["message"])


def field_errors(error: ValidationError) -> list[dict[str, str]]:
    """Pydantic errors as `{"field", "message"}`, never echoing the input (it may hold a secret)."""
    details = []
    for item in error.errors(include_url=False, include_input=False, include_context=False):
        location = [str(part) for part in item["loc"]]
        if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
            location.append("type")
        # Discriminated unions add the tag as a path step (`channels.0.slack.webhook_url`).
        if len(location) >= 3 and location[0] == "channels" and location[2] in _CHANNEL_TYPES:
            del location[2]
        message = item["msg"].removeprefix("Value error, ")
        details.append({"field": ".".join(location), "message": message})
    return details


_CHANNEL_TYPES = {"email", "slack", "slack_workflow", "pagerduty", "in_app"}
RequestT = TypeVar("RequestT", AlertCreate, AlertPatch)


def parse_request(model: type[RequestT], body: Any, webhook_allow: list[str]) -> RequestT:
    if not isinstance(body, dict):
        raise InvalidRequest([{"field": "", "message": "the request body must be a JSON object"}])
    try:
        return model.model_validate(body, context={"webhook_allow": webhook_allow})
    except ValidationError as error:
        raise InvalidRequest(field_errors(error)) from None


def check_kind_rules(data: dict[str, Any]) -> None:
    try:
        check_subjects_and_threshold(
            data["kind"], data["threshold_pct"], {field: data.get(field) for field in SUBJECT_FIELDS}
        )
    except ValueError as error:
        message = str(error)
        field = message.split(" ", 1)[0]
        raise InvalidRequest([{"field": field, "message": message}]) from None


def new_alert(
    request: AlertCreate, workspace_id: str, creator: Creator, now: datetime, alert_id: str | None = None
) -> AlertConfig:
    data = request.model_dump(exclude_none=True)
    data["name"] = request.name or KINDS[request.kind].default_name
    check_kind_rules(data)
    return AlertConfig(
        **data,
        id=alert_id or f"al-{uuid.uuid4().hex[:20]}",
        workspace_id=workspace_id,
        created_by=creator,
        created_at=now,
        updated_at=now,
        version=1,
    )


def patched_alert(
    current: AlertConfig, body: dict[str, Any], webhook_allow: list[str], now: datetime
) -> AlertConfig:
    """The next version of `current` with the patch `body` applied and every rule checked."""
    if isinstance(body, dict):
        changed = [f for f in IMMUTABLE_FIELDS if f in body and body[f] != getattr(current, f)]
        if changed:
            raise InvalidRequest(
                [{"field": f, "message": "cannot be changed; create a new alert instead"} for f in changed]
            )
        body = {key: value for key, value in body.items() if key not in IMMUTABLE_FIELDS}
        if isinstance(body.get("channels"), list):
            body = body | {"channels": [keep_stored_secret(c, current.channels) for c in body["channels"]]}
    patch = parse_request(AlertPatch, body, webhook_allow)
    changes = patch.model_dump(exclude_unset=True)
    expected_version = changes.pop("version", None)
    if expected_version is not None and expected_version != current.version:
        raise VersionConflict(f"the alert is at version {current.version}, not {expected_version}")
    for field in ("name", "threshold_pct", "enabled", "channels"):
        if field in changes and changes[field] is None:
            raise InvalidRequest([{"field": field, "message": f"{field} cannot be null"}])
    data = current.model_dump() | changes
    check_kind_rules(data)
    data |= {"updated_at": now, "version": current.version + 1}
    try:
        return AlertConfig.model_validate(data)
    except ValidationError as error:
        raise InvalidRequest(field_errors(error)) from None


def keep_stored_secret(sent: Any, stored: list[Channel]) -> Any:
    """A channel echoed back from a response carries a masked secret: restore the stored one."""
    if not isinstance(sent, dict):
        return sent
    for channel in stored:
        if channel.type != sent.get("type"):
            continue
        url = getattr(channel, "webhook_url", None)
        if url is not None and sent.get("webhook_url") == mask_url(url):
            return sent | {"webhook_url": url}
        key = getattr(channel, "integration_key", None)
        if key is not None and sent.get("integration_key") == mask_secret(key):
            return sent | {"integration_key": key}
    return sent
