"""Text helpers every message shares: numbers, percentages, clipping, redaction. Pure.

One format everywhere a person reads a number (the `alert-fired` summary, Slack, the Slack
workflow's variables, email, PagerDuty, the bell): observed percentages as the record holds them
(two decimals, `98.99`), a true minus sign (U+2212, `-5.00` shown here with a hyphen), `+` on a rise when a change is shown,
thresholds without trailing zeros (`4`, `4.5`), counts with thousands separators (`9,899`), and a
space before the unit (`5.00 %`). Machine fields (the PagerDuty `custom_details`, JSON records)
keep their plain JSON numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

MINUS = "\u2212"
ELLIPSIS = "…"
MASK = "****"


def number(value: Decimal) -> str:
    """A Decimal in plain notation with its given places and a true minus sign (U+2212):
    `98.99`, `40`, `-5.00` (hyphen here for the linter)."""
    text = f"{abs(value):f}"
    return f"{MINUS}{text}" if value < 0 else text


def signed(value: Decimal) -> str:
    """A change: `+5.00`, `0.00`, or minus (U+2212) `5.00`."""
    return f"+{number(value)}" if value > 0 else number(value)


def threshold(value: Decimal) -> str:
    """A threshold without trailing zeros: 4.000 → `4`, 4.50 → `4.5`, 33.333333 → `33.333333`."""
    return number(value.normalize())


def pct(text: str) -> str:
    """A formatted number as a percentage: `5.00 %`."""
    return f"{text} %"


def count(value: int) -> str:
    """`9,899`."""
    return f"{value:,}"


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, the cut marked with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every non-empty secret replaced by `****`, longest first (so a URL that
    contains a shorter secret is masked whole)."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def error_detail(text: str, secrets: Iterable[str], limit: int = 200) -> str:
    """A vendor's error text for our records: whitespace collapsed, bounded, secrets masked."""
    return redact(" ".join(text.split()), secrets)[:limit]
