"""The installed copy: its console script, its modules and its packaged rule files.

Every other subprocess test runs the checkout (conftest puts it first on PYTHONPATH); these run
what ``pip install`` put into the environment, without the checkout on the path, so a packaging
mistake (a rule file or module left out of the wheel) or a stale install fails here.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT, cli_env, run_cli

SCRIPT = Path(sys.executable).parent / "civitas-postrender"
ARGS = ["--registry", "registry.intern", "--folder", "civitas", "--pull-secret", "regcred"]


def installed_env() -> dict[str, str]:
    """The caller's environment without the checkout on PYTHONPATH."""
    env = cli_env()
    env.pop("PYTHONPATH", None)
    return env


def installed(code: str, tmp_path: Path) -> str:
    """Run ``code`` in the test interpreter against the installed package (cwd outside the checkout)."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=installed_env(), cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_console_script_renders_like_the_checkout(tmp_path: Path) -> None:
    if not SCRIPT.is_file():
        pytest.skip(f"no console script at {SCRIPT}: the package is not installed in this interpreter's environment")
    stream = (FIXTURES / "civitas-analytics.yaml").read_bytes()
    script = subprocess.run([str(SCRIPT), *ARGS], input=stream, capture_output=True, env=installed_env(), cwd=tmp_path, timeout=60)
    checkout = run_cli(ARGS, stream)
    assert script.returncode == 0, script.stderr
    assert script.stdout == checkout.stdout and b"registry.intern/civitas/" in script.stdout


def test_installed_modules_and_rule_files_are_the_checkouts(tmp_path: Path) -> None:
    where = json.loads(installed(
        "import json, postrender, pathlib\n"
        "from postrender.rules import builtin_rules_dir\n"
        "print(json.dumps([str(pathlib.Path(postrender.__file__).parent), str(builtin_rules_dir())]))", tmp_path))
    package, rules = Path(where[0]), Path(where[1])
    stale = []
    for source, copy_dir in [(ROOT / "postrender", package), (ROOT / "rules", rules)]:
        for path in sorted(source.rglob("*")):
            if path.suffix not in (".py", ".yaml") or "__pycache__" in path.parts:
                continue
            copy = copy_dir / path.relative_to(source)
            if not copy.is_file() or copy.read_bytes() != path.read_bytes():
                stale.append(str(path.relative_to(ROOT)))
    assert not stale, f"the installed package at {package} differs from the checkout ({', '.join(stale)}): run pip install -e ."


def test_packaged_rules_load_from_the_installed_copy(tmp_path: Path) -> None:
    ids = json.loads(installed("import json; from postrender.rules import load_rules\n"
                               "print(json.dumps(sorted(r.id for r in load_rules().rules)))", tmp_path))
    assert "kubernetes/workload" in ids and "prometheus-operator/workloads" in ids
    assert len(ids) == len(set(ids))


def test_entry_points_are_declared() -> None:
    try:
        dist = metadata.distribution("civitas-postrender")
    except metadata.PackageNotFoundError:
        pytest.skip("civitas-postrender is not installed in this environment")
    points = {(ep.group, ep.name): ep.value for ep in dist.entry_points}
    assert points[("console_scripts", "civitas-postrender")] == "postrender.cli:main"
    assert points[("pytest11", "civitas_postrender")] == "postrender.pytest_plugin"
    assert os.environ.get("PYTHONPATH", "").split(os.pathsep)[0] == str(ROOT)  # conftest: subprocesses run the checkout
