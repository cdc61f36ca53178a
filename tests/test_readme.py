"""The README's walkthrough runs as written: every fenced block marked ``<!-- runnable -->`` is run,
in order, in one shell session, in a scratch directory that sees the checkout's ``fixtures``, with
the real Helm 3 (tests/tools/fetch-helm) and the checkout's ``civitas-postrender`` on PATH."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from conftest import CLI, ROOT, cli_env, helm_binary, run_cli
from test_verify import oci_layout, serve

MARKER = "<!-- runnable -->"
_BLOCK = re.compile(r"^" + re.escape(MARKER) + r"\n```(\w+)\n(.*?)^```\n", re.S | re.M)


def runnable_blocks(text: str) -> list[str]:
    blocks = []
    for language, body in _BLOCK.findall(text):
        assert language == "sh", f"a runnable block must be sh, not {language}"
        blocks.append(body)
    return blocks


def test_every_marker_opens_a_block() -> None:
    text = (ROOT / "README.md").read_text()
    assert text.count(MARKER) == len(runnable_blocks(text)) >= 6


def command_dir(tmp_path: Path) -> Path:
    """A directory for PATH holding ``civitas-postrender``: the checkout's code, as a reader's install would."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "civitas-postrender"
    tool.write_text("#!/bin/sh\nexec " + " ".join(shlex.quote(part) for part in CLI) + ' "$@"\n')
    tool.chmod(0o755)
    return bin_dir


def test_walkthrough_runs_as_written(tmp_path: Path) -> None:
    helm = helm_binary("3.19.0")
    bin_dir = command_dir(tmp_path)
    (bin_dir / "helm").symlink_to(helm)
    work = tmp_path / "work"
    work.mkdir()
    (work / "fixtures").symlink_to(ROOT / "fixtures")
    home = tmp_path / "home"
    env = cli_env({"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "HOME": str(home),
                   "HELM_DATA_HOME": str(home / "data"), "HELM_CONFIG_HOME": str(home / "config"),
                   "HELM_CACHE_HOME": str(home / "cache")})
    blocks = runnable_blocks((ROOT / "README.md").read_text())
    # One session, as a reader types them: settings exported by one block hold for the next.
    script = "set -euo pipefail\n" + "".join(f"echo '>>> block {i}' >&2\n{body}" for i, body in enumerate(blocks))
    result = subprocess.run(["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    # What the walkthrough promises, read back from its files.
    listed = set(result.stdout.split())
    assert {"ghcr.io/acme/migrate:2.0.1", "docker.io/curlimages/curl:8.10.1", "docker.io/library/nginx:1.16.0"} <= listed
    assert not any(name.startswith("registry.intern/") for name in listed)  # already mirrored: not listed
    assert (work / "harbor-mirror.json").is_file() and (work / "pull-secrets.yaml").read_text().count("kind: Secret") == 2
    assert "name: harbor-pull" in (work / "platform-harbor.yaml").read_text()
    assert "9 setting(s) mapped, 0 not mapped" in result.stderr  # its already private kubectl is no warning
    assert result.stdout.rstrip().endswith("5 pod specs checked for harbor-pull")
    deployed = (work / "deployed.yaml").read_text()
    assert "image: registry.intern/civitas/acme/migrate:2.0.1" in deployed and "ghcr.io" not in deployed


@pytest.mark.parametrize("block", runnable_blocks((ROOT / "README.md").read_text()))
def test_runnable_blocks_use_only_the_documented_tools(block: str) -> None:
    commands = {line.split()[0] for line in block.splitlines() if line.strip() and not line.startswith((" ", "#"))}
    assert commands <= {"export", "mkdir", "helm", "civitas-postrender", "printf"}, commands


def test_install_names_the_wheel_the_build_command_writes() -> None:
    # `pip wheel -w dist .` writes dist/<name>-<version>-py3-none-any.whl: the install line must name that path.
    text = (ROOT / "README.md").read_text()
    install = text.split("## Install", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    project = dict(re.findall(r'^(name|version) = "([^"]+)"$', (ROOT / "pyproject.toml").read_text(), re.M))
    wheel = f"{project['name'].replace('-', '_')}-{project['version']}-py3-none-any.whl"
    out_dir = re.search(r"pip wheel --no-deps -w (\S+) \.", install)
    assert out_dir, install
    assert f"pip install {out_dir.group(1)}/{wheel} " in install, install


def test_skopeo_block_mirrors_what_verify_then_finds(tmp_path: Path) -> None:
    """The README's skopeo block, run with real skopeo from one local registry (the "upstream") into
    another (the private one), both plain HTTP, with exactly the README's advice for that: the images
    land at the targets post-render gives them, and a copy that fails stops the loop with its code."""
    text = (ROOT / "README.md").read_text()
    block = next(b for b in re.findall(r"```sh\n(.*?)```", text, re.S) if "--format skopeo" in b and "csplit" in b)
    for name in ("up", "priv"):
        (tmp_path / name).mkdir()
    with ExitStack() as stack:
        upstream, private = (stack.enter_context(contextmanager(serve)(tmp_path / name, False)) for name in ("up", "priv"))
        layouts = tmp_path / "layouts"
        digest = oci_layout(layouts / "agent", "agent")
        oci_layout(layouts / "app", "app")
        upstream.push(layouts / "app", "acme/app:1.0")
        upstream.push(layouts / "agent", "tools/agent:1.0")
        work = tmp_path / "work"
        (work / "rendered").mkdir(parents=True)
        images = [f"{upstream.host}/acme/app:1.0", f"{upstream.host}/tools/agent:1.0@{digest}"]
        (work / "rendered" / "app.yaml").write_text(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
            + "".join(f"    - {{name: c{n}, image: '{image}'}}\n" for n, image in enumerate(images)))
        script = block.replace("registry.intern", private.host)
        env = cli_env({"PATH": f"{command_dir(tmp_path)}{os.pathsep}{os.environ.get('PATH', '')}",
                       "HOME": str(tmp_path / "home")})

        def run(script: str) -> subprocess.CompletedProcess[str]:
            for old in work.glob("sync-*.yaml"):
                old.unlink()
            return subprocess.run(["bash", "-c", "set -euo pipefail\n" + script], cwd=work, env=env,
                                  capture_output=True, text=True, timeout=300)

        # The README's advice for plain HTTP: tls-verify under the source's key, --dest-tls-verify=false.
        loop = next(line for line in script.splitlines() if line.startswith("for f in sync-"))

        def advised(files: str) -> str:
            return script.replace(loop, f"sed -i 's/^{re.escape(upstream.host)}:$/&\\n  tls-verify: false/' {files}\n"
                                  + loop.replace("| sh -e", "| sed 's/^skopeo sync /&--dest-tls-verify=false /' | sh -e"))

        # Advice left out of the first file only: its copy fails, and `sh -e` ends there with an error
        # (a plain `| sh` would go on and exit 0 with the last command's success).
        failed = run(advised("$(ls sync-*.yaml | tail -n 1)"))
        assert failed.returncode != 0 and "server gave HTTP response to HTTPS client" in failed.stderr
        assert "tools/agent" not in failed.stderr  # never reached
        copied = run(advised("sync-*.yaml"))
        assert copied.returncode == 0, copied.stderr
        verified = run_cli(["verify", "--registry", private.host, "--folder", "civitas", "--insecure", str(work / "rendered")])
        assert verified.returncode == 0, verified.stderr.decode()
        assert verified.stdout.decode() == f"all 2 images are on {private.host}\n"
