"""`muted_until` on create and PATCH: RFC 3339 or null, compare-and-set like every field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from streamalert.alerts.editing import (
    AlertCreate,
    InvalidRequest,
    VersionConflict,
    parse_request,
    patched_alert,
)
from tests.alerts.test_editing import NOW, create

BODY = {"kind": "source_volume", "source_id": "s", "threshold_pct": 4, "channels": [{"type": "in_app"}]}
LATER = NOW + timedelta(hours=1)


def test_create_takes_muted_until_and_defaults_to_not_muted() -> None:
    assert create(BODY).muted_until is None
    muted = create(BODY | {"muted_until": "2026-11-28T14:00:00+01:00"})
    assert muted.muted_until == datetime(2026, 11, 28, 13, tzinfo=UTC)
    assert muted.model_dump(mode="json")["muted_until"] == "2026-11-28T13:00:00.000Z"
    # A time already past is accepted: it means not muted (docs/design.md#muting).
    assert create(BODY | {"muted_until": "2020-01-01T00:00:00Z"}).muted_until == datetime(
        2020, 1, 1, tzinfo=UTC
    )


def test_patch_mutes_unmutes_and_keeps_the_mute_otherwise() -> None:
    alert = create(BODY)
    muted = patched_alert(alert, {"muted_until": "2026-11-28T14:00:00Z", "version": 1}, [], LATER)
    assert (muted.muted_until, muted.version) == (datetime(2026, 11, 28, 14, tzinfo=UTC), 2)
    renamed = patched_alert(muted, {"name": "Orders"}, [], LATER)
    assert renamed.muted_until == muted.muted_until  # absent: unchanged
    unmuted = patched_alert(renamed, {"muted_until": None}, [], LATER)
    assert unmuted.muted_until is None and unmuted.version == 4
    with pytest.raises(VersionConflict):
        patched_alert(unmuted, {"muted_until": "2026-11-28T14:00:00Z", "version": 2}, [], LATER)


@pytest.mark.parametrize(
    "value",
    [
        "tomorrow",
        "2026-11-28",  # a date alone
        "2026-11-28T14:00:00",  # no offset
        "9999-12-31T23:59:59-05:00",  # past the last instant there is
        True,
        [],
    ],
)
def test_a_bad_muted_until_is_refused_naming_the_field(value: object) -> None:
    with pytest.raises(InvalidRequest) as raised:
        parse_request(AlertCreate, BODY | {"muted_until": value}, [])
    assert [d["field"] for d in raised.value.details] == ["muted_until"]
    with pytest.raises(InvalidRequest) as patched:
        patched_alert(create(BODY), {"muted_until": value}, [], LATER)
    assert [d["field"] for d in patched.value.details] == ["muted_until"]
