from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

# CI runs the property tests on a fixed set of examples, so a run is reproducible and a submission
# is judged on its code, not on the luck of a seed; locally (and in benchmarks/fuzz.py) they explore.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

from postrender.testing import yaml_snapshot_extension

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
CORPUS = Path(os.environ.get("CIVITAS_POSTRENDER_CORPUS", ROOT.parent / "shared" / "corpus"))

# Every subprocess the suite starts (``python -m postrender``, the Helm plugin's launcher, helm
# itself) inherits this: the checkout's package comes first, so a stale installed copy can never
# be what a test exercises.  tests/test_packaging.py checks the installed copy on purpose.
os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))])
CLI = [sys.executable, "-m", "postrender"]  # the command line that runs the checkout's code


@pytest.fixture
def snapshot_yaml(snapshot):  # type: ignore[no-untyped-def]
    return snapshot.use_extension(yaml_snapshot_extension())


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not present at {CORPUS}")
    return CORPUS


NO_HELM_PLUGINS = "/nonexistent/civitas-postrender-tests/helm-plugins"


def cli_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a spawned CLI: no CIVITAS_POSTRENDER_* or installed Helm plugins leaking in from the caller, plus ``env``."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CIVITAS_POSTRENDER_") and k != "HELM_PLUGINS"}
    env = env or {}
    if "HELM_DATA_HOME" not in env:  # helm-plugin looks at the installed plugins: never the user's own
        full_env["HELM_PLUGINS"] = NO_HELM_PLUGINS
    full_env.update(env)
    return full_env


def run_cli(args: list[str], stdin: bytes | str = b"", env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run the checkout's CLI in a subprocess: exit codes, stdout and stderr exactly as Helm sees them."""
    if isinstance(stdin, str):
        stdin = stdin.encode("utf-8")
    return subprocess.run([*CLI, *args], input=stdin, capture_output=True, env=cli_env(env), cwd=cwd, timeout=120)


def corpus_streams() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted([*CORPUS.glob("charts/*.yaml"), *CORPUS.glob("crs/*.yaml")])


def cannot_hold_images(document: str, rules: Any) -> bool:
    """Whether post-render only checks ``document`` (valid YAML) instead of reading it: what
    ``read_or_check`` decides for it as the second piece of a stream (one piece alone is always read)."""
    from postrender.documents import split
    from postrender.pipeline import read_or_check

    data = (("---\n" + document.rstrip("\n") + "\n") * 2).encode()
    read, stop = read_or_check(data, split(data), rules)
    assert stop is None and len(read) == 2 and read[0] == read[1]
    return not read[1]


def without_summary(stderr: bytes | str) -> str:
    """stderr less the one-line run summary every post-render run prints: what is left are warnings."""
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("civitas-postrender: summary: "))


def _load_fetch_helm() -> Any:
    path = ROOT / "tests" / "tools" / "fetch-helm"
    loader = importlib.machinery.SourceFileLoader("fetch_helm", str(path))
    spec = importlib.util.spec_from_loader("fetch_helm", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fetch_helm"] = module  # dataclasses look their module up there
    loader.exec_module(module)
    return module


FETCH = _load_fetch_helm()


def helm_binary(version: str) -> Path:
    """A real Helm from tests/tools/fetch-helm's cache; the test skips, saying why, when it is not there."""
    cache = FETCH.default_cache_dir()
    binary = FETCH.binary_path(cache, version)
    if binary.is_file() and os.access(binary, os.X_OK):
        return binary  # type: ignore[no-any-return]
    error = FETCH.error_path(cache, version)
    reason = error.read_text(encoding="utf-8").strip() if error.is_file() else "tests/tools/fetch-helm has not run"
    pytest.skip(f"Helm {version} is not in {cache} ({reason}); run tests/tools/fetch-helm")
