"""Alerts as code, the pure parts: `${VAR}`, positions, checking a file, the plan, export."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from streamalert.alerts.ascode import (
    Document,
    FileProblems,
    check_file,
    compute_plan,
    expand_variables,
    export_document,
    load_file,
    stand_in,
)
from streamalert.alerts.masking import mask_secret, mask_url

SLACK = "https://hooks.slack.com/services/T1/B1/abcdefghSECRETwxyz"
PD_KEY = "0123456789abcdef0123456789ABWXYZ"


@pytest.mark.parametrize(
    ("text", "environ", "expanded", "missing"),
    [
        ("plain", {}, "plain", []),
        ("${A}", {"A": "x"}, "x", []),
        ("https://${HOST}/p/${TAIL}", {"HOST": "h", "TAIL": "t"}, "https://h/p/t", []),
        ("$${A}", {}, "${A}", []),
        ("$${A} ${A}", {"A": "x"}, "${A} x", []),
        ("$$${A}", {"A": "x"}, "$${A}", []),  # `$$` escapes only before `{`
        ("${A}${B}", {"A": "1"}, "1", ["B"]),
        ("${A}", {"A": ""}, "", []),  # set but empty is set
        ("$A and ${not valid}", {}, "$A and ${not valid}", []),
        ("${A}${A}", {}, "", ["A", "A"]),
    ],
)
def test_expand_variables(text: str, environ: dict[str, str], expanded: str, missing: list[str]) -> None:
    assert expand_variables(text, environ) == (expanded, missing)


POSITIONED = """\
alerts:
  - key: a
    channels:
      - type: email
        address: x@example.com
  -   key: b
