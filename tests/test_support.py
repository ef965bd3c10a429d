"""The test run's own cleanup: which topics it deletes when it ends."""

from __future__ import annotations

import pytest

from tests.support import topics_of_run


@pytest.mark.parametrize(
    ("names", "prefixes", "deleted"),
    [
        (
            ["tab.pipeline-events", "tab-counts-changelog", "tab"],
            {"tab"},
            ["tab", "tab-counts-changelog", "tab.pipeline-events"],
        ),
        (["tabc.pipeline-events", "xtab.ticks", "ta.b"], {"tab"}, []),
        (["streamalert.alert-configs", "__consumer_offsets"], {"tab", "m1"}, []),
        (
            ["m1.ticks", "u2-alert_states-changelog", "u3.x"],
            {"m1", "u2"},
            ["m1.ticks", "u2-alert_states-changelog"],
        ),
        ([], {"tab"}, []),
    ],
)
def test_only_the_runs_own_topics_are_deleted(
    names: list[str], prefixes: set[str], deleted: list[str]
) -> None:
    assert topics_of_run(names, prefixes) == deleted
