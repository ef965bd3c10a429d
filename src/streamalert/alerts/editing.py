"""Creating and editing alerts: request models and the rules that turn them into configs. Pure.

Requests are validated strictly, once for every field: a number must be a JSON number, a
boolean `true`/`false`, a string a string (`"5"` is not 5, `0` is not `false`). Records read
back from the system of record are validated as before.
"""

from __future__ import annotations

import math
import re
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from pydantic import BeforeValidator, ConfigDict, Field, ValidationError, WithJsonSchema

from streamalert.alerts.masking import mask_secret, mask_url
from streamalert.kinds import KINDS, SUBJECT_FIELDS, AlertKind, Baseline
from streamalert.records.alerts import (
    AlertConfig,
    AlertKey,
    AlertName,
    Channel,
    Creator,
    Threshold,
    check_baseline,
    check_subjects_and_threshold,
)
from streamalert.records.common import Id, StrictRecord, Timestamp

Channels = Annotated[list[Channel], Field(min_length=1, max_length=20)]

MAX_THRESHOLD = Decimal("999999.999999")  # 12 digits, 6 of them decimals


def _json_number(value: Any) -> Any:
    """A JSON number (int or finite float) as an exact Decimal; anything else is refused."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("must be a JSON number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        # The shortest decimal that reads back as this double: what the client wrote.
        return Decimal(repr(value))
    return Decimal(value)


RequestThreshold = Annotated[
    Threshold,
    BeforeValidator(_json_number),
    WithJsonSchema(
        {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": float(MAX_THRESHOLD),
            "multipleOf": 0.000001,
            "description": "percent, greater than 0 with at most 6 decimals; at most 100 for the "
            "rate kinds (destination_delivery_rate, mapping_delivery_rate)",
        }
    ),
]


RequestBaseline = Annotated[
    Baseline,
    Field(
        description="what a change is compared with: previous_day (the 24 hours before the current "
        "window, the default) or same_day_last_week (the same 24 hours a week earlier, "
        "[H - 192 h, H - 168 h); an audience size against its size 168 h earlier). The rate "
        "kinds accept only previous_day"
    ),
]


def kind_rules_schema() -> list[dict[str, Any]]:
    """Each kind's subject fields and threshold limit as JSON Schema `if`/`then` clauses."""
    rules = []
    for kind in KINDS.values():
        properties: dict[str, Any] = {field: {"type": "string"} for field in kind.required}
        properties |= {field: {"type": "null"} for field in SUBJECT_FIELDS if field not in kind.allowed}
        if kind.decision == "rate":
            properties["threshold_pct"] = {"maximum": 100}
        if not kind.baseline_choice:
            properties["baseline"] = {"const": "previous_day"}
        rules.append(
            {
                "if": {"properties": {"kind": {"const": kind.name}}, "required": ["kind"]},
                "then": {"required": list(kind.required), "properties": properties},
            }
        )
    return rules


def _kind_table() -> str:
    rows = [
        f"{kind.name}: requires {' and '.join(kind.required)}"
        + (
            f", may have {', '.join(optional)}"
            if (optional := [f for f in kind.allowed if f not in kind.required])
            else ""
        )
        + ("; threshold at most 100" if kind.decision == "rate" else "")
        + ("" if kind.baseline_choice else "; baseline previous_day only")
        for kind in KINDS.values()
    ]
    return "Subject fields by kind (any other subject field must be absent or null): " + "; ".join(rows) + "."


MutedUntil = Annotated[
    Timestamp,
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "RFC 3339; until then the alert is evaluated and published but notifies no "
            "channel. null (or a time already past) is not muted",
        }
    ),
]


