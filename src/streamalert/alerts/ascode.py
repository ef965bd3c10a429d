"""Alerts as code: the YAML file of `streamalert alerts export` / `apply`, and the plan. Pure.

The file is `{"alerts": [{"key": ..., <the create body's fields>}, ...]}`. `apply` reads it with
positions (`load_file`), checks every alert as the API would (`check_entry`), and compares what
the file wants with what the workspace holds (`compute_plan`). Nothing here talks to the API.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml
from pydantic import TypeAdapter, ValidationError

from streamalert.alerts.editing import (
    IMMUTABLE_FIELDS,
    SECRET_FIELDS,
    AlertCreate,
    AlertPatch,
    InvalidRequest,
    check_kind_rules,
    field_errors,
    looks_masked,
    restore_secrets,
)
from streamalert.alerts.masking import masked_channel
from streamalert.kinds import KINDS
from streamalert.records.alerts import Channel

NodePath = tuple[str | int, ...]

# -- reading the file, with positions --------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file: where (1-based line and column), which alert, which field."""

    message: str
    line: int = 0
    column: int = 0
    index: int | None = None
    key: str | None = None
    field: str = ""

    def describe(self, filename: str) -> str:
        """`alerts.yaml:12:7: alert 2 (checkout): threshold_pct: must be a JSON number`"""
        parts = [f"{filename}:{self.line}:{self.column}" if self.line else filename]
        if self.index is not None:
            parts.append(f"alert {self.index}" + (f" ({self.key})" if self.key else ""))
        if self.field:
            parts.append(self.field)
        return ": ".join([*parts, self.message])


class FileProblems(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(problem.message for problem in problems))
        self.problems = problems


_VARIABLE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_variables(text: str, environ: Mapping[str, str]) -> tuple[str, list[str]]:
    """`${VAR}` replaced by the variable's value, `$${VAR}` by a literal `${VAR}`; also the names of
    the variables that are not set (the text is then not to be used)."""
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "${"
        if name not in environ:
            missing.append(name)
            return ""
        return environ[name]

    return _VARIABLE.sub(replace, text), missing


class _Loader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML has no type hints
    """YAML 1.1 safe loading, except that timestamps stay strings: the API takes RFC 3339 text."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass
class Document:
    data: Any
    positions: dict[NodePath, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: NodePath) -> tuple[int, int]:
        """The line and column of `path`, or of its nearest enclosing node that the file has."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.positions:
                return self.positions[path[:end]]
        return (1, 1)


def load_file(text: str, environ: Mapping[str, str] | None = None) -> Document:
    """The file's data with `${VAR}` expanded in every string value, and each node's position.

    Raises FileProblems for YAML that does not parse and for unset variables (all of them)."""
    environ = os.environ if environ is None else environ
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise FileProblems([Problem(f"not valid YAML: {error.problem}", line, column)]) from None
    document = Document(None)
    problems: list[Problem] = []
    loader = _Loader("")

    def build(node: yaml.Node, path: NodePath) -> Any:
        document.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = loader.construct_object(key_node, deep=True)
                result[key] = build(value_node, (*path, str(key)))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [build(item, (*path, index)) for index, item in enumerate(node.value)]
        value = loader.construct_object(node, deep=True)
        if isinstance(value, str):
            value, missing = expand_variables(value, environ)
            line, column = document.positions[path]
            problems.extend(
                Problem(f"environment variable {name} is not set", line, column, field=_dotted(path))
                for name in missing
            )
        return value

    document.data = build(root, ()) if root is not None else None
    if problems:
        raise FileProblems(problems)
    return document


def _dotted(path: NodePath) -> str:
    return ".".join(str(part) for part in path)


# -- checking each alert ---------------------------------------------------------------------------

_SECRET_TAIL = re.compile(r"^(?P<head>.*?)/\*{4}(?P<tail>.{0,4})$")


def stand_in(field_name: str, masked: str) -> str:
    """A made-up secret of the right shape whose mask is `masked`: lets a masked value be checked
    like a real one and compared with the masked values the API returns."""
    if field_name == "integration_key":
        tail = masked[4:]
        return "0" * (32 - len(tail)) + tail
    match = _SECRET_TAIL.match(masked)
    assert match is not None, "looks_masked accepted it"
    tail = match["tail"]
    return f"{match['head']}/{'x' * 8 + tail if tail else 'x'}"


def with_stand_ins(channels: Any) -> Any:
    """The channels with every masked secret replaced by its stand-in."""
    if not isinstance(channels, list):
        return channels
    return [
        channel
        | {
            name: stand_in(name, value)
            for name in SECRET_FIELDS
            if isinstance(value := channel.get(name), str) and looks_masked(name, value)
        }
        if isinstance(channel, dict)
        else channel
        for channel in channels
    ]


