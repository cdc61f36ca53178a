"""Run one command as its own process and measure it: wall time and the child's peak RSS.

``os.wait4`` returns the resource usage of exactly that child; the child is spawned
by a small launcher process so the benchmark's own memory never leaks into it.
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Run:
    seconds: float
    max_rss_mb: float
    returncode: int
    stderr: str
    cpu_seconds: float = 0.0  # user + system: far less disturbed than wall time by other load on a shared machine


@dataclass
class Series:
    """All runs of one command on one stream."""

    name: str
    argv: list[str]
    runs: list[Run] = field(default_factory=list)
    skipped: str | None = None  # why it was not measured
    ok_exits: tuple[int, ...] = (0,)  # check exits 1 when it finds problems: a run that did its work

    def succeeded(self, run: Run) -> bool:
        return run.returncode in self.ok_exits

    @property
    def ok(self) -> list[Run]:
        return [r for r in self.runs if self.succeeded(r)]

    def summary(self) -> dict[str, object]:
        ok = self.ok
        if self.skipped or not ok:
            failed = next((r for r in self.runs if not self.succeeded(r)), None)
            return {
                "name": self.name, "argv": self.argv,
                "skipped": self.skipped or f"failed: exit {failed.returncode if failed else '?'}: {failed.stderr[-500:] if failed else ''}",
            }
        times = [r.seconds for r in ok]
        cpu = [r.cpu_seconds for r in ok]
        rss = [r.max_rss_mb for r in ok]
        return {
            "name": self.name, "argv": self.argv, "runs": len(ok), "failures": len(self.runs) - len(ok),
            "median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
            "times_s": times, "peak_rss_mb": max(rss), "median_rss_mb": statistics.median(rss),
            "median_cpu_s": statistics.median(cpu), "cpu_s": cpu,
        }


# Peak RSS needs a lean parent: Linux carries the parent's memory high-water mark into a
# child's ru_maxrss at exec (vfork/posix_spawn share the parent's mm).  So every measured
# command is spawned by this small launcher process (~10 MB), never by the benchmark itself.
_LAUNCHER = r"""
import json, os, sys, time
for line in sys.stdin:
    job = json.loads(line)
    actions = [(os.POSIX_SPAWN_OPEN, 0, job["stdin"], os.O_RDONLY, 0),
               (os.POSIX_SPAWN_OPEN, 1, job["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
               (os.POSIX_SPAWN_OPEN, 2, job["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)]
    start = time.perf_counter()
    pid = os.posix_spawnp(job["argv"][0], job["argv"], job["env"], file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime, "maxrss_kb": usage.ru_maxrss,
                      "exit": os.waitstatus_to_exitcode(status)}), flush=True)
"""


class Launcher:
    """A long-lived small process that spawns, times and reaps each measured command."""

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-S", "-c", _LAUNCHER], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        self.scratch = Path(tempfile.mkdtemp(prefix="civitas-bench-launcher-"))

    def run(self, argv: Sequence[str], stdin: Path | None, env: dict[str, str] | None = None,
            capture_stdout: Path | None = None) -> Run:
        assert self.process.stdin is not None and self.process.stdout is not None
        err = self.scratch / "stderr"
        job = {"argv": list(argv), "stdin": str(stdin or os.devnull), "stdout": str(capture_stdout or os.devnull),
               "stderr": str(err), "env": dict(os.environ if env is None else env)}
        self.process.stdin.write(json.dumps(job) + "\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline())
        text = err.read_text(encoding="utf-8", errors="replace")
        return Run(answer["seconds"], answer["maxrss_kb"] / 1024, answer["exit"], text, answer["cpu"])

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait()
        shutil.rmtree(self.scratch, ignore_errors=True)


_launcher: Launcher | None = None


def run_once(argv: Sequence[str], stdin: Path | None, env: dict[str, str] | None = None,
             capture_stdout: Path | None = None) -> Run:
    """Run ``argv`` with ``stdin`` from a file, output to /dev/null (or a file): wall time and peak RSS."""
    global _launcher
    if _launcher is None:
        _launcher = Launcher()
    return _launcher.run(argv, stdin, env, capture_stdout)


def start_launcher() -> None:
    """Start the launcher now, while this process is still small."""
    global _launcher
    if _launcher is None:
        _launcher = Launcher()


def stop_launcher() -> None:
    global _launcher
    if _launcher is not None:
        _launcher.close()
        _launcher = None
