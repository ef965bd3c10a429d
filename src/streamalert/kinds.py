"""Every alert kind, declared in one place. Pure; imports nothing else from streamalert.

A kind says what an alert of it watches and how it is judged and told:
- its subject fields (required and allowed on the alert);
- the input records that feed it (`feeds`, see `Input`), the Kafka key of those records
  (`record_key_field`: it decides the partition that holds the subject's state) and the table
  key they are counted under (`prefix` plus `key_fields`);
- what that state counts (`counter`) and how it is decided (`decision`: a change against the
  baseline, or a success rate; see docs/design.md#alerts);
- its words: default name, unit, subject phrase, how the summary compares the windows, and the
  rule the UI shows; and what its chart plots (`measure`).

The rest of the code looks kinds up here (`KINDS[alert.kind]`); docs/adding-an-alert-kind.md
walks through adding one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, get_args

AlertKind = Literal[
    "source_volume",
    "destination_delivery_rate",
    "mapping_delivery_rate",
    "activation_volume",
    "audience_size",
]
Counter = Literal["events", "outcomes", "gauge"]
"""What a subject key counts: summed events, (delivered, failed) outcomes, or gauge samples."""
Decision = Literal["change", "rate"]
Baseline = Literal["previous_day", "same_day_last_week"]
"""What a change is measured against: the 24 hours before the current window, or the same 24
hours a week earlier (docs/design.md#alerts)."""
BASELINES: tuple[Baseline, ...] = get_args(Baseline)
Measure = Literal["events", "delivered", "size"]
Input = Literal[
    "source_events", "audience_size", "delivery:destination", "delivery:mapping", "delivery:activation"
]
"""An input record's shape: its `type`, or `delivery:<kind>` for a delivery result."""

SUBJECT_FIELDS = ("source_id", "destination_id", "mapping_id", "audience_id")
SEPARATOR = "|"


class HasSubject(Protocol):
    """An alert configuration or an input record: anything with the subject fields as attributes."""

    @property
    def workspace_id(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Kind:
    name: AlertKind
    default_name: str
    required: tuple[str, ...]
    """Subject fields an alert of this kind must set."""
    allowed: tuple[str, ...]
    """Subject fields it may set (the required ones included)."""
    feeds: Input
    record_key_field: str
    """The subject field the input records are keyed (and so partitioned) by."""
    prefix: str
    key_fields: tuple[str, ...]
    """Subject fields of the table key in order; an optional one left out when not set."""
    rollup: bool
    """A record setting an optional key field also counts towards the key without it (a
    destination's records from one source also count for the destination as a whole)."""
    counter: Counter
    decision: Decision
    measure: Measure
    unit: str
    """What the summary counts (change kinds)."""
    current_words: str
    """How the summary places the current value: ` in the last 24 h` or nothing (a gauge)."""
    baseline_words: str
    """How it places a `previous_day` baseline: `the day before`, `24 h earlier`."""
    week_words: str
    """How it places a `same_day_last_week` baseline: `the same day last week`."""
    baseline_choice: bool
    """Whether an alert of this kind may choose its baseline (`Baseline`); a kind that does not
    compare against a baseline (a rate) accepts only the default."""
    rule: str
    """The rule in words for the UI; `{threshold}` stands for the threshold."""
    week_rule: str
    """The rule with a `same_day_last_week` baseline (the rule itself when there is no choice)."""
    phrase: str
    """The subject in words; `{field}` placeholders, optional parts in `[...]`."""

    def baseline_phrase(self, baseline: Baseline) -> str:
        return self.week_words if baseline == "same_day_last_week" else self.baseline_words

    def subject_phrase(self, thing: object) -> str:
        """`destination ads from source web`: the phrase with the subject's ids filled in."""
        ids = {name: value or "" for name, value in subject_of(thing).items()}
        text, _, optional = self.phrase.partition("[")
        words = text.format_map(ids)
        part = optional.rstrip("]")
        if part and all(ids[name] for name in SUBJECT_FIELDS if "{" + name + "}" in part):
            words += part.format_map(ids)
        return words

    def key(self, workspace_id: str, *ids: str) -> str:
        """`<prefix>|<workspace>|<id>[|<id>]`. Ids never contain `|` and are never empty
        (`records.common.Id`), so a key names one subject."""
        return SEPARATOR.join([self.prefix, workspace_id, *ids])

    def table_key(self, thing: HasSubject) -> str:
        """The key an alert's or an input record's subject state is stored under."""
        parts = [self.prefix, thing.workspace_id]
        for name in self.key_fields:  # a plain loop: this runs for every record counted
            value = getattr(thing, name, None)
            if value is not None:
                parts.append(value)
        return SEPARATOR.join(parts)

    def record_table_keys(self, record: HasSubject) -> list[str]:
        """The keys one input record counts towards (two when it rolls up)."""
        key = self.table_key(record)
        if self.rollup and key.count(SEPARATOR) > 2:  # an optional key field is set
            return [self.key(record.workspace_id, getattr(record, self.key_fields[0])), key]
        return [key]

    def record_key(self, thing: object) -> str:
        """The Kafka key (subject id) of the input records of this subject: their partition holds
        the subject's state, and evaluates its alerts."""
        value = getattr(thing, self.record_key_field, None)
        if not isinstance(value, str) or not value:
            raise ValueError(f"{self.name} needs {self.record_key_field}")
        return value


_CHANGE_RULE = (
    "Fires when the 24-hour volume changes by more than ±{threshold} % against the previous 24 hours."
)
_CHANGE_WEEK_RULE = "Fires when the 24-hour volume changes by more than ±{threshold} % against the same 24 hours a week earlier."
_RATE_RULE = "Fires when the 24-hour delivery success rate falls below {threshold} %."

KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            name="source_volume",
            default_name="Source volume change",
            required=("source_id",),
            allowed=("source_id",),
            feeds="source_events",
            record_key_field="source_id",
            prefix="src",
            key_fields=("source_id",),
            rollup=False,
            counter="events",
            decision="change",
            measure="events",
            unit="events",
            current_words=" in the last 24 h",
            baseline_words="the day before",
            week_words="the same day last week",
            baseline_choice=True,
            rule=_CHANGE_RULE,
            week_rule=_CHANGE_WEEK_RULE,
            phrase="source {source_id}",
        ),
        Kind(
            name="destination_delivery_rate",
            default_name="Destination delivery success rate",
            required=("destination_id",),
            allowed=("destination_id", "source_id"),
            feeds="delivery:destination",
            record_key_field="destination_id",
            prefix="dst",
            key_fields=("destination_id", "source_id"),
            rollup=True,
            counter="outcomes",
            decision="rate",
            measure="delivered",
            unit="events",
            current_words=" in the last 24 h",
            baseline_words="the day before",
            week_words="the same day last week",
            baseline_choice=False,
            rule=_RATE_RULE,
            week_rule=_RATE_RULE,
            phrase="destination {destination_id}[ from source {source_id}]",
        ),
        Kind(
            name="mapping_delivery_rate",
            default_name="Reverse ETL mapping delivery success rate",
            required=("mapping_id",),
            allowed=("mapping_id", "source_id", "destination_id"),
            feeds="delivery:mapping",
            record_key_field="mapping_id",
            prefix="map",
            key_fields=("mapping_id",),
            rollup=False,
            counter="outcomes",
            decision="rate",
            measure="delivered",
            unit="events",
            current_words=" in the last 24 h",
            baseline_words="the day before",
            week_words="the same day last week",
            baseline_choice=False,
            rule=_RATE_RULE,
            week_rule=_RATE_RULE,
            phrase="mapping {mapping_id}",
        ),
        Kind(
            name="activation_volume",
            default_name="Audience activation volume change",
            required=("audience_id", "destination_id"),
            allowed=("audience_id", "destination_id"),
            feeds="delivery:activation",
            record_key_field="audience_id",
            prefix="act",
            key_fields=("audience_id", "destination_id"),
            rollup=False,
            counter="outcomes",
            decision="change",
            measure="events",
            unit="events delivered",
            current_words=" in the last 24 h",
            baseline_words="the day before",
            week_words="the same day last week",
            baseline_choice=True,
            rule=_CHANGE_RULE,
            week_rule=_CHANGE_WEEK_RULE,
            phrase="audience {audience_id} to destination {destination_id}",
        ),
        Kind(
            name="audience_size",
            default_name="Audience size change",
            required=("audience_id",),
            allowed=("audience_id", "destination_id"),
            feeds="audience_size",
            record_key_field="audience_id",
            prefix="aud",
            key_fields=("audience_id", "destination_id"),
            rollup=False,
            counter="gauge",
            decision="change",
            measure="size",
            unit="members",
            current_words="",
            baseline_words="24 h earlier",
            week_words="a week earlier",
            baseline_choice=True,
            rule="Fires when the audience size changes by more than ±{threshold} % against its size 24 hours earlier.",
            week_rule="Fires when the audience size changes by more than ±{threshold} % against its size a week earlier.",
            phrase="audience {audience_id}[ at destination {destination_id}]",
        ),
    )
}
"""Every kind by name, in the order the API and the UI list them."""