def masked_fields(channels: Any) -> list[str]:
    """`channels.N.field` of each masked secret in a list of channels as sent."""
    if not isinstance(channels, list):
        return []
    return [
        f"channels.{index}.{name}"
        for index, channel in enumerate(channels)
        if isinstance(channel, dict)
        for name in SECRET_FIELDS
        if isinstance(value := channel.get(name), str) and looks_masked(name, value)
    ]


@dataclass
class Desired:
    """One alert of the file: its key, the body as written (variables expanded), and as checked."""

    index: int
    key: str
    body: dict[str, Any]
    checked: AlertCreate


KEY_REQUIRED = "is required: apply finds the alert by its key"
OPERATIONAL_FIELDS = frozenset({"muted_until"})
"""Set by whoever is on call, not by the file: an apply neither starts nor ends a mute."""
OPERATIONAL = "is not part of an alert's code: use `streamalert alerts mute` / `unmute`"


def check_entry(document: Document, index: int) -> tuple[Desired | None, list[Problem]]:
    """Alert `index` of the file checked as `POST …/alerts` checks it, except the operator's webhook
    host rule (the API applies that when it is written); masked secrets are checked as stand-ins."""
    path: NodePath = ("alerts", index)
    body = document.data["alerts"][index]
    key = body.get("key") if isinstance(body, dict) else None
    key_text = key if isinstance(key, str) else None

    def problem(field_name: str, message: str) -> Problem:
        parts: NodePath = (
            tuple(int(p) if p.isdigit() else p for p in field_name.split(".")) if field_name else ()
        )
        line, column = document.position((*path, *parts))
        return Problem(message, line, column, index, key_text, field_name)

    if not isinstance(body, dict):
        return None, [problem("", "must be a mapping of the alert's fields")]
    if OPERATIONAL_FIELDS & body.keys():
        return None, [problem(name, OPERATIONAL) for name in sorted(OPERATIONAL_FIELDS & body.keys())]
    try:
        checked = AlertCreate.model_validate(
            body | {"channels": with_stand_ins(body.get("channels"))}, strict=True
        )
    except ValidationError as error:
        return None, [problem(detail["field"], detail["message"]) for detail in field_errors(error)]
    problems = []
    try:
        check_kind_rules(checked.model_dump())
    except InvalidRequest as error:
        problems = [problem(detail["field"], detail["message"]) for detail in error.details]
    if key_text is None:
        problems.append(problem("key", KEY_REQUIRED))
    if problems:
        return None, problems
    assert checked.key is not None
    return Desired(index, checked.key, body, checked), []


def check_file(document: Document) -> tuple[list[Desired], list[Problem]]:
    """Every alert of the file checked; the problems of all of them, not only the first."""
    data = document.data
    if not isinstance(data, dict) or not isinstance(data.get("alerts"), list):
        return [], [Problem('must be a mapping with a list under "alerts"', *document.position(()))]
    desired: list[Desired] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for index in range(len(data["alerts"])):
        entry, found = check_entry(document, index)
        problems.extend(found)
        if entry is None:
            continue
        if entry.key in seen:
            line, column = document.position(("alerts", index, "key"))
            message = f"is the key of alert {seen[entry.key]} too; keys are unique"
            problems.append(Problem(message, line, column, index, entry.key, "key"))
            continue
        seen[entry.key] = index
        desired.append(entry)
    return desired, problems


# -- the plan --------------------------------------------------------------------------------------

ActionKind = Literal["create", "update", "unchanged", "delete"]


@dataclass
class Action:
    action: ActionKind
    key: str
    alert_id: str | None = None
    body: dict[str, Any] = field(default_factory=dict)
    """What is sent: the create body, or the PATCH body of the changed fields."""
    changes: list[str] = field(default_factory=list)
    """For an update, each changed field as people read it (`threshold_pct: 4 → 6`); secrets never."""


@dataclass
class Plan:
    actions: list[Action]
    problems: list[Problem]

    def count(self, action: ActionKind) -> int:
        return sum(1 for item in self.actions if item.action == action)

    @property
    def writes(self) -> list[Action]:
        return [item for item in self.actions if item.action != "unchanged"]


def comparable(body: Mapping[str, Any]) -> dict[str, Any]:
    """An alert (the API's masked form, or a checked file entry dumped as JSON) reduced to what the
    file holds, secrets masked, so that the two can be compared field by field."""
    fields = {name: body.get(name) for name in AlertCreate.model_fields if name not in OPERATIONAL_FIELDS}
    if not fields.get("name") and fields.get("kind") in KINDS:
        fields["name"] = KINDS[str(fields["kind"])].default_name
    return fields


def desired_view(entry: Desired) -> dict[str, Any]:
    dumped = entry.checked.model_dump(mode="json")
    dumped["channels"] = [masked_channel(channel) for channel in entry.checked.channels]
    return comparable(dumped)


def _shown(name: str, value: Any) -> str:
    if name == "channels":
        return ", ".join(str(channel.get("type")) for channel in value) if isinstance(value, list) else "-"
    return "-" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _stored_stand_ins(channels: list[dict[str, Any]]) -> list[Channel]:
    adapter: TypeAdapter[Channel] = TypeAdapter(Channel)
    return [adapter.validate_python(channel) for channel in with_stand_ins(channels)]


