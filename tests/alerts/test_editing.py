from datetime import UTC, datetime
from decimal import Decimal

import pytest

from streamalert.alerts.editing import (
    AlertCreate,
    InvalidRequest,
    VersionConflict,
    new_alert,
    parse_request,
    patched_alert,
)
from streamalert.alerts.masking import mask_url, masked_channel, masked_target
from streamalert.records.alerts import SLACK_HOSTS, Creator, EmailChannel, SlackChannel
from streamalert.webhook_rule import AllowList, check_webhook

NOW = datetime(2026, 11, 28, 9, tzinfo=UTC)
ALICE = Creator(user_id="alice", name="Alice")
SLACK = "https://hooks.slack.com/services/T1/B1/abcdefghSECRETwxyz"
PD_KEY = "0123456789abcdef0123456789ABWXYZ"


def create(body: dict[str, object], allow: list[str] | None = None):
    request = parse_request(AlertCreate, body, allow or [])
    return new_alert(request, "ws", ALICE, NOW, alert_id="al-1")


def test_a_new_alert_gets_defaults_and_server_fields() -> None:
    alert = create(
        {
            "kind": "audience_size",
            "audience_id": "vip",
            "threshold_pct": 0.5,
            "channels": [{"type": "in_app"}],
        }
    )
    assert alert.name == "Audience size change"
    assert alert.threshold_pct == Decimal("0.5")
    assert (alert.version, alert.created_by, alert.created_at, alert.enabled) == (1, ALICE, NOW, True)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "source_volume"}, "source_id"),
        ({"kind": "source_volume", "source_id": "s", "destination_id": "d"}, "destination_id"),
        (
            {"kind": "destination_delivery_rate", "destination_id": "d", "threshold_pct": 100.01},
            "threshold_pct",
        ),
        ({"kind": "activation_volume", "audience_id": "a"}, "destination_id"),
    ],
)
def test_kind_rules_name_the_field(body: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        create({"threshold_pct": 4, "channels": [{"type": "in_app"}]} | body)
    assert raised.value.details[0]["field"] == field


def test_a_rate_threshold_of_exactly_100_is_allowed() -> None:
    alert = create(
        {
            "kind": "mapping_delivery_rate",
            "mapping_id": "m",
            "threshold_pct": 100,
            "channels": [{"type": "in_app"}],
        }
    )
    assert alert.threshold_pct == 100


def test_patch_bumps_the_version_and_keeps_masked_secrets() -> None:
    alert = create(
        {
            "kind": "source_volume",
            "source_id": "s",
            "threshold_pct": 4,
            "channels": [
                {"type": "slack", "webhook_url": SLACK, "channel": "#a"},
                {"type": "pagerduty", "integration_key": PD_KEY},
            ],
        }
    )
    echoed = [masked_channel(channel) for channel in alert.channels]
    later = datetime(2026, 11, 28, 10, tzinfo=UTC)
    patched = patched_alert(alert, {"channels": echoed, "enabled": False}, [], later)
    assert patched.version == 2 and patched.enabled is False and patched.updated_at == later
    assert patched.channels == alert.channels
    replaced = patched_alert(alert, {"channels": [{"type": "in_app"}]}, [], later)
    assert [c.type for c in replaced.channels] == ["in_app"]


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"source_id": None}, "source_id"),
        ({"source_id": "other"}, "source_id"),
        ({"kind": "source_volume"}, "kind"),
    ],
)
def test_kind_and_subject_cannot_change(patch: dict[str, object], field: str) -> None:
    alert = create(
        {
            "kind": "destination_delivery_rate",
            "destination_id": "d",
            "source_id": "s",
            "threshold_pct": 99,
            "channels": [{"type": "in_app"}],
        }
    )
    with pytest.raises(InvalidRequest) as raised:
        patched_alert(alert, patch, [], NOW)
    assert raised.value.details == [
        {"field": field, "message": "cannot be changed; create a new alert instead"}
    ]
    # Sending the current values back (a client echoing the whole alert) is fine.
    same = patched_alert(alert, {"kind": alert.kind, "source_id": "s", "threshold_pct": 98}, [], NOW)
    assert same.threshold_pct == 98


def test_a_stale_version_is_a_conflict() -> None:
    alert = create(
        {"kind": "source_volume", "source_id": "s", "threshold_pct": 4, "channels": [{"type": "in_app"}]}
    )
    assert patched_alert(alert, {"threshold_pct": 5, "version": 1}, [], NOW).version == 2
    with pytest.raises(VersionConflict, match="version 1, not 7"):
        patched_alert(alert, {"threshold_pct": 5, "version": 7}, [], NOW)


