"""A worker runs with its RocksDB tables under one small memory budget."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import worker_env
from tests.support import WorkerProcess


def test_a_worker_starts_and_stops_with_a_small_rocksdb_budget(
    kafka_bootstrap: str, tmp_path: Path, unique: str
) -> None:
    env = worker_env(kafka_bootstrap, unique, tmp_path, STREAMALERT_ROCKSDB_MEMORY_MB="16")
    worker = WorkerProcess(env, tmp_path / "worker.log", unique)
    worker.start()
    try:
        tables = Path(env["STREAMALERT_DATA_DIR"]) / "v1" / "tables"
        # Faust's file names are kept: a data dir written before the budget existed is reused.
        assert sorted(path.name for path in tables.glob("counts-*.db")), worker.tail()
    finally:
        worker.stop()
    assert worker.process is not None and worker.process.returncode == 0, worker.tail()
    log = (tmp_path / "worker.log").read_text()
    assert "RocksDB tables share 16 MiB (block cache, with 4 MiB of write buffers charged to it)" in log
    assert "Traceback" not in log
