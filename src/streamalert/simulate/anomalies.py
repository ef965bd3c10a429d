"""The anomalies asked for: what differs in the current window, by subject id."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from streamalert.simulate.world import World


@dataclass(frozen=True)
class Anomalies:
    """What differs in the current window (and the live phase), by subject id."""

    volume: Mapping[str, float] = field(default_factory=dict)
    """Volume factor: `--drop web=60` is 0.4, `--spike web=50` is 1.5."""
    failures: Mapping[str, float] = field(default_factory=dict)
    """Failure rate (0..1) of a destination, mapping or audience activation."""
    audience_shift: Mapping[str, float] = field(default_factory=dict)
    """Audience size factor: `--audience-shift vip-customers=-30` is 0.7."""

    def volume_factor(self, subject: str) -> float:
        return self.volume.get(subject, 1.0)

    @classmethod
    def from_percentages(
        cls,
        world: World,
        drop: Mapping[str, float] | None = None,
        spike: Mapping[str, float] | None = None,
        failures: Mapping[str, float] | None = None,
        audience_shift: Mapping[str, float] | None = None,
    ) -> Anomalies:
        """From the command's SUBJECT=PCT options; ValueError names a subject that cannot take it."""
        drop, spike = drop or {}, spike or {}
        failures, audience_shift = failures or {}, audience_shift or {}

        def check(option: str, subjects: Iterable[str], allowed: list[str], what: str) -> None:
            for subject in subjects:
                if subject not in allowed:
                    raise ValueError(
                        f"{option} {subject}: not a {what} of this simulation; one of {', '.join(allowed)}"
                    )

        volume_ids = world.subject_ids("source", "mapping", "audience")
        check("--drop", drop, volume_ids, "source, mapping or audience")
        check("--spike", spike, volume_ids, "source, mapping or audience")
        check(
            "--failures",
            failures,
            world.subject_ids("destination", "mapping", "audience"),
            "destination, mapping or audience",
        )
        check("--audience-shift", audience_shift, world.subject_ids("audience"), "audience")
        both = sorted(set(drop) & set(spike))
        if both:
            raise ValueError(f"{', '.join(both)}: given to both --drop and --spike")
        for option, values, low, high in (
            ("--drop", drop, 0, 100),
            ("--spike", spike, 0, math.inf),
            ("--failures", failures, 0, 100),
        ):
            for subject, pct in values.items():
                if not low <= pct <= high:
                    raise ValueError(f"{option} {subject}={pct:g}: out of range")
        for subject, pct in audience_shift.items():
            if pct <= -100:
                raise ValueError(f"--audience-shift {subject}={pct:g}: a size cannot shrink by 100 % or more")
        volume = {s: 1 - p / 100 for s, p in drop.items()} | {s: 1 + p / 100 for s, p in spike.items()}
        return cls(
            volume=volume,
            failures={s: p / 100 for s, p in failures.items()},
            audience_shift={s: 1 + p / 100 for s, p in audience_shift.items()},
        )

    def describe(self) -> list[str]:
        lines = []
        for subject, factor in self.volume.items():
            verb = "drop" if factor < 1 else "spike"
            lines.append(f"{subject}: volume {verb} {abs(factor - 1) * 100:g} % against the baseline")
        for subject, rate in self.failures.items():
            lines.append(f"{subject}: {rate * 100:g} % of deliveries fail")
        for subject, factor in self.audience_shift.items():
            lines.append(f"{subject}: audience size {(factor - 1) * 100:+g} %")
        return lines