class AlertCreate(StrictRecord):
    """`POST /v1/workspaces/{ws}/alerts`. Ids, creator and times are set by the server."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=lambda schema: schema.update(
            {"allOf": kind_rules_schema(), "description": f"{schema.get('description', '')} {_kind_table()}"}
        ),
    )

    kind: AlertKind
    name: AlertName | None = None
    key: AlertKey | None = None
    threshold_pct: RequestThreshold
    baseline: RequestBaseline = "previous_day"
    source_id: Id | None = None
    destination_id: Id | None = None
    mapping_id: Id | None = None
    audience_id: Id | None = None
    enabled: bool = True
    muted_until: MutedUntil | None = None
    channels: Channels


class AlertPatch(StrictRecord):
    """`PATCH …/alerts/{id}`: name, threshold, baseline, enabled, muted_until and channels; absent fields stay as they are.

    Kind and subject are what an alert *is* (its state, incidents and event ids belong to
    them), so they cannot change: a different subject is a new alert. Channels are replaced as
    a whole; a channel sent back with its masked secret keeps the stored secret it stands for
    (`restore_secrets`). `version`,
    when given, must be the stored one (409 otherwise), so concurrent edits cannot overwrite
    each other unseen.
    """

    name: AlertName | None = None
    key: Annotated[
        AlertKey | None, Field(description="if sent, the alert's own key: a key cannot change")
    ] = None
    threshold_pct: RequestThreshold | None = None
    baseline: RequestBaseline | None = None
    enabled: bool | None = None
    muted_until: MutedUntil | None = None
    channels: Channels | None = None
    version: Annotated[int, Field(ge=1)] | None = None


IMMUTABLE_FIELDS = ("kind", *SUBJECT_FIELDS, "key")


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
    # The input is read only to keep it out of the message (it may hold a secret).
    for item in error.errors(include_url=False, include_context=False):
        location = [str(part) for part in item["loc"]]
        if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
            location.append("type")
        # Discriminated unions add the tag as a path step (`channels.0.slack.webhook_url`).
        if len(location) >= 3 and location[0] == "channels" and location[2] in _CHANNEL_TYPES:
            del location[2]
        message = _safe_message(item)
        details.append({"field": ".".join(location), "message": message})
    return details


_CHANNEL_TYPES = {"email", "slack", "slack_workflow", "pagerduty", "in_app"}
RequestT = TypeVar("RequestT", AlertCreate, AlertPatch)


def _safe_message(item: Any) -> str:
    """The error's message, unless it would repeat what the client sent."""
    if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
        return "must be one of: " + ", ".join(sorted(_CHANNEL_TYPES))
    message: str = item["msg"].removeprefix("Value error, ")
    sent = item.get("input")
    if isinstance(sent, str) and len(sent) >= 3 and sent in message:
        return "is not valid"
    return message


def parse_request(model: type[RequestT], body: Any, webhook_allow: list[str]) -> RequestT:
    if not isinstance(body, dict):
        raise InvalidRequest([{"field": "", "message": "the request body must be a JSON object"}])
    try:
        return model.model_validate(body, strict=True, context={"webhook_allow": webhook_allow})
    except ValidationError as error:
        raise InvalidRequest(field_errors(error)) from None


def check_kind_rules(data: dict[str, Any]) -> None:
    try:
        check_subjects_and_threshold(
            data["kind"], data["threshold_pct"], {field: data.get(field) for field in SUBJECT_FIELDS}
        )
        check_baseline(data["kind"], data.get("baseline", "previous_day"))
    except ValueError as error:
        message = str(error)
        field = message.split(" ", 1)[0]
        raise InvalidRequest([{"field": field, "message": message}]) from None


KEYED_ID_NAMESPACE = uuid.UUID("4f1d2c8e-6b7a-5e3f-9c0d-a1b2c3d4e5f6")


def keyed_alert_id(workspace_id: str, key: str) -> str:
    """The id of the workspace's alert with this key: the same on every worker, so two creates of one
    key are two writes of one record key on `alert-configs`, and its compare-and-set (the view's
    `decide`) lets exactly one of them win. Workspace ids never contain `/`."""
    return f"al-{uuid.uuid5(KEYED_ID_NAMESPACE, f'{workspace_id}/{key}').hex[:20]}"


