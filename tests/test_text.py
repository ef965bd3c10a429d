"""The one format for numbers people read, the one clip and the one redaction."""

from __future__ import annotations

from decimal import Decimal

import pytest

from streamalert.text import MINUS, clip, count, error_detail, number, pct, redact, signed, threshold


@pytest.mark.parametrize(
    ("value", "plain", "change", "limit"),
    [
        ("-5.00", f"{MINUS}5.00", f"{MINUS}5.00", f"{MINUS}5"),
        ("5.00", "5.00", "+5.00", "5"),
        ("0.00", "0.00", "0.00", "0"),
        ("-0.00", "0.00", "0.00", "0"),
        ("98.99", "98.99", "+98.99", "98.99"),
        ("4E+1", "40", "+40", "40"),
        ("4.500000", "4.500000", "+4.500000", "4.5"),
        ("33.333333", "33.333333", "+33.333333", "33.333333"),
        ("0.000001", "0.000001", "+0.000001", "0.000001"),
        ("-100.00", f"{MINUS}100.00", f"{MINUS}100.00", f"{MINUS}100"),
        ("1E+2", "100", "+100", "100"),
    ],
)
def test_numbers(value: str, plain: str, change: str, limit: str) -> None:
    decimal = Decimal(value)
    assert (number(decimal), signed(decimal), threshold(decimal)) == (plain, change, limit)


def test_percent_and_count() -> None:
    assert pct(signed(Decimal("-5.00"))) == f"{MINUS}5.00 %"
    assert [count(n) for n in (0, 999, 9899, 1234567)] == ["0", "999", "9,899", "1,234,567"]


@pytest.mark.parametrize(
    ("text", "limit", "clipped"),
    [("abc", 3, "abc"), ("abcd", 3, "ab…"), ("", 1, ""), ("abcdef", 1, "…"), ("é" * 10, 5, "éééé…")],
)
def test_clip(text: str, limit: int, clipped: str) -> None:
    assert clip(text, limit) == clipped and len(clipped) <= limit


@pytest.mark.parametrize(
    ("text", "secrets", "redacted"),
    [
        ("https://h/a/b/secret and secret", ["secret", "https://h/a/b/secret", ""], "**** and ****"),
        ("nothing here", ["key"], "nothing here"),
        ("empty secrets change nothing", ["", ""], "empty secrets change nothing"),
        ("kk k", ["k", "kk"], "**** ****"),
    ],
)
def test_redact(text: str, secrets: list[str], redacted: str) -> None:
    assert redact(text, secrets) == redacted


def test_error_detail_collapses_bounds_and_redacts_before_cutting() -> None:
    secret = "abcdef0123456789"
    detail = error_detail("bad\n\n key  " + "x" * 190 + secret + "y" * 100, [secret])
    assert detail.startswith("bad key x") and len(detail) == 200
    assert "abcdef" not in detail  # a secret across the cut is masked, not half shown
