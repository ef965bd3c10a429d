"""The worker's runtime dependencies stay small: `streamalert sink`'s SMTP server is an extra."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import requires
from pathlib import Path

from packaging.requirements import Requirement

BLOCK_AIOSMTPD = "import sys; sys.modules['aiosmtpd'] = None; sys.modules['aiosmtpd.controller'] = None\n"


def run(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCK_AIOSMTPD + code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parent,
    )


def test_aiosmtpd_is_only_an_extra() -> None:
    found = [Requirement(r) for r in requires("streamalert") or [] if r.startswith("aiosmtpd")]
    assert found and all(r.marker is not None and "extra" in str(r.marker) for r in found)
    assert any('extra == "sink"' in str(r.marker) for r in found)


def test_the_worker_runs_without_aiosmtpd() -> None:
    done = run("from streamalert.cli import main; main()", "worker", "--help")
    assert done.returncode == 0, done.stderr
    assert "Usage:" in done.stdout


def test_sink_without_the_extra_says_which_to_install() -> None:
    done = run("from streamalert.cli import main; main()", "sink", "--http-port", "0")
    assert done.returncode == 1
    assert "pip install 'streamalert[sink]'" in done.stderr and "Traceback" not in done.stderr
