"""What the worker will see, tallied from the records actually published, and its preview."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from streamalert.counting.windows import HOUR, windows_at
from streamalert.records.inputs import DeliveryResult, SourceEvents
from streamalert.simulate.records import Emission
from streamalert.simulate.world import World


@dataclass
class Tally:
    """Records and events per topic, and the numbers an evaluation at `now` would compare."""

    now: datetime
    records: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    gauges: Counter[str] = field(default_factory=Counter)
    volume: dict[tuple[str, str], int] = field(default_factory=dict)
    """(subject, "current"|"baseline"|"week") → events (sources) or delivered (activations);
    "week" is the same day last week, [H - 192h, H - 168h)."""
    outcomes: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Destination or mapping → (delivered, failed) in the current window."""
    sizes: dict[tuple[str, str], tuple[datetime, int]] = field(default_factory=dict)
    """(audience[/destination], "current"|"baseline") → latest sample at or before the window end."""

    def __post_init__(self) -> None:
        self.windows = windows_at(self.now)
        self.week = windows_at(self.now, "same_day_last_week")

    def add(self, emission: Emission) -> None:
        record = emission.record
        self.records[emission.topic] += 1
        self.events[emission.topic] += emission.events
        windows = self.windows
        moment = record.timestamp
        window = (
            "current"
            if windows.current_start <= moment < windows.current_end
            else "baseline"
            if windows.baseline_start <= moment < windows.baseline_end
            else "week"
            if self.week.baseline_start <= moment < self.week.baseline_end
            else None
        )
        if isinstance(record, SourceEvents):
            if window:
                key = (record.source_id, window)
                self.volume[key] = self.volume.get(key, 0) + record.count
        elif isinstance(record, DeliveryResult):
            self.failed[emission.topic] += record.failed
            if window and record.kind == "activation":
                key = (emission.key, window)
                self.volume[key] = self.volume.get(key, 0) + record.delivered
            elif window == "current":
                delivered, failed = self.outcomes.get(emission.key, (0, 0))
                self.outcomes[emission.key] = (delivered + record.delivered, failed + record.failed)
        else:
            self.gauges[emission.topic] += 1
            subject = record.audience_id + (f"/{record.destination_id}" if record.destination_id else "")
            for name, end in (("current", windows.current_end), ("baseline", windows.baseline_end)):
                latest = self.sizes.get((subject, name))
                if moment <= end and (latest is None or moment >= latest[0]):
                    self.sizes[(subject, name)] = (moment, record.size)

    def change(self, subject: str, baseline_window: str = "baseline") -> tuple[int, int] | None:
        """(current, baseline) of a volume subject, or None when the baseline is empty;
        `baseline_window="week"`: against the same day last week."""
        baseline = self.volume.get((subject, baseline_window), 0)
        return (self.volume.get((subject, "current"), 0), baseline) if baseline else None

    def size_change(self, subject: str) -> tuple[int, int] | None:
        current, baseline = self.sizes.get((subject, "current")), self.sizes.get((subject, "baseline"))
        return (current[1], baseline[1]) if current and baseline and baseline[1] else None

    def rate(self, subject: str) -> float | None:
        delivered, failed = self.outcomes.get(subject, (0, 0))
        return 100 * delivered / (delivered + failed) if delivered + failed else None


def preview_lines(world: World, tally: Tally) -> list[str]:
    """What an evaluation before the next hour will compare, subject by subject."""
    windows = windows_at(tally.now)
    lines = [f"what an evaluation before {windows.current_end + HOUR:%H:%M} UTC will see:"]

    def change_line(label: str, pair: tuple[int, int] | None) -> str:
        if pair is None:
            return f"  {label:44} insufficient data (no baseline)"
        current, baseline = pair
        return (
            f"  {label:44} {current:>10,} vs {baseline:>10,}  {(current - baseline) * 100 / baseline:+7.1f} %"
        )

    for source in world.sources:
        lines.append(change_line(f"source_volume  source_id={source.id}", tally.change(source.id)))
        if (week := tally.change(source.id, "week")) is not None:
            lines.append(change_line("  same_day_last_week", week))
    for dest in world.destinations:
        rate = tally.rate(dest.id)
        shown = "no deliveries" if rate is None else f"{rate:.2f} % delivered"
        lines.append(f"  {'destination_delivery_rate  destination_id=' + dest.id:44} {shown}")
    for mapping in world.mappings:
        rate = tally.rate(mapping.id)
        shown = "no deliveries" if rate is None else f"{rate:.2f} % delivered"
        lines.append(f"  {'mapping_delivery_rate  mapping_id=' + mapping.id:44} {shown}")
    for audience in world.audiences:
        label = f"activation_volume  {audience.id} → {audience.destination_id}"
        lines.append(change_line(label, tally.change(audience.id)))
        if (week := tally.change(audience.id, "week")) is not None:
            lines.append(change_line("  same_day_last_week", week))
        lines.append(change_line(f"audience_size  audience_id={audience.id}", tally.size_change(audience.id)))
        synced = f"{audience.id}/{audience.destination_id}"
        lines.append(
            change_line(
                f"audience_size  {audience.id} @ {audience.destination_id}", tally.size_change(synced)
            )
        )
    return lines


def describe_world(world: World) -> list[str]:
    """The subject ids, by the alert kind that watches them."""
    destinations = ", ".join(f"{d.id} (from {', '.join(d.source_ids)})" for d in world.destinations)
    mappings = ", ".join(f"{m.id} (to {m.destination_id})" for m in world.mappings)
    activations = ", ".join(
        f"audience_id {a.id} + destination_id {a.destination_id}" for a in world.audiences
    )
    audiences = ", ".join(f"{a.id} (optionally destination_id {a.destination_id})" for a in world.audiences)
    return [
        f"  {'source_volume':27} source_id: {', '.join(s.id for s in world.sources)}",
        f"  {'destination_delivery_rate':27} destination_id: {destinations}",
        f"  {'mapping_delivery_rate':27} mapping_id: {mappings}",
        f"  {'activation_volume':27} {activations}",
        f"  {'audience_size':27} audience_id: {audiences}",
    ]
