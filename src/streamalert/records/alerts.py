"""Alert configurations: what is watched (the kinds are in `streamalert.kinds`), how strictly, and
who is told."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, Field, StringConstraints, ValidationInfo, WithJsonSchema, model_validator

from streamalert.kinds import KINDS, SUBJECT_FIELDS, AlertKind, Baseline
from streamalert.records.common import Id, Percent, StrictRecord, Timestamp
from streamalert.webhook_rule import AllowList, check_webhook

SLACK_HOSTS = frozenset({"hooks.slack.com"})


def _webhook_allow(info: ValidationInfo) -> list[str] | None:
    """The operator's allow list when validating a request; None when reading the system of record."""
    context: Any = info.context
    if isinstance(context, dict) and "webhook_allow" in context:
        return list(context["webhook_allow"])
    return None


_DOMAIN_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def check_email_address(value: str) -> str:
    """Any syntactically valid address, internal domains included (`oncall@corp.local`,
    `team@intranet`): a self-hosted mail server delivers to names the public DNS never sees.
    Malformed addresses and anything that could inject a header (line breaks) are refused."""
    if any(char in value for char in "\r\n\0"):
        raise ValueError("must not contain line breaks")
    local, at, domain = value.rpartition("@")
    if not at or not domain:
        raise ValueError("is not a valid email address: it needs a name, an @-sign and a domain")
    if len(local.encode()) > 64:
        raise ValueError("is not a valid email address: the part before the @-sign is longer than 64 bytes")
    try:
        # The local part, by the library's rules; the domain is checked below, without its
        # refusal of special-use names such as .local.
        normalized = validate_email(f"{local}@example.com", check_deliverability=False).local_part
    except EmailNotValidError as error:
        raise ValueError(f"is not a valid email address: {error}") from None
    try:
        ascii_domain = domain.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        ascii_domain = ""
    if not (0 < len(ascii_domain) <= 253) or not all(_DOMAIN_LABEL.match(x) for x in ascii_domain.split(".")):
        raise ValueError("is not a valid email address: the part after the @-sign is not a valid domain name")
    return f"{normalized}@{domain.rstrip('.').lower()}"


EmailAddress = Annotated[
    str,
    StringConstraints(min_length=3, max_length=254),
    AfterValidator(check_email_address),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 254}),
]


class EmailChannel(StrictRecord):
    type: Literal["email"]
    address: EmailAddress


def _slack_webhook(value: str, info: ValidationInfo) -> str:
    allow = _webhook_allow(info)
    if allow is not None:
        check_webhook(value, SLACK_HOSTS, AllowList.of(allow))
    return value


WEBHOOK_RULE = (
    "an absolute https URL on hooks.slack.com, default port, without credentials; a host or "
    "CIDR named in the operator's STREAMALERT_WEBHOOK_ALLOW is accepted over http or https "
    "and any port instead. Responses show it masked."
)
SlackWebhookUrl = Annotated[
    str,
    StringConstraints(max_length=2048),
    AfterValidator(_slack_webhook),
    Field(description=WEBHOOK_RULE),
]
"""A Slack webhook URL, held to the webhook rule when it comes from a request."""


class SlackChannel(StrictRecord):
    type: Literal["slack"]
    webhook_url: SlackWebhookUrl
    channel: Annotated[str, StringConstraints(min_length=1, max_length=80)]


class SlackWorkflowChannel(StrictRecord):
    type: Literal["slack_workflow"]
    webhook_url: SlackWebhookUrl


class PagerDutyChannel(StrictRecord):
    type: Literal["pagerduty"]
    integration_key: Annotated[
        str, StringConstraints(min_length=32, max_length=32, pattern=r"^[A-Za-z0-9]+$")
    ]


class InAppChannel(StrictRecord):
    type: Literal["in_app"]


Channel = Annotated[
    EmailChannel | SlackChannel | SlackWorkflowChannel | PagerDutyChannel | InAppChannel,
    Field(discriminator="type"),
]
ChannelType = Literal["email", "slack", "slack_workflow", "pagerduty", "in_app"]


class Creator(StrictRecord):
    user_id: Id
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]


Threshold = Annotated[Percent, Field(gt=Decimal(0), max_digits=12, decimal_places=6)]
AlertName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
AlertKey = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9._-]*$"),
    Field(
        description="a stable identifier chosen by the user, unique in the workspace (lower-case letters, "
        "digits, `.`, `_`, `-`; at most 100): `streamalert alerts apply` matches a file's alerts by it. "
        "Set when the alert is created and fixed afterwards, like kind and subject: the alert's id "
        "derives from it.",
        examples=["checkout-volume"],
    ),
]


def check_subjects_and_threshold(kind: str, threshold: Decimal, subjects: dict[str, str | None]) -> None:
    """Raise ValueError naming the offending field when the kind's rules are broken."""
    spec = KINDS[kind]
    for field in spec.required:
        if not subjects.get(field):
            raise ValueError(f"{field} is required for kind {kind}")
    for field in SUBJECT_FIELDS:
        if subjects.get(field) and field not in spec.allowed:
            raise ValueError(f"{field} does not apply to kind {kind}")
    if spec.decision == "rate" and threshold > 100:
        raise ValueError("threshold_pct of a rate alert must be at most 100")


def check_baseline(kind: str, baseline: str) -> None:
    """Raise ValueError naming `baseline` when the kind has no baseline to choose (a rate kind
    accepts only the default, `previous_day`)."""
    if baseline != "previous_day" and not KINDS[kind].baseline_choice:
        raise ValueError(f"baseline does not apply to kind {kind}: it accepts only previous_day")


class AlertConfig(StrictRecord):
    """One alert as held in `alert-configs` (key = id) and returned by the API (masked)."""

    id: Id
    workspace_id: Id
    kind: AlertKind
    name: AlertName
    key: AlertKey | None = None
    threshold_pct: Threshold
    baseline: Baseline = "previous_day"
    source_id: Id | None = None
    destination_id: Id | None = None
    mapping_id: Id | None = None
    audience_id: Id | None = None
    enabled: bool = True
    muted_until: Timestamp | None = None
    """Evaluated and published, but no channel is notified before this time (docs/design.md#muting)."""
    channels: Annotated[list[Channel], Field(min_length=1, max_length=20)]
    created_by: Creator
    created_at: Timestamp
    updated_at: Timestamp
    version: Annotated[int, Field(ge=1)] = 1

    @model_validator(mode="after")
    def _kind_rules(self) -> AlertConfig:
        check_subjects_and_threshold(
            self.kind, self.threshold_pct, {field: getattr(self, field) for field in SUBJECT_FIELDS}
        )
        check_baseline(self.kind, self.baseline)
        return self

    @property
    def subject(self) -> dict[str, str]:
        return {field: value for field in SUBJECT_FIELDS if (value := getattr(self, field))}
