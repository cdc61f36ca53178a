"""The package type-checks under mypy --strict (the house style: type hints throughout)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT


def test_package_passes_mypy_strict() -> None:
    pytest.importorskip("mypy")
    result = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:]
