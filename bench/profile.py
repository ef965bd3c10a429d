"""Sampling a worker with py-spy and summarising where its time goes.

py-spy's `raw` format is one line per distinct stack, `frame;frame;...;frame COUNT`, each frame
`function (path:line)`, outermost first. Idle threads are left out by py-spy, so a sample is
time the worker spent running Python (or in C called from it).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

FRAME = re.compile(r"^(?P<function>.*?) \((?P<path>.*?)(?::(?P<line>\d+))?\)$")

PACKAGES = {"streamalert", "pydantic", "pydantic_core", "faust", "mode", "aiokafka", "rocksdict", "orjson"}


def py_spy() -> str | None:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    return found if Path(found).exists() else None


def record(pid: int, seconds: float, out: Path, rate: int = 100) -> subprocess.Popen[bytes] | None:
    """Start sampling `pid` for `seconds` (non-blocking: the worker is never paused)."""
    binary = py_spy()
    if binary is None:
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            binary,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            str(rate),
            "--nonblocking",
            "--format",
            "raw",
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _label(frame: str) -> tuple[str, str]:
    """(function with its short file, package) of one raw frame (py-spy shortens the paths)."""
    match = FRAME.match(frame)
    if not match:
        return frame, "other"
    path = match["path"]
    short = "/".join(path.split("/")[-2:])
    top = path.split("/site-packages/")[-1].split("/")[0].removesuffix(".py")
    if top in PACKAGES:
        package = top
    elif top == "asyncio":
        package = "asyncio"
    elif top in sys.stdlib_module_names or top.startswith("<frozen"):
        package = "python stdlib"
    else:
        package = "other"
    return f"{match['function']} ({short})", package


def summarise(raw: Path, top: int = 20) -> dict[str, Any]:
    """Self and inclusive shares per function, self share per package, from a raw profile."""
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    by_package: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_label(frame) for frame in stack.split(";") if frame and not frame.startswith("process ")]
        frames = [frame for frame in frames if not frame[0].startswith("thread ")]
        if not frames:
            continue
        total += count
        leaf, package = frames[-1]
        self_time[leaf] += count
        by_package[package] += count
        for name in {name for name, _ in frames}:
            inclusive[name] += count

    def shares(counter: Counter[str], n: int) -> list[dict[str, Any]]:
        return [
            {"name": name, "samples": count, "share": round(count / total, 4)}
            for name, count in counter.most_common(n)
        ]

    return {
        "samples": total,
        "self": shares(self_time, top),
        "inclusive": shares(inclusive, top),
        "self_by_package": shares(by_package, len(by_package)),
    }
