"""The OpenAPI document tells the truth about the request rules: it and the server agree."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from streamalert.alerts.editing import AlertCreate, InvalidRequest, new_alert, parse_request
from streamalert.records.alerts import Creator
from streamalert.web.openapi import openapi_document

NOW_CREATOR = Creator(user_id="u", name="U")


def validator(name: str) -> Draft202012Validator:
    document = openapi_document()
    return Draft202012Validator(
        {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    )


def server_accepts(body: dict[str, Any]) -> bool:
    from datetime import UTC, datetime

    try:
        new_alert(parse_request(AlertCreate, body, []), "ws", NOW_CREATOR, datetime.now(UTC))
    except InvalidRequest:
        return False
    return True


BASE = {"threshold_pct": 4, "channels": [{"type": "in_app"}]}


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({"kind": "source_volume", "source_id": "s"}, True),
        ({"kind": "source_volume"}, False),
        ({"kind": "source_volume", "source_id": None}, False),
        ({"kind": "source_volume", "source_id": "s", "destination_id": "d"}, False),
        ({"kind": "source_volume", "source_id": "s", "destination_id": None}, True),
        ({"kind": "destination_delivery_rate", "destination_id": "d", "source_id": "s"}, True),
        ({"kind": "destination_delivery_rate", "source_id": "s"}, False),
        ({"kind": "destination_delivery_rate", "destination_id": "d", "threshold_pct": 100}, True),
        ({"kind": "destination_delivery_rate", "destination_id": "d", "threshold_pct": 100.5}, False),
        ({"kind": "mapping_delivery_rate", "mapping_id": "m", "source_id": "s", "destination_id": "d"}, True),
        ({"kind": "mapping_delivery_rate", "mapping_id": "m", "audience_id": "a"}, False),
        ({"kind": "activation_volume", "audience_id": "a", "destination_id": "d"}, True),
        ({"kind": "activation_volume", "audience_id": "a"}, False),
        ({"kind": "audience_size", "audience_id": "a", "destination_id": "d", "threshold_pct": 250}, True),
        ({"kind": "audience_size", "audience_id": "a", "source_id": "s"}, False),
        ({"kind": "source_volume", "source_id": "s", "threshold_pct": 0}, False),
        ({"kind": "source_volume", "source_id": "s", "threshold_pct": -1}, False),
        ({"kind": "source_volume", "source_id": "s", "threshold_pct": 0.000001}, True),
        ({"kind": "source_volume", "source_id": "s", "threshold_pct": 0.0000001}, False),
        ({"kind": "source_volume", "source_id": "s", "threshold_pct": 999999.999999}, True),
        ({"kind": "source_volume", "source_id": "s", "threshold_pct": 1000000}, False),
        ({"kind": "source_volume", "source_id": "s", "threshold_pct": "5"}, False),
        ({"kind": "source_volume", "source_id": "s", "enabled": 0}, False),
        ({"kind": "source_volume", "source_id": "s", "key": "checkout-web.v2_1"}, True),
        ({"kind": "source_volume", "source_id": "s", "key": None}, True),
        ({"kind": "source_volume", "source_id": "s", "key": "Checkout"}, False),
        ({"kind": "source_volume", "source_id": "s", "key": "-lead"}, False),
        ({"kind": "source_volume", "source_id": "s", "key": "a b"}, False),
        ({"kind": "source_volume", "source_id": "s", "key": ""}, False),
        ({"kind": "source_volume", "source_id": "s", "key": "k" * 100}, True),
        ({"kind": "source_volume", "source_id": "s", "key": "k" * 101}, False),
        ({"kind": "source_volume", "source_id": "s", "baseline": "same_day_last_week"}, True),
        ({"kind": "source_volume", "source_id": "s", "baseline": "previous_day"}, True),
        ({"kind": "source_volume", "source_id": "s", "baseline": "last_week"}, False),
        ({"kind": "source_volume", "source_id": "s", "baseline": None}, False),
        ({"kind": "audience_size", "audience_id": "a", "baseline": "same_day_last_week"}, True),
        (
            {
                "kind": "activation_volume",
                "audience_id": "a",
                "destination_id": "d",
                "baseline": "same_day_last_week",
            },
            True,
        ),
        ({"kind": "destination_delivery_rate", "destination_id": "d", "baseline": "previous_day"}, True),
        (
            {"kind": "destination_delivery_rate", "destination_id": "d", "baseline": "same_day_last_week"},
            False,
        ),
        ({"kind": "mapping_delivery_rate", "mapping_id": "m", "baseline": "same_day_last_week"}, False),
    ],
)
def test_the_document_and_the_server_agree_on_create(body: dict[str, Any], valid: bool) -> None:
    request = BASE | body
    assert validator("AlertCreate").is_valid(request) is valid
    assert server_accepts(request) is valid


def test_the_document_states_the_webhook_rule_and_the_kinds() -> None:
    schemas = openapi_document()["components"]["schemas"]
    assert "hooks.slack.com" in schemas["SlackChannel"]["properties"]["webhook_url"]["description"]
    assert (
        "STREAMALERT_WEBHOOK_ALLOW"
        in schemas["SlackWorkflowChannel"]["properties"]["webhook_url"]["description"]
    )
    assert (
        "activation_volume: requires audience_id and destination_id" in schemas["AlertCreate"]["description"]
    )
    threshold = schemas["AlertPatch"]["properties"]["threshold_pct"]["anyOf"][0]
    assert (threshold["exclusiveMinimum"], threshold["maximum"]) == (0, 999999.999999)
    assert "at most 100 for the rate kinds" in threshold["description"]


def server_previews(body: dict[str, Any]) -> bool:
    from datetime import UTC, datetime

    from streamalert.web.preview import AlertPreview, preview_config

    try:
        preview_config(parse_request(AlertPreview, body, []), "ws", NOW_CREATOR, datetime.now(UTC))
    except InvalidRequest:
        return False
    return True


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({"kind": "source_volume", "source_id": "s", "threshold_pct": 4}, True),
        (
            {"kind": "source_volume", "source_id": "s", "threshold_pct": 4, "channels": [{"type": "in_app"}]},
            True,
        ),
        ({"kind": "source_volume", "source_id": "s", "threshold_pct": 4, "channels": []}, False),
        ({"kind": "source_volume", "source_id": "s", "threshold_pct": 4, "channels": None}, True),
        ({"kind": "source_volume", "threshold_pct": 4}, False),
        ({"kind": "source_volume", "source_id": "s"}, False),
        ({"kind": "destination_delivery_rate", "destination_id": "d", "threshold_pct": 100.5}, False),
        ({"kind": "audience_size", "audience_id": "a", "threshold_pct": 0.000001}, True),
        ({"kind": "source_volume", "source_id": "s", "threshold_pct": 4, "days": 7}, False),
    ],
)
def test_the_document_and_the_server_agree_on_preview(body: dict[str, Any], valid: bool) -> None:
    assert validator("AlertPreview").is_valid(body) is valid
    assert server_previews(body) is valid


def test_the_preview_example_is_valid() -> None:
    document = openapi_document()
    post = document["paths"]["/v1/workspaces/{ws}/alerts/preview"]["post"]
    assert validator("AlertPreview").is_valid(post["requestBody"]["content"]["application/json"]["example"])
    example = post["responses"]["200"]["content"]["application/json"]["example"]
    validator("Preview").validate(example)
    (days,) = post["parameters"]
    assert (days["name"], days["schema"]["minimum"], days["schema"]["maximum"]) == ("days", 1, 7)


def test_the_create_examples_are_valid_and_the_key_is_documented() -> None:
    document = openapi_document()
    alerts = document["paths"]["/v1/workspaces/{ws}/alerts"]
    examples = alerts["post"]["requestBody"]["content"]["application/json"]["examples"]
    for example in examples.values():
        assert validator("AlertCreate").is_valid(example["value"])
        assert server_accepts(example["value"])
    assert "409" in alerts["post"]["responses"]
    assert [p["name"] for p in alerts["get"]["parameters"]] == ["key"]
    assert (
        "unique in the workspace"
        in document["components"]["schemas"]["Alert"]["properties"]["key"]["anyOf"][0]["description"]
    )


def test_the_document_explains_the_baseline_with_an_example() -> None:
    document = openapi_document()
    schemas = document["components"]["schemas"]
    described = schemas["AlertCreate"]["properties"]["baseline"]
    assert (
        described["enum"] == ["previous_day", "same_day_last_week"] and described["default"] == "previous_day"
    )
    assert "[H - 192 h, H - 168 h)" in described["description"]
    assert "baseline" in schemas["AlertPatch"]["properties"] and "baseline" in schemas["Alert"]["properties"]
    post = document["paths"]["/v1/workspaces/{ws}/alerts"]["post"]["requestBody"]["content"][
        "application/json"
    ]
    example = post["examples"]["week_over_week"]["value"]
    assert example["baseline"] == "same_day_last_week"
    assert validator("AlertCreate").is_valid(example) and server_accepts(example)
