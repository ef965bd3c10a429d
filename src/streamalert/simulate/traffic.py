"""The traffic shape and plan: events per subject per hour, from the daily curve and the anomalies."""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from streamalert.counting.windows import DAY, HOUR, floor_hour, windows_at
from streamalert.simulate.anomalies import Anomalies
from streamalert.simulate.world import VolumeSubject, World


def diurnal(hour_of_day: float, amplitude: float = 0.6, peak_hour: float = 13.0) -> float:
    """Relative traffic at a UTC hour of day: 1 on average over a day, highest at `peak_hour`,
    lowest twelve hours later (night). `amplitude` < 1 keeps it positive."""
    return 1.0 + amplitude * math.cos(2 * math.pi * (hour_of_day - peak_hour) / 24)


Weekly = Literal["calendar", "monday"]
"""Where the weekend falls: on the UTC calendar's Saturday and Sunday, or (`monday`) so that the
last 24 hours [H - 24h, H) are a Monday: the two 24-hour days before them are the weekend, and
so on back every 7 days. `monday` shows a Monday's jump at any time of the week."""

WEEKEND_SHARE = 0.4
"""Weekend traffic against a weekday's, with weekly seasonality."""


def is_weekend(hour: datetime, plan_hour: datetime, weekly: Weekly) -> bool:
    """Whether `hour` is on a weekend day. `plan_hour` is H; the hour in progress counts as day 0."""
    if weekly == "calendar":
        return hour.astimezone(UTC).weekday() >= 5
    day = max(0, (plan_hour - hour - HOUR) // DAY)
    return day % 7 in (1, 2)


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
    """Events per volume subject per hour, audience sizes per hour, from `start` (H - 48h unless
    more days were planned) up to `now`."""

    now: datetime
    hour: datetime
    """H: `now` floored to the hour. The hour H itself is planned only up to `now`."""
    seed: int
    anomalies: Anomalies
    volumes: dict[str, dict[datetime, int]]
    sizes: dict[str, dict[datetime, int]]
    """Audience size at each hour start (without any shift), `start` to H + 1h."""
    days: int = 2
    """24-hour days planned before H: 2 (the baseline and current windows) up to 15."""
    weekly: Weekly | None = None

    @property
    def start(self) -> datetime:
        return self.hour - self.days * DAY

    @property
    def baseline_start(self) -> datetime:
        return self.hour - 48 * HOUR

    @property
    def current_start(self) -> datetime:
        return self.hour - 24 * HOUR

    @property
    def hours(self) -> list[datetime]:
        return [self.start + i * HOUR for i in range(self.days * 24 + 1)]

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
    days: int = 2,
    weekly: Weekly | None = None,
    weekend_share: float = WEEKEND_SHARE,
    seasonal: Collection[str] | None = None,
) -> Plan:
    """Hourly volumes for the `days` 24-hour days before H (2: the baseline and current windows,
    up to 15) and the hour in progress, anomalies applied.

    Each 24-hour day gets the same total per subject (`events_per_hour` x its scale x 24),
    spread over the hours by the daily curve and ±6 % noise; an anomaly multiplies the current
    window's total, so `--drop web=60` gives current = 0.4 x baseline exactly (up to rounding).
    With `weekly`, weekend hours carry `weekend_share` of a weekday hour's traffic (the day's
    total shrinks with them), so the same weekday a week apart holds the same total. `seasonal`
    names the volume subjects that have it (None: all of them).
    """
    if not 2 <= days <= 15:
        raise ValueError("a plan covers 2 to 15 days")
    anomalies = anomalies or Anomalies()
    now = now.astimezone(UTC)
    windows = windows_at(now)
    hour = floor_hour(now)
    seed = rng.getrandbits(64)
    baseline_hours = [windows.baseline_start + i * HOUR for i in range(24)]
    current_hours = [windows.current_start + i * HOUR for i in range(24)]
    older_days = [[hour - (d + 1) * DAY + i * HOUR for i in range(24)] for d in range(days - 1, 1, -1)]
    elapsed = (now - hour) / HOUR

    def seasonal_hour(h: datetime) -> float:
        return weekend_share if weekly is not None and is_weekend(h, hour, weekly) else 1.0

    volumes: dict[str, dict[datetime, int]] = {}
    for subject in world.volume_subjects():
        srng = subject_rng(seed, "volume", subject.id)
        per_hour = events_per_hour * subject.scale
        flat = seasonal is not None and subject.id not in seasonal
        season = (lambda h: 1.0) if flat else seasonal_hour

        def weight(h: datetime, subject: VolumeSubject = subject, srng: random.Random = srng) -> float:
            noise = min(1.3, max(0.7, srng.gauss(1.0, 0.06)))
            return diurnal(h.hour + 0.5, subject.amplitude, subject.peak_hour) * noise

        # Drawn in this order so that a 2-day plan repeats the numbers it always had.
        weights = {h: weight(h) for h in [*baseline_hours, *current_hours, hour]}
        weights |= {h: weight(h) for day in older_days for h in day}
        factor = anomalies.volume_factor(subject.id)
        counts: dict[datetime, int] = {}
        for day in [*older_days, baseline_hours]:
            total = round(per_hour * sum(season(h) for h in day))
            counts |= dict(zip(day, distribute(total, [weights[h] * season(h) for h in day]), strict=True))
        total = round(per_hour * sum(season(h) for h in current_hours))
        current = distribute(round(total * factor), [weights[h] * season(h) for h in current_hours])
        counts |= dict(zip(current_hours, current, strict=True))
        counts[hour] = round(per_hour * weights[hour] * season(hour) * factor * elapsed)
        volumes[subject.id] = counts

    sizes: dict[str, dict[datetime, int]] = {}
    for audience in world.audiences:
        srng = subject_rng(seed, "size", audience.id)
        size = audience.initial_size * srng.uniform(0.95, 1.05)
        by_hour = {}
        for i in range(days * 24 + 2):  # the plan's start … H + 1h
            by_hour[hour - days * DAY + i * HOUR] = round(size)
            size *= 1 + srng.gauss(0.0002, 0.0006)  # slow growth, about +0.5 % a day
        sizes[audience.id] = by_hour
    return Plan(
        now=now,
        hour=hour,
        seed=seed,
        anomalies=anomalies,
        volumes=volumes,
        sizes=sizes,
        days=days,
        weekly=weekly,
    )
