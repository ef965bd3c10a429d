"""The simulated workspace: its sources, destinations, mappings and audiences (`build_world`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

# name: (traffic share, daily amplitude, peak hour UTC). Server-side sources are flatter.
SOURCE_PROFILES: dict[str, tuple[float, float, float]] = {
    "web": (1.4, 0.6, 13.0),
    "ios": (1.0, 0.7, 14.0),
    "android": (0.9, 0.7, 13.5),
    "server": (0.7, 0.3, 12.0),
    "pos": (0.5, 0.8, 12.5),
    "partner": (0.6, 0.4, 11.0),
    "kiosk": (0.3, 0.8, 13.0),
    "backend": (0.6, 0.25, 12.0),
}
SERVER_SIDE = frozenset({"server", "partner", "backend"})
BASE_FAILURE_RATE = 0.005
"""Around 99.5 % of deliveries succeed; each record's rate varies around its subject's own."""


@dataclass(frozen=True)
class Source:
    id: str
    share: float
    """Traffic relative to the average source (the shares average 1)."""
    amplitude: float
    peak_hour: float


@dataclass(frozen=True)
class Destination:
    """A cloud-mode destination: receives a fraction of the events of the sources feeding it."""

    id: str
    source_ids: tuple[str, ...]
    fraction: float
    failure_rate: float


@dataclass(frozen=True)
class RetlMapping:
    """A reverse-ETL mapping: rows synced from the warehouse to a destination, fairly flat."""

    id: str
    destination_id: str
    scale: float
    """Rows per hour relative to `--events-per-hour`."""
    amplitude: float
    peak_hour: float
    failure_rate: float


@dataclass(frozen=True)
class Audience:
    """An audience: a gauge of its size, and its activation (members delivered) to a destination."""

    id: str
    destination_id: str
    initial_size: int
    synced_fraction: float
    """Share of the audience matched in the destination: the size reported with destination_id."""
    scale: float
    """Activation deliveries per hour relative to `--events-per-hour`."""
    amplitude: float
    peak_hour: float
    failure_rate: float


@dataclass(frozen=True)
class VolumeSubject:
    """Anything whose hourly volume is planned: a source, a mapping, an audience's activation."""

    id: str
    kind: Literal["source", "mapping", "activation"]
    scale: float
    amplitude: float
    peak_hour: float


@dataclass(frozen=True)
class World:
    workspace_id: str
    sources: tuple[Source, ...]
    destinations: tuple[Destination, ...]
    mappings: tuple[RetlMapping, ...]
    audiences: tuple[Audience, ...]

    def volume_subjects(self) -> list[VolumeSubject]:
        return (
            [VolumeSubject(s.id, "source", s.share, s.amplitude, s.peak_hour) for s in self.sources]
            + [VolumeSubject(m.id, "mapping", m.scale, m.amplitude, m.peak_hour) for m in self.mappings]
            + [VolumeSubject(a.id, "activation", a.scale, a.amplitude, a.peak_hour) for a in self.audiences]
        )

    def subject_ids(self, *kinds: str) -> list[str]:
        """Ids of the named kinds: source, destination, mapping, audience."""
        groups: dict[str, Iterable[str]] = {
            "source": (s.id for s in self.sources),
            "destination": (d.id for d in self.destinations),
            "mapping": (m.id for m in self.mappings),
            "audience": (a.id for a in self.audiences),
        }
        return [subject for kind in kinds for subject in groups[kind]]


def source_names(count: int) -> list[str]:
    names = list(SOURCE_PROFILES)[:count]
    return names + [f"source-{i}" for i in range(len(names) + 1, count + 1)]


def build_world(workspace_id: str, sources: int = 4) -> World:
    """The entities of the simulated workspace; ids are fixed and readable."""
    if sources < 1:
        raise ValueError("at least one source")
    profiles = [SOURCE_PROFILES.get(name, (0.5, 0.5, 13.0)) for name in source_names(sources)]
    mean_share = sum(p[0] for p in profiles) / len(profiles)
    built = tuple(
        Source(name, share / mean_share, amplitude, peak)
        for name, (share, amplitude, peak) in zip(source_names(sources), profiles, strict=True)
    )
    all_ids = tuple(s.id for s in built)
    client = tuple(s.id for s in built if s.id not in SERVER_SIDE) or all_ids[:1]
    return World(
        workspace_id=workspace_id,
        sources=built,
        destinations=(
            Destination("warehouse", all_ids, fraction=1.0, failure_rate=0.003),
            Destination("analytics", client, fraction=0.8, failure_rate=0.004),
            Destination("ads", client, fraction=0.35, failure_rate=0.007),
        ),
        mappings=(RetlMapping("m-orders-to-crm", "crm", 0.4, 0.2, 13.0, BASE_FAILURE_RATE),),
        audiences=(Audience("vip-customers", "ads", 25_000, 0.93, 0.15, 0.5, 14.0, 0.004),),
    )
