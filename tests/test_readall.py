"""Whole inputs read with a limit (postrender/readall.py): /dev/zero, an endless pipe or a file over
the limit is a clear exit-1 "too large" error, never a MemoryError or a machine out of memory."""
from __future__ import annotations

import io
import os
import resource
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from postrender import readall
from postrender.errors import ConfigError, InputError
from test_hostile_inputs import REGISTRY

ZERO = "/dev/zero"
POD = b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: nginx\n"


def test_small_inputs_are_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "f"
    for data in (b"", b"x", POD, b"y" * (3 << 20)):
        path.write_bytes(data)
        assert readall.read_all(path, "f") == data


@pytest.mark.parametrize("size", [0, 1, 1023, 1024, 5000])
def test_limit_is_inclusive(tmp_path: Path, size: int) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"z" * size)
    if size <= 1024:
        assert readall.read_all(path, "f", limit=1024) == b"z" * size
    else:
        with pytest.raises(InputError, match="f: too large"):
            readall.read_all(path, "f", limit=1024)


def test_endless_source_stops_at_the_limit() -> None:
    with pytest.raises(ConfigError, match=r"config file /dev/zero: too large \(over 1 MiB"):
        readall.read_all(ZERO, "config file /dev/zero", limit=1 << 20, error=ConfigError)


def test_pipe_is_read_in_chunks(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    data = POD * 50_000  # several chunks
    writer = threading.Thread(target=fifo.write_bytes, args=(data,))
    writer.start()
    assert readall.read_all(fifo, "pipe") == data
    writer.join(timeout=60)


def test_memory_error_becomes_too_large(monkeypatch: pytest.MonkeyPatch) -> None:
    class Exhausted(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            raise MemoryError

    monkeypatch.setattr(readall.sys, "stdin", io.TextIOWrapper(Exhausted(b"x")))
    with pytest.raises(InputError, match="stdin: too large"):
        readall.read_all("-", "stdin")


def test_closed_stdin_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readall.sys, "stdin", None)
    with pytest.raises(InputError, match="stdin is closed"):
        readall.read_all("-", "stdin")


# -- every command, /dev/zero where a file or stream is read ----------------------------------------
ZERO_RUNS = {
    "post-render stdin": ["--registry", REGISTRY],
    "post-render FILE": ["--registry", REGISTRY, ZERO],
    "images stdin": ["images", "-"],
    "images FILE": ["images", ZERO],
    "check stdin": ["check", "--registry", REGISTRY, "-"],
    "values stdin": ["values", "--registry", REGISTRY, "-"],
    "values FILE": ["values", "--registry", REGISTRY, ZERO],
    "config": ["--registry", REGISTRY, "--config", ZERO],
    "rules": ["--registry", REGISTRY, "--rules", ZERO],
    "images config": ["images", "--config", ZERO, "-"],
}


@pytest.mark.parametrize("run", sorted(ZERO_RUNS))
def test_dev_zero_is_too_large_not_a_memory_error(tmp_path: Path, run: str) -> None:
    """Under 512 MiB of address space the limit is not reached first: the MemoryError on the way is
    turned into the same message (and without the limit, 1 GiB stops it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVITAS_POSTRENDER_")}

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (512 << 20, 512 << 20))
        resource.setrlimit(resource.RLIMIT_CPU, (60, 60))

    with open(ZERO if "stdin" in run else os.devnull, "rb") as stdin:
        result = subprocess.run([sys.executable, "-m", "postrender", *ZERO_RUNS[run]], stdin=stdin, capture_output=True,
                                env=env, cwd=tmp_path, preexec_fn=limit, timeout=300)
    stderr = result.stderr.decode()
    assert result.returncode in (1, 2), stderr  # check: 2 for input errors
    assert result.stdout == b"" and "Traceback" not in stderr and "MemoryError" not in stderr
    assert "too large" in stderr and stderr.count("\n") == 1, stderr
