"""The RocksDB memory cap: the budget's split (pure) and that Faust's stores really share it."""

from __future__ import annotations

import os
from pathlib import Path

import faust
import pytest

from streamalert.app import create_faust_app, raw_table
from streamalert.rocksdb_memory import (
    MIB,
    RocksDBBudget,
    SharedMemoryOptions,
    Store,
    rocksdb_budget,
    shared_memory,
)
from streamalert.settings import Settings


@pytest.mark.parametrize(
    ("memory_mb", "budget"),
    [
        # a quarter for memtables; one memtable a quarter of that, between 1 and 64 MiB
        (
            256,
            RocksDBBudget(
                cache_bytes=256 * MIB,
                write_buffer_bytes=64 * MIB,
                write_buffer_size=16 * MIB,
                max_write_buffer_number=2,
            ),
        ),
        (
            16,
            RocksDBBudget(
                cache_bytes=16 * MIB,
                write_buffer_bytes=4 * MIB,
                write_buffer_size=1 * MIB,
                max_write_buffer_number=2,
            ),
        ),
        (
            4096,
            RocksDBBudget(
                cache_bytes=4096 * MIB,
                write_buffer_bytes=1024 * MIB,
                write_buffer_size=64 * MIB,
                max_write_buffer_number=2,
            ),
        ),
    ],
)
def test_budget_split(memory_mb: int, budget: RocksDBBudget) -> None:
    assert rocksdb_budget(memory_mb) == budget


def test_the_setting_is_read_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMALERT_ROCKSDB_MEMORY_MB", "64")
    assert Settings().rocksdb_memory_mb == 64
    monkeypatch.setenv("STREAMALERT_ROCKSDB_MEMORY_MB", "8")
    with pytest.raises(ValueError, match="rocksdb_memory_mb"):
        Settings()


def tables(tmp_path: Path, memory_mb: int, store: str = "rocksdb://") -> tuple[faust.Table, faust.Table]:
    settings = Settings(store=store, data_dir=tmp_path, rocksdb_memory_mb=memory_mb, partitions=4)
    app = create_faust_app(settings)
    return raw_table(app, "counts", settings), raw_table(app, "alert_states", settings)


def test_every_partition_database_of_every_table_shares_one_cache(tmp_path: Path) -> None:
    counts, states = tables(tmp_path, 24)
    memory = shared_memory(24)
    stores = [counts.data, states.data]
    for store in stores:
        assert isinstance(store, Store)
        assert isinstance(store.rocksdb_options, SharedMemoryOptions)
        assert store.rocksdb_options.memory is memory
        assert store.rocksdb_options.write_buffer_size == 1536 * 1024  # 24 MiB / 4 / 4
        assert store.rocksdb_options.max_write_buffer_number == 2
    databases = [store._db_for_partition(partition) for store in stores for partition in range(4)]
    assert memory.cache.get_usage() < 2 * MIB  # nothing written yet
    value = os.urandom(1000)  # incompressible, so the memtables really fill
    for index in range(30_000):  # ~30 MB across 8 databases, more than the 6 MiB of memtables
        databases[index % len(databases)][index.to_bytes(4, "big")] = value
    # The memtables are charged to the one cache, and released from it once flushed.
    assert 0 < memory.write_buffers.get_usage() <= memory.cache.get_usage()
    for db in databases:
        db.flush(True)
    # What stays is each database's new, empty memtable: its first arena block (1/8 of a memtable).
    assert memory.write_buffers.get_usage() <= len(databases) * memory.budget.write_buffer_size // 4
    # Reads of every database fill that same cache, which stays at its capacity.
    for index in range(0, 30_000, 7):
        assert databases[index % len(databases)][index.to_bytes(4, "big")] == value
    assert 4 * MIB < memory.cache.get_usage() <= memory.budget.cache_bytes * 1.1
    for store in stores:
        for db in store._dbs.values():
            db.close()


def test_the_memory_store_gets_no_rocksdb_options(tmp_path: Path) -> None:
    counts, _ = tables(tmp_path, 32, store="memory://")
    assert type(counts.data).__module__ == "faust.stores.memory"