"""


@pytest.mark.parametrize(
    ("path", "position"),
    [
        ((), (1, 1)),
        (("alerts",), (2, 3)),
        (("alerts", 0), (2, 5)),
        (("alerts", 0, "key"), (2, 10)),
        (("alerts", 0, "channels", 0, "address"), (5, 18)),
        (("alerts", 0, "channels", 0, "webhook_url"), (4, 9)),  # absent: its channel
        (("alerts", 0, "threshold_pct"), (2, 5)),  # absent: its alert
        (("alerts", 1, "key"), (6, 12)),
        (("alerts", 7), (2, 3)),
    ],
)
def test_positions_are_the_nearest_node_the_file_has(
    path: tuple[Any, ...], position: tuple[int, int]
) -> None:
    assert load_file(POSITIONED, {}).position(path) == position


@pytest.mark.parametrize(
    ("text", "described"),
    [
        ("a: ${NOPE}\n", ["f.yaml:1:4: a: environment variable NOPE is not set"]),
        (
            "alerts:\n  - key: ${A}\n    name: ${B}\n",
            [
                "f.yaml:2:10: alerts.0.key: environment variable A is not set",
                "f.yaml:3:11: alerts.0.name: environment variable B is not set",
            ],
        ),
        ("alerts: [\n", ["f.yaml:2:1: not valid YAML: expected the node content, but found '<stream end>'"]),
    ],
)
def test_unreadable_files(text: str, described: list[str]) -> None:
    with pytest.raises(FileProblems) as raised:
        load_file(text, {})
    assert [problem.describe("f.yaml") for problem in raised.value.problems] == described


def test_timestamps_and_numbers_keep_their_yaml_meaning_but_timestamps_stay_text() -> None:
    data = load_file("a: 2026-12-04T05:00:00Z\nb: 4.5\nc: '4.5'\nd: true\ne: null\n", {}).data
    assert data == {"a": "2026-12-04T05:00:00Z", "b": 4.5, "c": "4.5", "d": True, "e": None}


def alert(key_: str, **fields: Any) -> str:
    body = {"key": key_, "kind": "source_volume", "source_id": "web", "threshold_pct": 4}
    body |= {"channels": [{"type": "in_app"}]} | fields
    body = {name: value for name, value in body.items() if value is not None}
    return yaml.safe_dump([body], sort_keys=False)


def problems_of(*entries: str) -> list[str]:
    text = "alerts:\n" if entries else "alerts: []\n"
    text += "".join("\n".join("  " + line for line in entry.splitlines()) + "\n" for entry in entries)
    document = load_file(text, {})
    _, problems = check_file(document)
    return [f"{p.line}:{p.column} {p.index} {p.key} {p.field}: {p.message}" for p in problems]


@pytest.mark.parametrize(
    ("entries", "problems"),
    [
        ([alert("a"), alert("b")], []),
        ([alert("a"), alert("a")], ["8:10 1 a key: is the key of alert 0 too; keys are unique"]),
        ([alert("a", threshold_pct="5")], ["5:20 0 a threshold_pct: must be a JSON number"]),
        ([alert("a", key=None)], ["2:5 0 None key: is required: apply finds the alert by its key"]),
        ([alert("A")], ["2:10 0 A key: String should match pattern '^[a-z0-9][a-z0-9._-]*$'"]),
        ([alert("a", source_id=None)], ["2:5 0 a source_id: source_id is required for kind source_volume"]),
        ([alert("a", colour="red")], ["8:13 0 a colour: Extra inputs are not permitted"]),
        (
            [alert("a", muted_until="2026-12-04T10:00:00Z")],
            [
                "8:18 0 a muted_until: is not part of an alert's code: use `streamalert alerts mute` / `unmute`"
            ],
        ),
        (
            [
                alert(
                    "a", channels=[{"type": "slack", "channel": "#x", "webhook_url": "http://example.com/x"}]
                )
            ],
            [],  # the operator's webhook rule is the API's to apply
        ),
        (
            [alert("a", channels=[{"type": "pagerduty", "integration_key": "****WXYZ"}])],
            [],  # masked: checked as a stand-in of the right shape
        ),
        (
            [alert("a"), alert("b", channels=[{"type": "email", "address": "nope"}]), alert("c")],
            [
                "14:16 1 b channels.0.address: is not a valid email address: it needs a name, an @-sign and a domain"
            ],
        ),
    ],
)
def test_check_file_names_every_problem(entries: list[str], problems: list[str]) -> None:
    assert problems_of(*entries) == problems


def test_a_file_must_hold_a_list_of_alerts() -> None:
    _, problems = check_file(Document({"alert": []}, {(): (1, 1)}))
    assert [p.describe("f") for p in problems] == ['f:1:1: must be a mapping with a list under "alerts"']


@pytest.mark.parametrize(
    "secret", [SLACK, "http://127.0.0.1:8080/hook?token=abcd1234", "https://hooks.slack.com/ab"]
)
def test_a_stand_in_masks_as_the_secret_does(secret: str) -> None:
    assert mask_url(stand_in("webhook_url", mask_url(secret))) == mask_url(secret)


def test_a_stand_in_key_masks_as_the_key_does() -> None:
    made = stand_in("integration_key", mask_secret(PD_KEY))
    assert len(made) == 32 and mask_secret(made) == mask_secret(PD_KEY)


def stored(key: str | None, alert_id: str, **fields: Any) -> dict[str, Any]:
    """An alert as the API returns it (masked)."""
    body = {
        "id": alert_id,
        "key": key,
        "kind": "source_volume",
        "name": "Source volume change",
        "source_id": "web",
        "destination_id": None,
        "mapping_id": None,
        "audience_id": None,
        "threshold_pct": 4,
        "baseline": "previous_day",
        "enabled": True,
        "muted_until": None,
        "channels": [{"type": "in_app"}],
        "created_by": {"user_id": "ada", "name": "Ada"},
        "version": 3,
    }
    return body | fields


SLACK_OUT = {"type": "slack", "channel": "#ops", "webhook_url": mask_url(SLACK)}
SLACK_IN = {"type": "slack", "channel": "#ops", "webhook_url": SLACK}


def plan_of(
    entries: list[str],
    current: list[dict[str, Any]],
    prune: bool = False,
    caller: dict[str, Any] | None = None,
) -> list[tuple[Any, ...]]:
    text = "alerts:\n" if entries else "alerts: []\n"
    text += "".join("\n".join("  " + line for line in entry.splitlines()) + "\n" for entry in entries)
    document = load_file(text, {})
    desired, problems = check_file(document)
    assert problems == []
    plan = compute_plan(document, desired, current, prune, caller)
    return [(a.action, a.key, a.alert_id, a.body, a.changes) for a in plan.actions] + [
        ("problem", p.key, p.field, p.message) for p in plan.problems
    ]


@pytest.mark.parametrize(
    ("entries", "current", "prune", "expected"),
    [
        ([], [], False, []),
        (
            [alert("a")],
            [],
            False,
            [("create", "a", None, yaml.safe_load(alert("a"))[0], [])],
        ),
        ([alert("a")], [stored("a", "al-1")], False, [("unchanged", "a", "al-1", {}, [])]),
        # a name left out is the kind's default name; 4 and 4.0 are one threshold
        ([alert("a", threshold_pct=4.0)], [stored("a", "al-1")], False, [("unchanged", "a", "al-1", {}, [])]),
        # an alert without a key is known by its id (the key export gives it)
        ([alert("al-9")], [stored(None, "al-9")], False, [("unchanged", "al-9", "al-9", {}, [])]),
        (
            [alert("a", threshold_pct=6, enabled=False)],
            [stored("a", "al-1")],
            False,
            [
                (
                    "update",
                    "a",
                    "al-1",
                    {"threshold_pct": 6, "enabled": False, "version": 3},
                    ["threshold_pct: 4 → 6", "enabled: true → false"],
                )
            ],
        ),
        (
            [alert("a")],
            [stored("a", "al-1", name="Renamed")],
            False,
            [
                (
                    "update",
                    "a",
                    "al-1",
                    {"name": "Source volume change", "version": 3},
                    ["name: Renamed → Source volume change"],
                )
            ],
        ),
        # a secret given whole whose mask is the stored one's is the stored one
        (
            [alert("a", channels=[SLACK_IN])],
            [stored("a", "al-1", channels=[SLACK_OUT])],
            False,
            [("unchanged", "a", "al-1", {}, [])],
        ),
        (
            [alert("a", channels=[SLACK_OUT])],
            [stored("a", "al-1", channels=[SLACK_OUT])],
            False,
            [("unchanged", "a", "al-1", {}, [])],
        ),
        (
            [alert("a", channels=[SLACK_OUT, {"type": "in_app"}])],
            [stored("a", "al-1", channels=[SLACK_OUT])],
            False,
            [
                (
                    "update",
                    "a",
                    "al-1",
                    {"channels": [SLACK_OUT, {"type": "in_app"}], "version": 3},
                    ["channels"],
                )
            ],
        ),
        (
            [alert("a", channels=[SLACK_IN | {"webhook_url": SLACK.replace("wxyz", "WXYZ")}])],
            [stored("a", "al-1", channels=[SLACK_OUT])],
            False,
            [
                (
                    "update",
                    "a",
                    "al-1",
                    {"channels": [SLACK_IN | {"webhook_url": SLACK.replace("wxyz", "WXYZ")}], "version": 3},
                    ["channels"],
                )
            ],
        ),
        (
            [alert("a", channels=[SLACK_OUT])],
            [],
            False,
            [
                (
                    "problem",
                    "a",
                    "channels.0.webhook_url",
                    "is masked and there is no stored alert to keep it from; give the secret, e.g. ${VAR}",
                )
            ],
        ),
        (
            [alert("a", channels=[SLACK_OUT | {"channel": "#other"}, {"type": "in_app"}])],
            [stored("a", "al-1", channels=[{"type": "in_app"}])],
            False,
            [
                (
                    "problem",
                    "a",
                    "channels.0.webhook_url",
                    "is masked and matches no single stored webhook_url; send the webhook_url itself",
                )
            ],
        ),
        (
            [alert("a", source_id="api")],
            [stored("a", "al-1")],
            False,
            [
                (
                    "problem",
                    "a",
                    "source_id",
                    "cannot be changed (the alert has web); delete the alert or use a new key",
                )
            ],
        ),
        (
            [alert("a")],
            [stored("a", "al-1"), stored("b", "al-2")],
            False,
            [("unchanged", "a", "al-1", {}, [])],
        ),
        (
            [alert("a")],
            [stored("a", "al-1"), stored("b", "al-2"), stored(None, "al-3")],
            True,
            [
                ("unchanged", "a", "al-1", {}, []),
                ("delete", "b", "al-2", {}, []),
                ("delete", "al-3", "al-3", {}, []),
            ],
        ),
    ],
)
def test_plan(
    entries: list[str], current: list[dict[str, Any]], prune: bool, expected: list[tuple[Any, ...]]
) -> None:
    assert plan_of(entries, current, prune) == expected


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        ({"user_id": "ada", "role": "member"}, [("delete", "b", "al-2", {}, [])]),
        ({"user_id": "olga", "role": "owner"}, [("delete", "b", "al-2", {}, [])]),
        (
            {"user_id": "max", "role": "member"},
            [("problem", None, "", "cannot delete b: only its creator or a workspace owner can delete it")],
        ),
    ],
)
def test_prune_follows_who_may_delete(caller: dict[str, Any], expected: list[tuple[Any, ...]]) -> None:
    assert plan_of([], [stored("b", "al-2")], True, caller) == expected


def test_export_is_the_create_body_in_key_order_and_applies_unchanged() -> None:
    alerts = [
        stored(
            "zeta",
            "al-1",
            channels=[SLACK_OUT],
            created_at="2026-11-01T00:00:00Z",
            muted_until="2026-12-04T10:00:00Z",  # a mute is the on-call's, not the file's
        ),
        stored(None, "al-0", threshold_pct=2.5, enabled=False),
    ]
    text = export_document(alerts)
    assert yaml.safe_load(text) == {
        "alerts": [
            {
                "key": "al-0",
                "kind": "source_volume",
                "name": "Source volume change",
                "threshold_pct": 2.5,
                "baseline": "previous_day",
                "source_id": "web",
                "enabled": False,
                "channels": [{"type": "in_app"}],
            },
            {
                "key": "zeta",
                "kind": "source_volume",
                "name": "Source volume change",
                "threshold_pct": 4,
                "baseline": "previous_day",
                "source_id": "web",
                "enabled": True,
                "channels": [SLACK_OUT],
            },
        ]
    }
    assert SLACK not in text and export_document(list(reversed(alerts))) == text
    document = load_file(text, {})
    desired, problems = check_file(document)
    assert problems == []
    assert [a.action for a in compute_plan(document, desired, alerts, True).actions] == [
        "unchanged",
        "unchanged",
    ]


def test_the_readme_example_is_a_valid_file() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Alerts as code", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    document = load_file(example, {"SLACK_URL": SLACK})
    desired, problems = check_file(document)
    assert problems == []
    assert [entry.key for entry in desired] == ["checkout-volume", "warehouse-delivery"]
    assert desired[0].body["channels"][0]["webhook_url"] == SLACK
