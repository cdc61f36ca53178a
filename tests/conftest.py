from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from postrender.testing import yaml_snapshot_extension

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
CORPUS = Path(os.environ.get("CIVITAS_POSTRENDER_CORPUS", ROOT.parent / "shared" / "corpus"))


@pytest.fixture
def snapshot_yaml(snapshot):  # type: ignore[no-untyped-def]
    return snapshot.use_extension(yaml_snapshot_extension())


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not present at {CORPUS}")
    return CORPUS


def run_cli(args: list[str], stdin: bytes | str = b"", env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run the real executable in a subprocess: exit codes, stdout and stderr exactly as Helm sees them."""
    if isinstance(stdin, str):
        stdin = stdin.encode("utf-8")
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CIVITAS_POSTRENDER_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "postrender", *args], input=stdin, capture_output=True, env=full_env, cwd=cwd, timeout=120)


def corpus_streams() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted([*CORPUS.glob("charts/*.yaml"), *CORPUS.glob("crs/*.yaml")])
