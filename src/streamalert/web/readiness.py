"""Named readiness conditions: `/readyz` is ready when every one holds."""

from __future__ import annotations

from collections.abc import Callable


class Readiness:
    def __init__(self) -> None:
        self._conditions: dict[str, Callable[[], bool]] = {}

    def add(self, name: str, condition: Callable[[], bool]) -> None:
        self._conditions[name] = condition

    def check(self) -> dict[str, bool]:
        results = {}
        for name, condition in self._conditions.items():
            try:
                results[name] = bool(condition())
            except Exception:  # a condition that cannot be evaluated yet is simply not met
                results[name] = False
        return results
