"""The CLI's alert table writes thresholds in the one number format."""

from __future__ import annotations

import pytest

from streamalert.cli_format import alert_table


@pytest.mark.parametrize(("value", "shown"), [(4, "4 %"), (99.5, "99.5 %"), ("33.333333", "33.333333 %")])
def test_thresholds(value: object, shown: str) -> None:
    row = {
        "id": "al-1",
        "name": "Orders",
        "kind": "source_volume",
        "threshold_pct": value,
        "source_id": "web",
        "created_by": {"name": "Alice"},
        "created_at": "2026-11-28T09:00:00Z",
        "status": "ok",
        "channel_types": ["in_app"],
    }
    line = alert_table([row]).splitlines()[1]
    assert f"  {shown}  " in line and "%%" not in line