ALERT_KINDS: tuple[AlertKind, ...] = tuple(kind.name for kind in KINDS.values())
BY_INPUT: dict[str, tuple[Kind, ...]] = {
    feeds: tuple(kind for kind in KINDS.values() if kind.feeds == feeds) for feeds in get_args(Input)
}
"""The kinds each input shape feeds. Kinds fed by one input share its counter and record key
(a record has one Kafka key); tests/test_kinds.py holds every kind to that."""


def table_keys(input_shape: str, record: HasSubject) -> list[str]:
    """The table keys an input record counts towards, over every kind it feeds."""
    kinds = BY_INPUT[input_shape]
    if len(kinds) == 1:  # the common case, on the counting hot path
        return kinds[0].record_table_keys(record)
    return list(dict.fromkeys(key for kind in kinds for key in kind.record_table_keys(record)))


PREFIX_COUNTER: dict[str, Counter] = {kind.prefix: kind.counter for kind in KINDS.values()}
"""What the state under a key prefix counts. Kinds may share a prefix (and so the stored state)
when they are fed by the same input and count the same way."""


def subject_of(thing: object) -> dict[str, str | None]:
    """The subject fields of an alert or an input record (None where it has none)."""
    return {name: getattr(thing, name, None) for name in SUBJECT_FIELDS}