def _match(entry: Desired, current: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The workspace's alert with the entry's key; an alert without a key is known by its id (that
    is the key `export` gives it)."""
    for alert in current:
        if alert.get("key") == entry.key:
            return alert
    for alert in current:
        if alert.get("key") is None and alert["id"] == entry.key:
            return alert
    return None


def _update(entry: Desired, alert: dict[str, Any], problem: Any) -> tuple[Action | None, list[Problem]]:
    want, have = desired_view(entry), comparable(alert)
    if alert.get("key") is None:
        want["key"] = None  # known by its id; a key cannot be added later
    problems = [
        problem(name, f"cannot be changed (the alert has {have[name]}); delete the alert or use a new key")
        for name in IMMUTABLE_FIELDS
        if name in want and want[name] != have[name]
    ]
    patchable = set(AlertPatch.model_fields) - {"version", *IMMUTABLE_FIELDS}
    changed = [n for n in want if n not in IMMUTABLE_FIELDS and want[n] != have[n]]
    problems += [problem(n, "cannot be changed by the API") for n in changed if n not in patchable]
    if "channels" in changed:
        try:
            restore_secrets(entry.body["channels"], _stored_stand_ins(alert["channels"]))
        except InvalidRequest as error:
            problems += [problem(detail["field"], detail["message"]) for detail in error.details]
    if problems:
        return None, problems
    if not changed:
        return Action("unchanged", entry.key, alert["id"]), []
    body = {n: entry.body[n] if n in entry.body else want[n] for n in changed}
    if "version" in alert:  # compare-and-set: an edit made since the plan was read is a 409, not lost
        body["version"] = alert["version"]
    changes = [
        "channels" if n == "channels" else f"{n}: {_shown(n, have[n])} → {_shown(n, want[n])}"
        for n in changed
    ]
    return Action("update", entry.key, alert["id"], body, changes), []


def compute_plan(
    document: Document,
    desired: list[Desired],
    current: list[dict[str, Any]],
    prune: bool,
    caller: Mapping[str, Any] | None = None,
) -> Plan:
    """What `apply` does: each file alert created, updated or unchanged; with `prune`, each alert
    of the workspace the file does not name deleted. `current` holds the API's alert bodies;
    `caller` is `/v1/me` (a member may delete only the alerts they created, as the API rules)."""
    actions: list[Action] = []
    problems: list[Problem] = []
    matched: set[str] = set()
    for entry in desired:

        def problem(name: str, message: str, entry: Desired = entry) -> Problem:
            parts: NodePath = tuple(int(p) if p.isdigit() else p for p in name.split("."))
            line, column = document.position(("alerts", entry.index, *parts))
            return Problem(message, line, column, entry.index, entry.key, name)

        alert = _match(entry, current)
        if alert is None:
            masked = masked_fields(entry.body.get("channels"))
            problems += [
                problem(
                    name,
                    "is masked and there is no stored alert to keep it from; give the secret, e.g. ${VAR}",
                )
                for name in masked
            ]
            if not masked:
                actions.append(Action("create", entry.key, body=dict(entry.body)))
            continue
        matched.add(alert["id"])
        action, found = _update(entry, alert, problem)
        problems += found
        if action is not None:
            actions.append(action)
    if prune:
        deletions, refused = _deletions([a for a in current if a["id"] not in matched], caller)
        actions += deletions
        problems += refused
    return Plan(actions, problems)


def _deletions(
    unnamed: list[dict[str, Any]], caller: Mapping[str, Any] | None
) -> tuple[list[Action], list[Problem]]:
    actions, problems = [], []
    for alert in unnamed:
        key = alert.get("key") or alert["id"]
        mine = caller is None or alert.get("created_by", {}).get("user_id") == caller.get("user_id")
        if not mine and caller is not None and caller.get("role") != "owner":
            message = f"cannot delete {key}: only its creator or a workspace owner can delete it"
            problems.append(Problem(message))
            continue
        actions.append(Action("delete", key, alert["id"]))
    return actions, problems


# -- export ----------------------------------------------------------------------------------------


def exported(alert: Mapping[str, Any]) -> dict[str, Any]:
    """An alert as the file holds it: the create body's fields in their order, absent ones left
    out, secrets as the API masked them, and its id as key when it has none."""
    entry = {
        name: alert[name]
        for name in AlertCreate.model_fields
        if alert.get(name) is not None and name not in OPERATIONAL_FIELDS
    }
    return {"key": alert.get("key") or alert["id"]} | entry


def export_document(alerts: Sequence[Mapping[str, Any]]) -> str:
    entries = sorted((exported(alert) for alert in alerts), key=lambda entry: str(entry["key"]))
    dumped: str = yaml.safe_dump({"alerts": entries}, sort_keys=False, allow_unicode=True, width=1000)
    return dumped
