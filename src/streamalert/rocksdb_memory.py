"""One memory cap for every RocksDB database of a worker (`STREAMALERT_ROCKSDB_MEMORY_MB`).

Faust opens one RocksDB database per table partition (active and standby) and gives each a
2 GiB block cache and 3 x 64 MiB write buffers of its own, so a worker's memory grows with its
partitions. Here every database shares ONE LRU block cache of the budget's size, and their
write buffers (memtables) are charged to that same cache by one write buffer manager, so
data blocks, index and filter blocks and memtables together stay within the budget however
many partitions the worker holds. See docs/operations.md ("RocksDB memory").

Faust builds its options in `faust.stores.rocksdb.Store.__init__`; `Store` below swaps them
for `SharedMemoryOptions`. Tables ask for it with the store URL `STORE_SCHEME://` and carry
the shared cache in their options (`table_options`).
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import Any

import faust.stores
import rocksdict
from faust.stores import rocksdb as faust_rocksdb
from pydantic import BaseModel, ConfigDict

log = logging.getLogger(__name__)

MIB = 2**20
STORE_SCHEME = "streamalert-rocksdb"
OPTION = "streamalert_rocksdb_memory"
MAX_WRITE_BUFFER_NUMBER = 2  # one memtable filling while the other is flushed


class RocksDBBudget(BaseModel):
    """How a worker's RocksDB budget is spent. Pure numbers, in bytes."""

    model_config = ConfigDict(frozen=True)

    cache_bytes: int  # the shared block cache: data, index and filter blocks, and memtables
    write_buffer_bytes: int  # all memtables together (charged to the cache)
    write_buffer_size: int  # one memtable before it is flushed
    max_write_buffer_number: int


def rocksdb_budget(memory_mb: int) -> RocksDBBudget:
    """A quarter of the budget for memtables (RocksDB's usual split), the rest for reads.

    One memtable may use a quarter of the memtable share (at most Faust's 64 MiB), so a
    database flushes well before the write buffer manager has to stall anything.
    """
    total = memory_mb * MIB
    writes = total // 4
    return RocksDBBudget(
        cache_bytes=total,
        write_buffer_bytes=writes,
        write_buffer_size=max(MIB, min(64 * MIB, writes // 4)),
        max_write_buffer_number=MAX_WRITE_BUFFER_NUMBER,
    )


class SharedMemory:
    """The cache and write buffer manager shared by every database of one process."""

    def __init__(self, budget: RocksDBBudget) -> None:
        self.budget = budget
        self.cache = rocksdict.Cache(budget.cache_bytes)
        self.write_buffers = rocksdict.WriteBufferManager.new_write_buffer_manager_with_cache(
            budget.write_buffer_bytes, False, self.cache
        )
        self.announced = False

    def announce(self) -> None:
        """Log the budget once, when the first store opens (the worker's logging is set up by then)."""
        if not self.announced:
            self.announced = True
            log.info(
                "RocksDB tables share %d MiB (block cache, with %d MiB of write buffers charged to it)",
                self.budget.cache_bytes // MIB,
                self.budget.write_buffer_bytes // MIB,
            )


@cache
def shared_memory(memory_mb: int) -> SharedMemory:
    """One SharedMemory per budget and process: every table of the worker gets the same one."""
    return SharedMemory(rocksdb_budget(memory_mb))


class SharedMemoryOptions(faust_rocksdb.RocksDBOptions):
    """Faust's RocksDB options (rocksdict driver) with the shared cache and write buffer manager."""

    def __init__(self, memory: SharedMemory, **options: Any) -> None:
        budget = memory.budget
        super().__init__(
            **options,
            write_buffer_size=budget.write_buffer_size,
            max_write_buffer_number=budget.max_write_buffer_number,
            block_cache_size=budget.cache_bytes,
        )
        self.memory = memory

    def as_options(self) -> Any:
        # Faust's own version makes a new cache per call, i.e. per database; the rest is the same.
        options = rocksdict.Options(raw_mode=True)
        options.create_if_missing(True)
        if self.max_open_files is not None:
            options.set_max_open_files(self.max_open_files)
        options.set_write_buffer_size(self.write_buffer_size)
        options.set_target_file_size_base(self.target_file_size_base)
        options.set_max_write_buffer_number(self.max_write_buffer_number)
        options.set_write_buffer_manager(self.memory.write_buffers)
        table = rocksdict.BlockBasedOptions()
        table.set_bloom_filter(self.bloom_filter_size, block_based=True)
        table.set_block_cache(self.memory.cache)
        # Index and filter blocks in the cache too, so they count against the budget;
        # level-0 ones pinned, as RocksDB advises, so reads do not thrash them.
        table.set_cache_index_and_filter_blocks(True)
        table.set_pin_l0_filter_and_index_blocks_in_cache(True)
        table.set_index_type(rocksdict.BlockBasedIndexType.binary_search())
        options.set_block_based_table_factory(table)
        return options

    def open(self, path: Path, *, read_only: bool = False) -> Any:
        db = rocksdict.Rdict(str(path), options=self.as_options(), access_type=self._access_type())
        db.set_read_options(rocksdict.ReadOptions())
        return db

    def _access_type(self) -> Any:
        if self.ttl is None:
            return rocksdict.AccessType.read_write()
        return rocksdict.AccessType.with_ttl(self.ttl)


class Store(faust_rocksdb.Store):
    """Faust's RocksDB store whose databases share one memory budget."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        memory = (self.options or {}).get(OPTION)
        if not isinstance(memory, SharedMemory):
            raise TypeError(f"a {STORE_SCHEME}:// table needs table_options(...) in its options")
        self.rocksdb_options = SharedMemoryOptions(memory, use_rocksdict=True)
        memory.announce()


def table_options(memory_mb: int) -> dict[str, Any]:
    """The options of a table whose store is `STORE_SCHEME://`."""
    return {OPTION: shared_memory(memory_mb)}


# Faust finds stores by URL scheme in this registry (as it does its own `rocksdb://`).
faust.stores.STORES.aliases.setdefault(STORE_SCHEME, f"{__name__}:Store")
