"""/readyz (the API) stays up through a rebalance; /readyz/partitions follows the partitions."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from tests.conftest import worker_env
from tests.support import WorkerProcess, http_get


def test_a_rebalance_takes_the_partitions_check_down_but_not_the_api(
    kafka_bootstrap: str, tmp_path: Path, unique: str
) -> None:
    env = worker_env(kafka_bootstrap, unique, tmp_path / "a")
    first = WorkerProcess(env, tmp_path / "a.log", unique).start()
    seen: list[tuple[int, int]] = []  # (/readyz, /readyz/partitions) of the first worker
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen.append((http_get(f"{first.url}/readyz")[0], http_get(f"{first.url}/readyz/partitions")[0]))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    second = WorkerProcess(
        env | {"STREAMALERT_DATA_DIR": str(tmp_path / "b" / "data")}, tmp_path / "b.log", unique
    )
    try:
        second.start()  # joins the group: the first worker's partitions are rebalanced
        time.sleep(1)
    finally:
        stop.set()
        watcher.join(5)
        second.stop()
        first.stop()
    assert seen and all(api == 200 for api, _ in seen), seen
    assert any(partitions == 503 for _, partitions in seen), "the rebalance was never visible"
    assert seen[-1] == (200, 200)
