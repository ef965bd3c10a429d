"""The alert-kind registry: each kind declared once, consistently, and served to the UI from there."""

from __future__ import annotations

from types import SimpleNamespace
from typing import get_args

import orjson
import pytest

from streamalert.kinds import ALERT_KINDS, BY_INPUT, KINDS, PREFIX_COUNTER, SUBJECT_FIELDS, AlertKind, Input
from streamalert.web.ui.pages import _kinds


def test_every_kind_is_declared_once_and_in_order() -> None:
    assert tuple(KINDS) == ALERT_KINDS == get_args(AlertKind)
    assert all(name == kind.name for name, kind in KINDS.items())
    for prefix in PREFIX_COUNTER:  # kinds sharing a prefix share the stored state: it must mean the same
        sharing = [kind for kind in KINDS.values() if kind.prefix == prefix]
        assert len({(kind.feeds, kind.counter) for kind in sharing}) == 1
    assert all(BY_INPUT[shape] for shape in get_args(Input))  # every input shape feeds a kind


@pytest.mark.parametrize("shape", get_args(Input))
def test_kinds_fed_by_one_input_agree_on_its_counter_and_record_key(shape: str) -> None:
    kinds = BY_INPUT[shape]
    assert len({kind.counter for kind in kinds}) == len({kind.record_key_field for kind in kinds}) == 1


@pytest.mark.parametrize("name", list(KINDS))
def test_a_kind_is_consistent(name: str) -> None:
    spec = KINDS[name]
    assert set(spec.required) <= set(spec.allowed) <= set(SUBJECT_FIELDS)
    assert spec.record_key_field in spec.required  # every alert knows its partition
    assert spec.key_fields[0] in spec.required and set(spec.key_fields) <= set(spec.allowed)
    assert "{threshold}" in spec.rule and spec.default_name
    assert (spec.decision == "rate") == (spec.measure == "delivered")
    assert spec.counter != "gauge" or spec.decision == "change"
    assert spec.decision != "rate" or spec.counter == "outcomes"


@pytest.mark.parametrize(
    ("kind", "subject", "phrase", "key"),
    [
        ("source_volume", {"source_id": "web"}, "source web", "src|w|web"),
        ("destination_delivery_rate", {"destination_id": "ads"}, "destination ads", "dst|w|ads"),
        (
            "destination_delivery_rate",
            {"destination_id": "ads", "source_id": "web"},
            "destination ads from source web",
            "dst|w|ads|web",
        ),
        ("mapping_delivery_rate", {"mapping_id": "m1", "source_id": "web"}, "mapping m1", "map|w|m1"),
        (
            "activation_volume",
            {"audience_id": "vip", "destination_id": "ads"},
            "audience vip to destination ads",
            "act|w|vip|ads",
        ),
        ("audience_size", {"audience_id": "vip"}, "audience vip", "aud|w|vip"),
        (
            "audience_size",
            {"audience_id": "vip", "destination_id": "ads"},
            "audience vip at destination ads",
            "aud|w|vip|ads",
        ),
    ],
)
def test_subject_phrase_and_table_key(kind: str, subject: dict[str, str], phrase: str, key: str) -> None:
    thing = SimpleNamespace(workspace_id="w", **subject)
    assert KINDS[kind].subject_phrase(thing) == phrase
    assert KINDS[kind].table_key(thing) == key
    assert KINDS[kind].record_key(thing) == subject[KINDS[kind].record_key_field]


def test_a_missing_record_key_is_an_error_not_a_partition() -> None:
    with pytest.raises(ValueError, match="needs source_id"):
        KINDS["source_volume"].record_key(SimpleNamespace(workspace_id="w"))


def test_the_ui_gets_its_kinds_from_the_registry() -> None:
    served = orjson.loads(_kinds())
    assert list(served) == list(KINDS)
    for name, kind in KINDS.items():
        assert served[name] == {
            "name": kind.default_name,
            "rate": kind.decision == "rate",
            "required": list(kind.required),
            "allowed": list(kind.allowed),
            "rule": kind.rule,
            "baseline_choice": kind.baseline_choice,
            "week_rule": kind.week_rule,
        }


def test_the_change_kinds_and_only_they_choose_a_baseline() -> None:
    choosing = {kind.name for kind in KINDS.values() if kind.baseline_choice}
    assert choosing == {"source_volume", "activation_volume", "audience_size"}
    assert all(kind.baseline_choice == (kind.decision == "change") for kind in KINDS.values())
    for kind in KINDS.values():
        assert kind.baseline_phrase("previous_day") == kind.baseline_words
        if kind.baseline_choice:
            assert "week" in kind.baseline_phrase("same_day_last_week") and "week" in kind.week_rule
            assert "{threshold}" in kind.week_rule
