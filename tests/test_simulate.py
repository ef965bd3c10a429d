"""`streamalert simulate`, its pure part: the daily curve, the plan, anomalies and records."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from click.testing import CliRunner

from streamalert.cli import main
from streamalert.counting.buckets import SubjectState, alert_subject_key, apply, group_by_key, key_counter
from streamalert.counting.windows import HOUR, accepted_time_range, windows_at
from streamalert.evaluation.decide import evaluate
from streamalert.ingest.validation import Position, parse_delivery_result, parse_pipeline_event
from streamalert.records import AlertConfig, AudienceSize, DeadLetter, DeliveryResult, SourceEvents
from streamalert.simulate import (
    SOURCE_PROFILES,
    Anomalies,
    Emission,
    LiveTraffic,
    Plan,
    Tally,
    World,
    backfill_hours_from,
    backfill_records,
    build_world,
    distribute,
    diurnal,
    hour_records,
    plan_traffic,
)

NOW = datetime(2026, 11, 28, 9, 42, 17, 123000, tzinfo=UTC)
H = datetime(2026, 11, 28, 9, tzinfo=UTC)
WORLD = build_world("demo")


def plan(
    anomalies: Anomalies | None = None, now: datetime = NOW, seed: int = 7, world: World = WORLD
) -> Plan:
    return plan_traffic(world, now, random.Random(seed), events_per_hour=1000, anomalies=anomalies)


def anomalies(**options: dict[str, float]) -> Anomalies:
    return Anomalies.from_percentages(WORLD, **options)


def all_records(the_plan: Plan, world: World = WORLD, **options: object) -> list[Emission]:
    return [e for _, emissions in backfill_records(world, the_plan, **options) for e in emissions]  # type: ignore[arg-type]


def tally(emissions: list[Emission], now: datetime = NOW) -> Tally:
    result = Tally(now=now)
    for emission in emissions:
        result.add(emission)
    return result


# --- the daily curve -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amplitude", "peak"), [(0.6, 13.0), *[(a, p) for _, a, p in SOURCE_PROFILES.values()]]
)
def test_the_daily_curve_peaks_mid_day_and_is_lowest_at_night(amplitude: float, peak: float) -> None:
    values = [diurnal(hour + 0.5, amplitude, peak) for hour in range(24)]
    top, bottom = values.index(max(values)), values.index(min(values))
    assert 10 <= top <= 15
    assert bottom >= 22 or bottom <= 4
    assert max(values) / min(values) > 1.5
    assert sum(values) / 24 == pytest.approx(1.0)
    assert min(values) > 0


def test_hourly_volumes_follow_the_curve() -> None:
    volumes = plan().volumes["web"]
    by_hour_of_day = {h.hour: n for h, n in volumes.items() if h < H}  # the last 24 complete hours win
    assert sum(by_hour_of_day[h] for h in range(11, 16)) > 2 * sum(by_hour_of_day[h] for h in (0, 1, 2, 3, 4))


def test_distribute_is_exact() -> None:
    assert sum(distribute(1001, [0.3, 1.7, 1.0, 0.01])) == 1001
    assert distribute(0, [1.0, 2.0]) == [0, 0]
    assert distribute(3, [1.0, 1.0, 1.0]) == [1, 1, 1]


# --- the plan and its anomalies ------------------------------------------------------------------


def windows_of(the_plan: Plan, subject: str) -> tuple[int, int]:
    w = windows_at(the_plan.now)
    return (
        the_plan.window_total(subject, w.current_start, w.current_end),
        the_plan.window_total(subject, w.baseline_start, w.baseline_end),
    )


def test_without_anomalies_both_windows_hold_the_same_total() -> None:
    the_plan = plan()
    for subject in ("web", "ios", "android", "server", "m-orders-to-crm", "vip-customers"):
        current, baseline = windows_of(the_plan, subject)
        assert current == baseline > 0
    assert windows_of(the_plan, "web")[1] == round(1000 * WORLD.sources[0].share * 24)


def test_a_drop_of_60_percent_leaves_40_percent_of_the_baseline_and_nothing_else_changes() -> None:
    normal, dropped = plan(), plan(anomalies(drop={"web": 60}))
    current, baseline = windows_of(dropped, "web")
    assert baseline == windows_of(normal, "web")[1]
    assert current == round(0.4 * baseline)
    w = windows_at(NOW)
    for hour, count in dropped.volumes["web"].items():
        if hour < w.current_start:
            assert count == normal.volumes["web"][hour]  # the baseline window is untouched
    for subject in ("ios", "android", "server", "m-orders-to-crm", "vip-customers"):
        assert dropped.volumes[subject] == normal.volumes[subject]
    assert dropped.sizes == normal.sizes

    # The records carry exactly the planned events, and other subjects' records are identical.
    normal_records, dropped_records = all_records(normal), all_records(dropped)
    assert (tally(dropped_records).change("web")) == (current, baseline)
    assert tally(dropped_records).change("ios") == (tally(normal_records).change("ios"))
    untouched = {"ios", "android", "server", "m-orders-to-crm", "vip-customers"}

    def values_of(records: list[Emission]) -> list[bytes]:
        return [e.value() for e in records if e.key in untouched]

    assert values_of(dropped_records) == values_of(normal_records)


def test_a_spike_multiplies_the_current_window() -> None:
    current, baseline = windows_of(plan(anomalies(spike={"m-orders-to-crm": 150})), "m-orders-to-crm")
    assert current == round(2.5 * baseline)


def test_failures_lower_the_success_rate_of_that_destination_only() -> None:
    records = all_records(plan(anomalies(failures={"ads": 20, "m-orders-to-crm": 5})))
    result = tally(records)
    ads, crm = result.rate("ads"), result.rate("m-orders-to-crm")
    assert ads is not None and crm is not None
    assert ads == pytest.approx(80.0, abs=1.5)
    assert crm == pytest.approx(95.0, abs=1.0)
    for destination in ("warehouse", "analytics"):
        rate = result.rate(destination)
        assert rate is not None and 99.0 < rate < 99.9
    baseline = [e.record for e in records if e.key == "ads" and e.timestamp < windows_at(NOW).current_start]
    failed = sum(r.failed for r in baseline if isinstance(r, DeliveryResult))
    attempts = sum(r.delivered + r.failed for r in baseline if isinstance(r, DeliveryResult))
    assert 0 < failed / attempts < 0.012  # the baseline window is healthy


def test_an_audience_shift_moves_the_size_against_24_hours_earlier() -> None:
    result = tally(all_records(plan(anomalies(audience_shift={"vip-customers": -30}))))
    for subject in ("vip-customers", "vip-customers/ads"):
        pair = result.size_change(subject)
        assert pair is not None
        current, baseline = pair
        assert current / baseline == pytest.approx(0.7, abs=0.02)
    calm = tally(all_records(plan())).size_change("vip-customers")
    assert calm is not None
    assert calm[0] / calm[1] == pytest.approx(1.0, abs=0.03)  # a slow drift only


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"drop": {"nope": 10}}, "--drop nope: not a source, mapping or audience"),
        ({"drop": {"ads": 10}}, "--drop ads"),
        ({"failures": {"web": 10}}, "--failures web: not a destination"),
        ({"audience_shift": {"web": 10}}, "--audience-shift web"),
        ({"drop": {"web": 120}}, "out of range"),
        ({"drop": {"web": 10}, "spike": {"web": 10}}, "both --drop and --spike"),
        ({"audience_shift": {"vip-customers": -100}}, "100 % or more"),
    ],
)
def test_anomalies_name_subjects_that_can_take_them(
    options: dict[str, dict[str, float]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Anomalies.from_percentages(WORLD, **options)  # type: ignore[arg-type]


# --- records ------------------------------------------------------------------------------------


def expected_key(emission: Emission) -> str:
    record = emission.record
    if isinstance(record, SourceEvents):
        return record.source_id
    if isinstance(record, AudienceSize):
        return record.audience_id
    assert isinstance(record, DeliveryResult)
    subject = {
        "destination": record.destination_id,
        "mapping": record.mapping_id,
        "activation": record.audience_id,
    }
    return str(subject[record.kind])


def check_accepted(emissions: list[Emission], now: datetime) -> None:
    """As the worker parses them: valid, keyed by the subject id, inside the accepted time range."""
    oldest, newest = accepted_time_range(now)
    for offset, emission in enumerate(emissions):
        parse = parse_pipeline_event if emission.topic == "pipeline-events" else parse_delivery_result
        parsed = parse(emission.key.encode(), emission.value(), Position(emission.topic, 0, offset), now)
        assert not isinstance(parsed, DeadLetter), parsed.reason
        assert parsed == emission.record
        assert emission.key == expected_key(emission)
        assert oldest <= emission.timestamp <= now <= newest
        assert emission.record.workspace_id == "demo"


@pytest.mark.parametrize(
    "now",
    [NOW, H, H + HOUR - timedelta(microseconds=1), datetime(2026, 3, 1, 0, 0, 30, tzinfo=UTC)],
)
def test_every_backfilled_record_is_valid_keyed_and_accepted(now: datetime) -> None:
    records = all_records(plan(anomalies(drop={"web": 60}, failures={"ads": 20}), now=now))
    check_accepted(records, now)
    assert {e.key for e in records} == {
        "web", "ios", "android", "server", "warehouse", "analytics", "ads", "m-orders-to-crm", "vip-customers",
    }  # fmt: skip
    assert {type(e.record) for e in records} == {SourceEvents, AudienceSize, DeliveryResult}
    kinds = {e.record.kind for e in records if isinstance(e.record, DeliveryResult)}
    assert kinds == {"destination", "mapping", "activation"}
    assert all(
        e.record.source_id
        for e in records
        if isinstance(e.record, DeliveryResult) and e.record.kind == "destination"
    )
    sizes = [e.record for e in records if isinstance(e.record, AudienceSize)]
    assert {s.destination_id for s in sizes} == {None, "ads"}
    assert min(e.timestamp for e in records) >= windows_at(now).baseline_start


def test_single_event_records_carry_count_1_and_add_up_to_the_plan() -> None:
    the_plan = plan_traffic(WORLD, NOW, random.Random(3), events_per_hour=20)
    hour = H - 5 * HOUR
    single = hour_records(WORLD, the_plan, hour, single_events=True)
    aggregated = hour_records(WORLD, the_plan, hour, slices=3)
    check_accepted(single, NOW)
    for source in ("web", "server"):
        counts = [e.record.count for e in single if isinstance(e.record, SourceEvents) and e.key == source]
        assert set(counts) == {1}
        assert len(counts) == the_plan.volumes[source][hour]
        assert sum(e.events for e in aggregated if e.key == source) == len(counts)
        assert len([e for e in aggregated if isinstance(e.record, SourceEvents) and e.key == source]) <= 3
    results = [e.record for e in single if isinstance(e.record, DeliveryResult)]
    assert {r.delivered + r.failed for r in results} == {1}


def test_the_backfill_spans_the_asked_hours_and_never_more_than_48() -> None:
    the_plan = plan()
    assert backfill_hours_from(the_plan, 0) == []
    assert backfill_hours_from(the_plan, 2) == [H - 2 * HOUR, H - HOUR, H]
    assert backfill_hours_from(the_plan, 100) == backfill_hours_from(the_plan, 48)
    assert backfill_hours_from(the_plan, 48)[0] == windows_at(NOW).baseline_start
    records = all_records(the_plan, backfill_hours=2, slices=2)
    assert min(e.timestamp for e in records) >= H - 2 * HOUR
    assert max(e.timestamp for e in records) <= NOW


def test_a_seed_repeats_a_run_exactly() -> None:
    first = [e.value() for e in all_records(plan(seed=11))]
    assert first == [e.value() for e in all_records(plan(seed=11))]
    assert first != [e.value() for e in all_records(plan(seed=12))]
    live_a = LiveTraffic(WORLD, plan(seed=11), random.Random(5)).batch(NOW, 200)
    live_b = LiveTraffic(WORLD, plan(seed=11), random.Random(5)).batch(NOW, 200)
    assert [e.value() for e in live_a] == [e.value() for e in live_b]


# --- the worker's view: alerts fire on the anomalies, and only there -----------------------------


def alert(kind: str, threshold: str, **subject: str) -> AlertConfig:
    return AlertConfig.model_validate(
        {
            "id": "a1",
            "workspace_id": "demo",
            "kind": kind,
            "name": "n",
            "threshold_pct": Decimal(threshold),
            "channels": [{"type": "in_app"}],
            "created_by": {"user_id": "u", "name": "U"},
            "created_at": "2026-11-01T00:00:00Z",
            "updated_at": "2026-11-01T00:00:00Z",
        }
        | subject
    )


def test_after_the_backfill_alerts_fire_on_the_anomalies_only() -> None:
    chosen = anomalies(
        drop={"web": 60},
        failures={"ads": 20},
        audience_shift={"vip-customers": 30},
        spike={"m-orders-to-crm": 50},
    )
    records = all_records(plan(chosen))
    states: dict[str, SubjectState] = {}
    for key, items in group_by_key(enumerate(e.record for e in records)).items():
        states[key] = apply(None, key_counter(key), items, NOW)

    def status(config: AlertConfig) -> str:
        return evaluate(config, states.get(alert_subject_key(config)), NOW).status

    assert status(alert("source_volume", "50", source_id="web")) == "firing"
    assert status(alert("source_volume", "5", source_id="ios")) == "ok"
    assert status(alert("destination_delivery_rate", "95", destination_id="ads")) == "firing"
    assert status(alert("destination_delivery_rate", "99", destination_id="warehouse")) == "ok"
    assert (
        status(alert("destination_delivery_rate", "99", destination_id="warehouse", source_id="web")) == "ok"
    )
    assert status(alert("mapping_delivery_rate", "99", mapping_id="m-orders-to-crm")) == "ok"
    assert status(alert("activation_volume", "5", audience_id="vip-customers", destination_id="ads")) == "ok"
    assert status(alert("audience_size", "20", audience_id="vip-customers")) == "firing"
    assert status(alert("audience_size", "20", audience_id="vip-customers", destination_id="ads")) == "firing"
    assert status(alert("audience_size", "5", audience_id="vip-customers", destination_id="ads")) == "firing"


# --- the live phase ------------------------------------------------------------------------------


def test_live_records_are_stamped_now_and_follow_the_anomalies() -> None:
    now = NOW + timedelta(minutes=3)
    live = LiveTraffic(WORLD, plan(anomalies(drop={"web": 60}, failures={"ads": 50})), random.Random(1))
    batch = live.batch(now, 20_000)
    check_accepted(batch, now)
    assert {e.timestamp for e in batch} == {now}
    assert any(isinstance(e.record, AudienceSize) for e in batch)
    web = sum(e.events for e in batch if e.key == "web" and isinstance(e.record, SourceEvents))
    ios = sum(e.events for e in batch if e.key == "ios" and isinstance(e.record, SourceEvents))
    share = {s.id: s.share for s in WORLD.sources}
    assert web / ios == pytest.approx(0.4 * share["web"] / share["ios"], rel=0.1)
    ads = [e.record for e in batch if e.key == "ads" and isinstance(e.record, DeliveryResult)]
    failed, attempts = sum(r.failed for r in ads), sum(r.delivered + r.failed for r in ads)
    assert failed / attempts == pytest.approx(0.5, abs=0.03)
    single = LiveTraffic(WORLD, plan(), random.Random(1), single_events=True).batch(now, 500)
    assert {e.events for e in single if not isinstance(e.record, AudienceSize)} == {1}


# --- the command's arguments (checked before any connection) -------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--drop", "web"], "expected SUBJECT=PCT"),
        (["--drop", "web=lots"], "expected SUBJECT=PCT"),
        (["--drop", "web=10", "--drop", "web=20"], "web given twice"),
        (["--failures", "nowhere=10"], "not a destination, mapping or audience"),
        (["--workspace", "no spaces"], "not a valid id"),
        (["--sources", "0"], "--sources"),
        (["--weekly", "tuesday"], "--weekly"),
        (["--weekly", "--weekend-share", "0"], "--weekend-share"),
        (["--weekend-share", "101"], "--weekend-share"),
        (["--weekly", "--seasonal", "nowhere"], "not a source, mapping or audience"),
    ],
)
def test_bad_arguments_are_refused_before_connecting(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["simulate", "--broker", "kafka://127.0.0.1:9", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_an_unreachable_broker_is_a_clear_error() -> None:
    result = CliRunner().invoke(
        main, ["simulate", "--broker", "kafka://127.0.0.1:9", "--backfill-hours", "1"]
    )
    assert result.exit_code == 1
    assert "cannot reach Kafka at 127.0.0.1:9" in result.output


# --- weekly seasonality ---------------------------------------------------------------------------


def weekly_plan(weekly: str = "monday", now: datetime = NOW, share: float = 0.4) -> Plan:
    return plan_traffic(
        WORLD,
        now,
        random.Random(7),
        events_per_hour=1000,
        days=15,
        weekly=weekly,
        weekend_share=share,  # type: ignore[arg-type]
    )


def day_total(the_plan: Plan, subject: str, day: int) -> int:
    """Events of the 24-hour day `day` days before the current window ([H - 24h, H) is day 0)."""
    end = H - day * 24 * HOUR
    return the_plan.window_total(subject, end - 24 * HOUR, end)


@pytest.mark.parametrize(
    ("hour", "weekly", "weekend"),
    [
        (H - HOUR, "monday", False),  # the last hour of the current window: Monday
        (H - 24 * HOUR, "monday", False),  # its first hour
        (H - 24 * HOUR - HOUR, "monday", True),  # the hour before: Sunday
        (H - 72 * HOUR, "monday", True),  # Saturday's first hour
        (H - 72 * HOUR - HOUR, "monday", False),  # Friday's last
        (H - 192 * HOUR, "monday", False),  # the same day last week
        (H - 193 * HOUR, "monday", True),  # the Sunday before it
        (H, "monday", False),  # the hour in progress continues day 0
        (datetime(2026, 11, 28, 0, tzinfo=UTC), "calendar", True),  # a Saturday, UTC
        (datetime(2026, 11, 29, 23, tzinfo=UTC), "calendar", True),  # Sunday's last hour
        (datetime(2026, 11, 30, 0, tzinfo=UTC), "calendar", False),  # Monday
        (datetime(2026, 11, 27, 23, tzinfo=UTC), "calendar", False),  # Friday
    ],
)
def test_where_the_weekend_falls(hour: datetime, weekly: str, weekend: bool) -> None:
    from streamalert.simulate.traffic import is_weekend

    assert is_weekend(hour, H, weekly) is weekend  # type: ignore[arg-type]


def test_a_weekly_plan_covers_15_days_with_quiet_weekends() -> None:
    the_plan = weekly_plan()
    assert the_plan.start == H - 360 * HOUR and len(the_plan.hours) == 361
    for subject in WORLD.volume_subjects():  # sources, mappings and activations alike
        totals = [day_total(the_plan, subject.id, day) for day in range(15)]
        weekday = round(1000 * subject.scale * 24)
        quiet = round(1000 * subject.scale * sum(0.4 for _ in range(24)))
        assert totals == [quiet if day % 7 in (1, 2) else weekday for day in range(15)], subject.id
        # Monday against Sunday: +150 %; against last Monday: 0 %.
        assert abs(totals[0] / totals[1] - 2.5) < 0.01
        assert totals[0] == totals[7]
    assert backfill_hours_from(the_plan, 360)[0] == H - 360 * HOUR
    assert backfill_hours_from(the_plan, 1000) == backfill_hours_from(the_plan, 360)


def test_a_two_day_plan_is_what_it_always_was() -> None:
    two_days = plan_traffic(WORLD, NOW, random.Random(7), events_per_hour=1000, days=2)
    assert two_days == plan()
    assert two_days.start == windows_at(NOW).baseline_start
    with pytest.raises(ValueError, match="2 to 15 days"):
        plan_traffic(WORLD, NOW, random.Random(7), days=16)


def test_the_calendar_weekend_is_quiet_on_saturday_and_sunday() -> None:
    the_plan = weekly_plan("calendar", share=0.25)
    web = the_plan.volumes["web"]
    saturday = [h for h in web if h.weekday() == 5 and h < H]
    friday = [h for h in web if h.weekday() == 4]
    assert saturday and friday
    assert sum(web[h] for h in saturday) / len(saturday) < 0.35 * sum(web[h] for h in friday) / len(friday)


def test_weekly_records_fire_day_over_day_and_stay_quiet_week_over_week() -> None:
    """From simulated records to decisions: a Monday after a weekend at 40 % is +150 % against
    Sunday and about 0 % against last Monday."""
    the_plan = weekly_plan()
    records = all_records(the_plan, backfill_hours=360, slices=2)
    check_accepted(records, NOW)
    assert min(e.timestamp for e in records) >= H - 360 * HOUR
    states: dict[str, SubjectState] = {}
    items = [(offset, e.record) for offset, e in enumerate(records)]
    for key, group in group_by_key(items).items():
        states[key] = apply(None, key_counter(key), group, NOW)
    base = {
        "id": "a",
        "workspace_id": "demo",
        "kind": "source_volume",
        "name": "n",
        "source_id": "web",
        "threshold_pct": Decimal(50),
        "channels": [{"type": "in_app"}],
        "created_by": {"user_id": "u", "name": "U"},
        "created_at": NOW,
        "updated_at": NOW,
    }
    daily = AlertConfig.model_validate(base)
    weekly = AlertConfig.model_validate(base | {"baseline": "same_day_last_week"})
    state = states[alert_subject_key(daily)]
    day = evaluate(daily, state, NOW)
    week = evaluate(weekly, state, NOW)
    assert day.status == "firing" and day.observed is not None
    assert Decimal(149) < day.observed.change_pct < Decimal(151)  # type: ignore[union-attr]
    assert week.status == "ok" and week.observed is not None
    assert abs(week.observed.change_pct) < 1  # type: ignore[union-attr]
    shown = tally(records)
    assert shown.change("web", "week") is not None and shown.change("web") is not None


@pytest.mark.parametrize("weekly", [["--weekly"], ["--weekly", "monday"], ["--weekly", "calendar"]])
def test_weekly_is_a_flag_or_takes_a_calendar(weekly: list[str]) -> None:
    result = CliRunner().invoke(main, ["simulate", "--broker", "kafka://127.0.0.1:9", *weekly, "--seed", "1"])
    assert result.exit_code == 1, result.output  # parsed; then the broker is unreachable
    assert "cannot reach Kafka at 127.0.0.1:9" in result.output


def test_only_the_seasonal_subjects_have_quiet_weekends() -> None:
    the_plan = plan_traffic(
        WORLD, NOW, random.Random(7), events_per_hour=1000, days=15, weekly="monday", seasonal={"ios"}
    )
    flat, seasonal = WORLD.volume_subjects()[0], WORLD.volume_subjects()[1]
    assert (flat.id, seasonal.id) == ("web", "ios")
    assert {day_total(the_plan, "web", day) for day in range(15)} == {round(1000 * flat.scale * 24)}
    ios = [day_total(the_plan, "ios", day) for day in range(3)]
    assert ios[0] == round(1000 * seasonal.scale * 24) and ios[1] == ios[2] < ios[0] / 2