def test_webhook_urls_with_credentials_are_refused_and_never_shown() -> None:
    with pytest.raises(ValueError, match="credentials"):
        check_webhook("https://bot:s3cret@hooks.slack.com/services/x", SLACK_HOSTS, AllowList.of([]))
    assert (
        mask_url("https://bot:s3cret@hooks.slack.com:8443/services/abcdwxyz")
        == "https://hooks.slack.com:8443/****wxyz"
    )
    assert masked_target(EmailChannel(type="email", address="oncall@example.com")) == "o****@example.com"


def test_masking_keeps_only_host_and_last_four() -> None:
    channel = SlackChannel(type="slack", webhook_url=SLACK, channel="#a")
    assert masked_channel(channel)["webhook_url"] == "https://hooks.slack.com/****wxyz"
    assert "SECRET" not in masked_target(channel)


@pytest.mark.parametrize(
    ("address", "stored"),
    [
        ("oncall@corp.local", "oncall@corp.local"),  # a self-hosted mail server's internal domain
        ("team@mail.internal", "team@mail.internal"),
        ("ops@intranet", "ops@intranet"),
        ("root@localhost", "root@localhost"),
        ("Ada.Lovelace+alerts@Example.COM", "Ada.Lovelace+alerts@example.com"),
        ("ü@exämple.de", "ü@exämple.de"),
        ("a@x.com.", "a@x.com"),
    ],
)
def test_every_syntactically_valid_address_is_accepted(address: str, stored: str) -> None:
    from streamalert.records.alerts import EmailChannel

    assert EmailChannel(type="email", address=address).address == stored


@pytest.mark.parametrize(
    "address",
    [
        "a@b\r\nBcc: victim@example.com",  # header injection
        "a@x.com\n",
        "bad@@x.com",
        "@x.com",
        "a@",
        "no-at-sign",
        "a b@x.com",
        "a@-x.com",
        "a@x..com",
        "x" * 65 + "@x.com",
        "a@" + "x" * 64 + ".com",
        "Ada <a@x.com>",
    ],
)
def test_malformed_addresses_are_refused(address: str) -> None:
    from pydantic import ValidationError

    from streamalert.records.alerts import EmailChannel

    with pytest.raises(ValidationError):
        EmailChannel(type="email", address=address)


# Two Slack URLs whose masks are the same (same host, same last four characters).
URL_A = "https://hooks.slack.com/services/T1/B1/firstSECRETsame"
URL_B = "https://hooks.slack.com/services/T1/B2/secondSECRETsame"
URL_C = "https://hooks.slack.com/services/T1/B3/thirdSECRETdiff"
MASK_SAME = "https://hooks.slack.com/****same"
A = {"type": "slack", "webhook_url": URL_A, "channel": "#a"}
B = {"type": "slack", "webhook_url": URL_B, "channel": "#b"}
C = {"type": "slack", "webhook_url": URL_C, "channel": "#c"}
B_SAME_NAME = B | {"channel": "#a"}
WF_A = {"type": "slack_workflow", "webhook_url": URL_A}
WF_B = {"type": "slack_workflow", "webhook_url": URL_B}


def masked(channel: dict[str, str]) -> dict[str, str]:
    return channel | {"webhook_url": mask_url(channel["webhook_url"])}


