"""`make demo` end to end: alerts of every kind fire and reach every channel, a week-over-week
alert on a source with quiet weekends stays ok; Ctrl-C cleans up."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support import REPO, raw, sign_in_over_http


def test_the_demo_fires_every_alert_and_ctrl_c_stops_everything(kafka_bootstrap: str) -> None:
    demo = subprocess.Popen(
        [sys.executable, str(REPO / "scripts" / "demo.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as in a terminal
    )
    assert demo.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 180
    try:
        for line in demo.stdout:
            lines.append(line)
            if "Ctrl-C stops the demo." in line or time.monotonic() > deadline:
                break
        output = "".join(lines)
        assert "Ctrl-C stops the demo." in output, output[-3000:]
        # One alert of each kind fires, and the day-over-day alert on ios (Monday against Sunday);
        # the week-over-week one on the same source stays ok.
        assert len(re.findall(r"demo:.*\bfiring\b", output)) == 6, output[-3000:]
        assert re.search(r"demo:\S*\s+ok  iOS events, week over week \(source_volume", output), output[-3000:]
        assert re.search(r"demo:\S*\s+firing  iOS events, day over day \(source_volume", output)
        assert "in-app notifications: 6 unread" in output
        for channel in ("slack", "slack-workflow", "pagerduty", "email"):
            assert len(re.findall(rf"\[sink:{channel}\] .*(FIRING|firing|trigger)", output)) == 6, channel
        run = re.search(r"STREAMALERT_TOPIC_PREFIX=(demo[0-9a-f]+)", output)
        assert run is not None
        # The printed token signs in to the printed UI, which shows the alerting page.
        ui = re.search(r"Open the web UI at (http://127\.0\.0\.1:\d+)/ .*\n\s+(sat_\S+)\n", output)
        assert ui is not None, output[-3000:]
        cookie, _ = sign_in_over_http(ui.group(1), ui.group(2), "/")
        status, _, page = raw("GET", f"{ui.group(1)}/", cookie)
        assert status == 200 and b"Create alert" in page
    finally:
        os.killpg(demo.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        rest, _ = demo.communicate(timeout=60)
    assert "stopped everything the demo started" in rest
    assert demo.returncode == 0
    assert processes_of(run.group(1)) == []
    assert not (REPO / ".local" / "demo" / run.group(1)).exists()


def processes_of(run: str) -> list[int]:
    """Processes whose environment names the demo run's topic prefix (worker, sink, simulator)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        if f"STREAMALERT_TOPIC_PREFIX={run}".encode() in environ.split(b"\0"):
            found.append(int(entry))
    return found
