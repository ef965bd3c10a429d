from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest
from pydantic import BaseModel, ValidationError

from streamalert.records.common import Percent, Timestamp, format_timestamp, parse_timestamp


class Stamped(BaseModel):
    at: Timestamp
    pct: Percent = Decimal(0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-28T09:30:00Z", datetime(2026, 11, 28, 9, 30, tzinfo=UTC)),
        ("2026-11-28T10:30:00+01:00", datetime(2026, 11, 28, 9, 30, tzinfo=UTC)),
        ("2026-11-28T09:30:00.250Z", datetime(2026, 11, 28, 9, 30, 0, 250000, tzinfo=UTC)),
        (1795858200000, datetime(2026, 11, 28, 9, 30, tzinfo=UTC)),
        (1795858200123, datetime(2026, 11, 28, 9, 30, 0, 123000, tzinfo=UTC)),
        # JSON has one number type: a whole number written 1795858200000.0 is the same integer.
        (1795858200000.0, datetime(2026, 11, 28, 9, 30, tzinfo=UTC)),
    ],
)
def test_timestamps_accept_rfc3339_and_epoch_millis(value: object, expected: datetime) -> None:
    assert parse_timestamp(value) == expected


@pytest.mark.parametrize(
    "value",
    ["2026-11-28", "2026-11-28T09:30:00", "yesterday", "", True, 1.5e12 + 0.5, None, 10**20, 1e300],
)
def test_timestamps_reject_ambiguous_or_malformed(value: object) -> None:
    with pytest.raises(ValidationError):
        Stamped(at=value)  # type: ignore[arg-type]


def test_timestamps_are_written_as_rfc3339_utc() -> None:
    stamped = Stamped(at="2026-11-28T10:30:00+01:00")  # type: ignore[arg-type]
    assert orjson.loads(stamped.model_dump_json())["at"] == "2026-11-28T09:30:00.000Z"
    assert format_timestamp(datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)) == "2026-01-02T03:04:05.678Z"


@pytest.mark.parametrize(("text", "json_number"), [("4", 4), ("4.25", 4.25), ("0.1", 0.1), ("99.99", 99.99)])
def test_percent_round_trips_exactly_through_json(text: str, json_number: float) -> None:
    written = Stamped(at=0, pct=Decimal(text)).model_dump_json()  # type: ignore[arg-type]
    assert orjson.loads(written)["pct"] == json_number
    assert Stamped.model_validate_json(written).pct == Decimal(text)