@pytest.mark.parametrize(
    ("stored", "sent", "expected"),
    [
        # The reported bug: the echo of two channels with the same mask keeps each its own URL.
        ([A, B], [masked(A), masked(B)], [A, B]),
        ([A, B], [masked(B), masked(A)], [B, A]),  # reordered: told apart by channel name
        ([A, B], [masked(B)], [B]),  # the first removed
        ([A, B], [masked(A)], [A]),
        ([A, B], [masked(B) | {"channel": "#renamed"}, masked(A)], [B | {"channel": "#renamed"}, A]),
        ([A, B], [masked(A), masked(B) | {"channel": "#renamed"}], [A, B | {"channel": "#renamed"}]),
        ([A, B_SAME_NAME], [masked(A), masked(B_SAME_NAME)], [A, B_SAME_NAME]),  # position decides
        ([A, B_SAME_NAME], [masked(B_SAME_NAME)], "channels.0.webhook_url"),  # it cannot: ask
        ([WF_A, WF_B], [masked(WF_A), masked(WF_B)], [WF_A, WF_B]),
        ([WF_A, WF_B], [masked(WF_B), masked(WF_A)], [WF_A, WF_B]),  # same length: by position
        ([WF_A, WF_B], [masked(WF_B)], "channels.0.webhook_url"),
        ([WF_A, WF_B], [masked(WF_A), masked(WF_B), {"type": "in_app"}], "channels.0.webhook_url"),
        ([A, C], [masked(C), masked(A)], [C, A]),  # different masks: unambiguous in any order
        ([A], [masked(A) | {"type": "slack_workflow"} | {"channel": None}], "channels.0.webhook_url"),
        ([A], [masked(C)], "channels.0.webhook_url"),  # a mask that stands for nothing stored
        ([A], [B], [B]),  # a new secret sent in full replaces the old one
        ([], [masked(A)], "channels.0.webhook_url"),
    ],
)
def test_masked_secrets_are_matched_by_identity_not_by_mask(
    stored: list[dict[str, str]], sent: list[dict[str, str]], expected: list[dict[str, str]] | str
) -> None:
    alert = create(
        {
            "kind": "source_volume",
            "source_id": "s",
            "threshold_pct": 4,
            "channels": stored or [{"type": "in_app"}],
        }
    )
    body = {"channels": [{k: v for k, v in c.items() if v is not None} for c in sent]}
    if isinstance(expected, str):
        with pytest.raises(InvalidRequest) as raised:
            patched_alert(alert, body, [], NOW)
        assert raised.value.details[0]["field"] == expected
        assert "send the webhook_url" in raised.value.details[0]["message"]
        assert "SECRET" not in str(raised.value.details)
    else:
        patched = patched_alert(alert, body, [], NOW)
        assert [c.model_dump() for c in patched.channels] == expected


def test_a_masked_integration_key_is_restored_or_refused() -> None:
    other = "0123456789abcdef0123456789ZZWXYZ"
    alert = create(
        {
            "kind": "source_volume",
            "source_id": "s",
            "threshold_pct": 4,
            "channels": [
                {"type": "pagerduty", "integration_key": PD_KEY},
                {"type": "pagerduty", "integration_key": other},
            ],
        }
    )
    echoed = [masked_channel(channel) for channel in alert.channels]
    assert patched_alert(alert, {"channels": echoed}, [], NOW).channels == alert.channels
    with pytest.raises(InvalidRequest) as raised:
        patched_alert(alert, {"channels": echoed[1:]}, [], NOW)
    assert raised.value.details[0]["field"] == "channels.0.integration_key"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"enabled": 0.0}, "enabled"),
        ({"enabled": 1}, "enabled"),
        ({"enabled": "true"}, "enabled"),
        ({"threshold_pct": "5"}, "threshold_pct"),
        ({"threshold_pct": True}, "threshold_pct"),
        ({"threshold_pct": None}, "threshold_pct"),
        ({"version": 1.0}, "version"),
        ({"version": "1"}, "version"),
        ({"name": 5}, "name"),
        ({"channels": [{"type": "email", "address": 5}]}, "channels.0.address"),
        ({"channels": {"type": "in_app"}}, "channels"),
    ],
)
def test_request_fields_take_strict_json_types(body: dict[str, object], field: str) -> None:
    alert = create(
        {"kind": "source_volume", "source_id": "s", "threshold_pct": 4, "channels": [{"type": "in_app"}]}
    )
    with pytest.raises(InvalidRequest) as raised:
        patched_alert(alert, body, [], NOW)
    assert raised.value.details[0]["field"] == field


@pytest.mark.parametrize(
    ("sent", "stored"), [(5, Decimal(5)), (7.25, Decimal("7.25")), (0.1, Decimal("0.1"))]
)
def test_json_number_thresholds_are_exact(sent: float, stored: Decimal) -> None:
    alert = create(
        {"kind": "source_volume", "source_id": "s", "threshold_pct": sent, "channels": [{"type": "in_app"}]}
    )
    assert alert.threshold_pct == stored


