"""The traffic shape and plan: events per subject per hour, from the daily curve and the anomalies."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from streamalert.counting.windows import HOUR, floor_hour, windows_at
from streamalert.simulate.anomalies import Anomalies
from streamalert.simulate.world import VolumeSubject, World


def diurnal(hour_of_day: float, amplitude: float = 0.6, peak_hour: float = 13.0) -> float:
    """Relative traffic at a UTC hour of day: 1 on average over a day, highest at `peak_hour`,
    lowest twelve hours later (night). `amplitude` < 1 keeps it positive."""
    return 1.0 + amplitude * math.cos(2 * math.pi * (hour_of_day - peak_hour) / 24)


def distribute(total: int, weights: Sequence[float]) -> list[int]:
    """`total` split in proportion to `weights`, exactly (largest remainder)."""
    if total <= 0 or not weights:
        return [0] * len(weights)
    whole = sum(weights)
    shares = [total * w / whole for w in weights]
    counts = [math.floor(s) for s in shares]
    by_remainder = sorted(range(len(shares)), key=lambda i: (counts[i] - shares[i], i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def subject_rng(seed: int, *parts: object) -> random.Random:
    """A generator of its own per subject (and hour): an anomaly on one subject, or the number of
    sources, never changes another subject's numbers."""
    return random.Random("|".join([str(seed), *map(str, parts)]))


def stochastic_round(value: float, rng: random.Random) -> int:
    whole = math.floor(value)
    return whole + (1 if rng.random() < value - whole else 0)


def draw_failures(attempts: int, rate: float, rng: random.Random) -> int:
    """Failures among `attempts` deliveries that each fail with probability `rate` (binomial)."""
    if attempts <= 0 or rate <= 0:
        return 0
    if rate >= 1:
        return attempts
    if attempts <= 50:
        return sum(1 for _ in range(attempts) if rng.random() < rate)
    mean = attempts * rate
    drawn = round(rng.gauss(mean, math.sqrt(mean * (1 - rate))))
    return min(attempts, max(0, drawn))


@dataclass(frozen=True)
class Plan:
    """Events per volume subject per hour, audience sizes per hour, from H - 48h up to `now`."""

    now: datetime
    hour: datetime
    """H: `now` floored to the hour. The hour H itself is planned only up to `now`."""
    seed: int
    anomalies: Anomalies
    volumes: dict[str, dict[datetime, int]]
    sizes: dict[str, dict[datetime, int]]
    """Audience size at each hour start (without any shift), H - 48h to H + 1h."""

    @property
    def baseline_start(self) -> datetime:
        return self.hour - 48 * HOUR

    @property
    def current_start(self) -> datetime:
        return self.hour - 24 * HOUR

    @property
    def hours(self) -> list[datetime]:
        return [self.baseline_start + i * HOUR for i in range(49)]

    def span(self, hour: datetime) -> timedelta:
        """How much of `hour` is in the past: one hour, or up to `now` for H."""
        return HOUR if hour < self.hour else self.now - self.hour

    def window_total(self, subject: str, start: datetime, end: datetime) -> int:
        return sum(count for hour, count in self.volumes[subject].items() if start <= hour < end)

    def size_at(self, audience: str, moment: datetime, shifted: bool = True) -> int:
        """The audience's size at `moment`, between hourly values, with its shift if any."""
        hour = floor_hour(moment)
        sizes = self.sizes[audience]
        low, high = sizes[hour], sizes.get(hour + HOUR, sizes[hour])
        size = low + (high - low) * ((moment - hour) / HOUR)
        if shifted and moment >= self.current_start:
            size *= self.anomalies.audience_shift.get(audience, 1.0)
        return max(0, round(size))


def plan_traffic(
    world: World,
    now: datetime,
    rng: random.Random,
    events_per_hour: int = 1000,
    anomalies: Anomalies | None = None,
) -> Plan:
    """Hourly volumes from the baseline window start (H - 48h) to `now`, anomalies applied.

    Each 24-hour window gets the same total per subject (`events_per_hour` x its scale x 24),
    spread over the hours by the daily curve and ±6 % noise; an anomaly multiplies the current
    window's total, so `--drop web=60` gives current = 0.4 x baseline exactly (up to rounding).
    """
    anomalies = anomalies or Anomalies()
    now = now.astimezone(UTC)
    windows = windows_at(now)
    hour = floor_hour(now)
    seed = rng.getrandbits(64)
    baseline_hours = [windows.baseline_start + i * HOUR for i in range(24)]
    current_hours = [windows.current_start + i * HOUR for i in range(24)]
    elapsed = (now - hour) / HOUR

    volumes: dict[str, dict[datetime, int]] = {}
    for subject in world.volume_subjects():
        srng = subject_rng(seed, "volume", subject.id)
        per_hour = events_per_hour * subject.scale

        def weight(h: datetime, subject: VolumeSubject = subject, srng: random.Random = srng) -> float:
            noise = min(1.3, max(0.7, srng.gauss(1.0, 0.06)))
            return diurnal(h.hour + 0.5, subject.amplitude, subject.peak_hour) * noise

        weights = {h: weight(h) for h in [*baseline_hours, *current_hours, hour]}
        total = round(per_hour * 24)
        factor = anomalies.volume_factor(subject.id)
        counts = dict(
            zip(baseline_hours, distribute(total, [weights[h] for h in baseline_hours]), strict=True)
        )
        current = distribute(round(total * factor), [weights[h] for h in current_hours])
        counts |= dict(zip(current_hours, current, strict=True))
        counts[hour] = round(per_hour * weights[hour] * factor * elapsed)
        volumes[subject.id] = counts

    sizes: dict[str, dict[datetime, int]] = {}
    for audience in world.audiences:
        srng = subject_rng(seed, "size", audience.id)
        size = audience.initial_size * srng.uniform(0.95, 1.05)
        by_hour = {}
        for i in range(50):  # H - 48h … H + 1h
            by_hour[windows.baseline_start + i * HOUR] = round(size)
            size *= 1 + srng.gauss(0.0002, 0.0006)  # slow growth, about +0.5 % a day
        sizes[audience.id] = by_hour
    return Plan(now=now, hour=hour, seed=seed, anomalies=anomalies, volumes=volumes, sizes=sizes)