def new_alert(
    request: AlertCreate, workspace_id: str, creator: Creator, now: datetime, alert_id: str | None = None
) -> AlertConfig:
    data = request.model_dump(exclude_none=True)
    data["name"] = request.name or KINDS[request.kind].default_name
    check_kind_rules(data)
    return AlertConfig(
        **data,
        id=alert_id
        or (keyed_alert_id(workspace_id, request.key) if request.key else f"al-{uuid.uuid4().hex[:20]}"),
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
            body = body | {"channels": restore_secrets(body["channels"], current.channels)}
    patch = parse_request(AlertPatch, body, webhook_allow)
    changes = patch.model_dump(exclude_unset=True)
    expected_version = changes.pop("version", None)
    if expected_version is not None and expected_version != current.version:
        raise VersionConflict(f"the alert is at version {current.version}, not {expected_version}")
    for field in ("name", "threshold_pct", "baseline", "enabled", "channels"):
        if field in changes and changes[field] is None:
            raise InvalidRequest([{"field": field, "message": f"{field} cannot be null"}])
    data = current.model_dump() | changes
    check_kind_rules(data)
    data |= {"updated_at": now, "version": current.version + 1}
    try:
        return AlertConfig.model_validate(data)
    except ValidationError as error:
        raise InvalidRequest(field_errors(error)) from None


SECRET_FIELDS = ("webhook_url", "integration_key")
_MASKED_PATH = re.compile(r"^/\*{4}.{0,4}$")


def looks_masked(field: str, value: str) -> bool:
    """True for a value in the shape the API shows a secret in, which no real secret has."""
    if field == "integration_key":
        return re.fullmatch(r"\*{4}.{0,4}", value) is not None
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return _MASKED_PATH.match(parts.path + (f"?{parts.query}" if parts.query else "")) is not None


def _masked(field: str, secret: str) -> str:
    return mask_url(secret) if field == "webhook_url" else mask_secret(secret)


def _masked_secrets(
    sent: list[Any], stored: list[Channel]
) -> list[tuple[int, str, list[Channel], list[Channel]]]:
    """Each masked secret sent, as (index, field, stored channels of the same Slack channel name,
    stored channels of the same type and mask)."""
    found = []
    for index, channel in enumerate(sent):
        if not isinstance(channel, dict):
            continue
        for field in SECRET_FIELDS:
            value = channel.get(field)
            if not isinstance(value, str) or not looks_masked(field, value):
                continue
            same = [
                c
                for c in stored
                if c.type == channel.get("type")
                and _masked(field, getattr(c, field, None) or "") == value
                and getattr(c, field, None) is not None
            ]
            named = [
                c for c in same if "channel" in channel and getattr(c, "channel", None) == channel["channel"]
            ]
            found.append((index, field, named, same))
    return found


def _by_position(
    candidates: list[Channel], index: int, sent: list[Any], stored: list[Channel]
) -> Channel | None:
    """The one candidate left, or the stored channel at the same index of an unchanged-length echo."""
    if len(candidates) == 1:
        return candidates[0]
    if candidates and len(sent) == len(stored) and any(c is stored[index] for c in candidates):
        return stored[index]
    return None


def restore_secrets(sent: list[Any], stored: list[Channel]) -> list[Any]:
    """Channels echoed back from a response carry masked secrets: put the stored ones back.

    A mask is not an identity (two Slack URLs may end in the same four characters). A masked
    value stands for a stored channel of the same type and mask, preferring the one with the
    same Slack channel name; each stored channel is claimed at most once, unambiguous matches
    first. When several remain, the stored channel at the same index decides if the list kept
    its length (an unchanged echo); otherwise the request is refused with a 422 naming the
    field and asking for the secret itself. A masked value that matches nothing is refused too,
    rather than stored as if it were a URL.
    """
    pending: dict[int, tuple[str, list[Channel], list[Channel]]] = {}
    resolved: dict[int, tuple[str, Channel]] = {}
    for index, field, named, same in _masked_secrets(sent, stored):
        unique = named if len(named) == 1 else same if len(same) == 1 else None
        if unique is not None:
            resolved[index] = (field, unique[0])
        else:
            pending[index] = (field, named, same)
    claimed = {id(channel) for _, channel in resolved.values()}
    problems: list[dict[str, str]] = []
    for index, (field, named, same) in pending.items():
        candidates = [c for c in (named or same) if id(c) not in claimed]
        choice = _by_position(candidates, index, sent, stored)
        if choice is None:
            problems.append(
                {
                    "field": f"channels.{index}.{field}",
                    "message": f"is masked and matches no single stored {field}; send the {field} itself",
                }
            )
        else:
            claimed.add(id(choice))
            resolved[index] = (field, choice)
    if problems:
        raise InvalidRequest(problems)
    return [
        channel | {resolved[index][0]: getattr(resolved[index][1], resolved[index][0])}
        if index in resolved
        else channel
        for index, channel in enumerate(sent)
    ]