def test_a_bad_channel_type_is_not_echoed() -> None:
    with pytest.raises(InvalidRequest) as raised:
        create(
            {
                "kind": "source_volume",
                "source_id": "s",
                "threshold_pct": 4,
                "channels": [{"type": "carrier_pigeon_SECRET"}],
            }
        )
    assert raised.value.details[0]["field"] == "channels.0.type"
    assert "SECRET" not in str(raised.value.details) and "email" in raised.value.details[0]["message"]


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        (0.123456, Decimal("0.123456")),
        (0.1 + 0.2, None),  # 0.30000000000000004, not 0.3: 17 digits, refused
        (1.0000001, None),  # 7 decimals
        (5e-324, None),
        (999999.999999, Decimal("999999.999999")),
    ],
)
def test_a_float_threshold_is_the_decimal_it_was_written_as(sent: float, stored: Decimal | None) -> None:
    body = {
        "kind": "source_volume",
        "source_id": "s",
        "threshold_pct": sent,
        "channels": [{"type": "in_app"}],
    }
    if stored is None:
        with pytest.raises(InvalidRequest) as raised:
            create(body)
        assert raised.value.details[0]["field"] == "threshold_pct"
    else:
        assert create(body).threshold_pct == stored


@pytest.mark.parametrize(
    ("url", "allow", "problem"),
    [
        ("http://hooks.slack.com/services/x", [], "must use https"),
        ("https://example.com/services/x", [], "is not one of hooks.slack.com"),
        ("http://127.0.0.1:9000/hook", [], "must use https"),
        ("http://127.0.0.1:9000/hook", ["127.0.0.1"], None),
        ("http://hooks.local/hook", ["hooks.local"], None),
    ],
)
def test_a_request_is_held_to_the_webhook_rule(url: str, allow: list[str], problem: str | None) -> None:
    body = {
        "kind": "source_volume",
        "source_id": "s",
        "threshold_pct": 4,
        "channels": [{"type": "slack_workflow", "webhook_url": url}],
    }
    if problem is None:
        assert create(body, allow).channels[0].webhook_url == url  # type: ignore[union-attr]
        return
    with pytest.raises(InvalidRequest, match=problem) as raised:
        create(body, allow)
    assert raised.value.details[0]["field"].endswith("webhook_url") and "/hook" not in str(raised.value)


# --- baseline ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "subject"),
    [
        ("source_volume", {"source_id": "s"}),
        ("activation_volume", {"audience_id": "a", "destination_id": "d"}),
        ("audience_size", {"audience_id": "a"}),
    ],
)
def test_a_change_kind_takes_either_baseline(kind: str, subject: dict[str, str]) -> None:
    body = {"kind": kind, "threshold_pct": 4, "channels": [{"type": "in_app"}]} | subject
    assert create(body).baseline == "previous_day"  # the default, today's rule
    assert create(body | {"baseline": "previous_day"}).baseline == "previous_day"
    weekly = create(body | {"baseline": "same_day_last_week"})
    assert weekly.baseline == "same_day_last_week"
    assert weekly.model_dump(mode="json")["baseline"] == "same_day_last_week"
    back = patched_alert(weekly, {"baseline": "previous_day"}, [], NOW)
    assert (back.baseline, back.version) == ("previous_day", 2)


@pytest.mark.parametrize(
    ("kind", "subject"),
    [("destination_delivery_rate", {"destination_id": "d"}), ("mapping_delivery_rate", {"mapping_id": "m"})],
)
def test_a_rate_kind_accepts_only_the_default_baseline(kind: str, subject: dict[str, str]) -> None:
    body = {"kind": kind, "threshold_pct": 99, "channels": [{"type": "in_app"}]} | subject
    assert create(body | {"baseline": "previous_day"}).baseline == "previous_day"
    with pytest.raises(InvalidRequest) as raised:
        create(body | {"baseline": "same_day_last_week"})
    assert raised.value.details == [
        {
            "field": "baseline",
            "message": f"baseline does not apply to kind {kind}: it accepts only previous_day",
        }
    ]
    with pytest.raises(InvalidRequest) as patched:
        patched_alert(create(body), {"baseline": "same_day_last_week"}, [], NOW)
    assert patched.value.details[0]["field"] == "baseline"


@pytest.mark.parametrize("value", ["last_week", "", None, 7, "PREVIOUS_DAY"])
def test_an_unknown_baseline_is_refused(value: object) -> None:
    body = {"kind": "source_volume", "source_id": "s", "threshold_pct": 4, "channels": [{"type": "in_app"}]}
    with pytest.raises(InvalidRequest) as raised:
        create(body | {"baseline": value})
    assert raised.value.details[0]["field"] == "baseline"
    alert = create(body)
    with pytest.raises(InvalidRequest) as patched:
        patched_alert(alert, {"baseline": value}, [], NOW)
    assert patched.value.details[0]["field"] == "baseline"
