"""Output safety: stdout gets the whole result or nothing, the image list is replaced atomically,
a closed pipe or SIGTERM ends cleanly, and credentials never reach output, logs or image lists."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from postrender import outfile
from postrender.errors import PostrenderError
from postrender.settings import resolve
from test_hostile_inputs import REGISTRY, run_bounded

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "fixtures" / "civitas-analytics.yaml"
ARGS = ["--registry", REGISTRY, "--folder", "civitas"]

POD = """\
---
# Source: app/templates/pod-{i}.yaml
apiVersion: v1
kind: Pod
metadata:
  name: pod-{i}
spec:
  containers:
    - name: a
      image: quay.io/acme/app-{i}:1.0
"""


def _stream(documents: int) -> str:
    return "".join(POD.format(i=i) for i in range(documents))


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CIVITAS_POSTRENDER_")}


def _slow_enabled(config: pytest.Config) -> bool:
    return "slow" in (config.getoption("markexpr") or "") or bool(os.environ.get("CIVITAS_POSTRENDER_SLOW"))


# -- stdout: all or nothing ----------------------------------------------------------------------
@pytest.mark.parametrize("broken_at", ["first", "last"])
def test_error_anywhere_leaves_stdout_empty(tmp_path: Path, broken_at: str) -> None:
    broken = "---\n# Source: app/templates/broken.yaml\napiVersion: v1\nkind: ConfigMap\ndata: {a: [}\n"
    stream = broken + _stream(3000) if broken_at == "first" else _stream(3000) + broken
    out = tmp_path / "images.json"
    result = run_bounded([*ARGS, "--images-out", str(out)], stream.encode(), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == b""
    assert b"app/templates/broken.yaml" in result.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_collision_keeps_previous_image_list(tmp_path: Path) -> None:
    """Two sources on one target: exit 1, and the last good image list stays as it was."""
    out = tmp_path / "images.json"
    out.write_text('{"previous": true}\n')
    clash = POD.format(i=1).replace("quay.io/acme/app-1:1.0", "quay.io/acme/app:1.0") + POD.format(i=2).replace("quay.io/acme/app-2:1.0", "ghcr.io/acme/app:1.0")
    result = run_bounded([*ARGS, "--images-out", str(out)], clash.encode(), cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == b""
    assert b"collision" in result.stderr
    assert out.read_text() == '{"previous": true}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images.json"]


def test_success_writes_everything_and_leaves_no_temp_file(tmp_path: Path) -> None:
    out = tmp_path / "images.json"
    out.write_text("stale\n")
    stream = _stream(500)
    result = run_bounded([*ARGS, "--images-out", str(out)], stream.encode(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == stream.replace("image: quay.io/acme/", "image: registry.intern/civitas/acme/")
    images = json.loads(out.read_text())
    assert len(images["images"]) == 500
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images.json"]


# -- the image list: temp file beside it, then rename ---------------------------------------------
def test_image_list_is_renamed_into_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "images.json"
    target.write_text("old\n")
    renames: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src: str, dst: str) -> None:
        assert Path(src).parent == tmp_path and Path(src).name != target.name
        assert Path(src).read_text() == "new content\n"  # complete before the rename
        assert target.read_text() == "old\n"  # readers see the old file until then
        renames.append((str(src), str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(outfile.os, "replace", spy)
    outfile.write_output(target, "new content\n")
    assert [Path(d) for _, d in renames] == [target]
    assert target.read_text() == "new content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images.json"]


@pytest.mark.parametrize("failing", ["fsync", "replace", "write", "fchmod"])
def test_failed_image_list_write_keeps_old_file_and_removes_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str) -> None:
    target = tmp_path / "images.json"
    target.write_text("old\n")
    real_write = os.write

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    def half(fd: int, data: bytes) -> int:  # writes some, then the disk is full
        if len(data) > 100:
            return real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(outfile.os, failing, half if failing == "write" else boom)
    with pytest.raises(PostrenderError, match=r"cannot write the image list .*images\.json: No space left on device"):
        outfile.write_output(target, '{"images": []}\n' * 1000, "the image list")
    monkeypatch.undo()
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images.json"]


# -- signals -------------------------------------------------------------------------------------
def test_closed_stdout_pipe_ends_quietly(tmp_path: Path) -> None:
    """Helm (or `| head`) closing the pipe: SIGPIPE ends the run, no traceback, no exit 3."""
    stream = _stream(4000).encode()  # far more output than a pipe buffer holds
    proc = subprocess.Popen([sys.executable, "-m", "postrender", *ARGS], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=_clean_env(), cwd=tmp_path)
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(stream)
    proc.stdin.close()
    assert proc.stdout.read(16)
    proc.stdout.close()
    stderr = proc.stderr.read()
    code = proc.wait(timeout=120)
    assert code in (-signal.SIGPIPE, 128 + signal.SIGPIPE, 0), (code, stderr)
    assert b"Traceback" not in stderr and b"unexpected error" not in stderr


def _handles_sigterm(pid: int) -> bool:
    """The process has installed its SIGTERM handler (Linux: SigCgt in /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    return False


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc to see the handler installed")
def test_sigterm_while_reading_ends_cleanly(tmp_path: Path) -> None:
    out = tmp_path / "images.json"
    proc = subprocess.Popen([sys.executable, "-m", "postrender", *ARGS, "--images-out", str(out)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_clean_env(), cwd=tmp_path)
    assert proc.stdin is not None
    proc.stdin.write(_stream(10).encode())  # half a release: Helm is still writing
    proc.stdin.flush()
    try:
        while proc.poll() is None and not _handles_sigterm(proc.pid):
            pass  # wait for main() to install its handler (no sleeps, no timing)
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM
    assert stdout == b""
    assert stderr.startswith(b"civitas-postrender: ") and stderr.endswith(b"terminated\n") and stderr.count(b"\n") == 1
    assert not out.exists() and list(tmp_path.iterdir()) == []


# -- credentials ---------------------------------------------------------------------------------
PASSWORD = "s3cr3t-Pa55w0rd-value"


def test_password_never_in_settings_output_logs_or_image_list(tmp_path: Path) -> None:
    env = {"CIVITAS_POSTRENDER_PASSWORD": PASSWORD, "CIVITAS_POSTRENDER_USERNAME": "robot$ci"}
    settings = resolve({"registry": REGISTRY}, env=env)
    assert PASSWORD not in repr(settings)
    log, out = tmp_path / "run.log", tmp_path / "images.json"
    stream = _stream(2) + POD.format(i=9).replace("quay.io/acme/app-9:1.0", "$(params.IMAGE)")  # a warning
    runs = [
        run_bounded([*ARGS, "--images-out", str(out), "--log-file", str(log), "--pull-secret", "regcred"], stream.encode(), env=env, cwd=tmp_path),
        run_bounded([*ARGS, "--log-file", str(log)], b"kind: [\n", env={**env, "CIVITAS_POSTRENDER_LOG": str(log)}, cwd=tmp_path),
        run_bounded(["--registry", "bad registry", "--log-file", str(log)], b"", env={**env, "CIVITAS_POSTRENDER_LOG": str(log)}, cwd=tmp_path),
    ]
    assert [r.returncode for r in runs] == [0, 1, 1]
    assert b"warning" in runs[0].stderr and log.read_text().count("error") >= 2  # something was logged
    for run in runs:
        assert PASSWORD.encode() not in run.stdout + run.stderr
    assert PASSWORD not in log.read_text() and PASSWORD not in out.read_text()


@pytest.mark.parametrize("value", [
    "user:pa55word@registry.example.com/app:1.0",
    "https://user:pa55word@registry.example.com/app:1.0",
    "registry.example.com/app:1.0?token=pa55word",
])
def test_references_with_credentials_never_reach_the_image_list(tmp_path: Path, value: str) -> None:
    out = tmp_path / "images.json"
    stream = POD.format(i=1) + POD.format(i=2).replace("quay.io/acme/app-2:1.0", json.dumps(value))
    stream += "      env:\n        - {name: SIDECAR_IMAGE, value: " + json.dumps(value) + "}\n      args: [" + json.dumps("--image=" + value) + "]\n"
    result = run_bounded([*ARGS, "--images-out", str(out)], stream.encode(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    listed = out.read_text()
    assert "pa55word" not in listed and "user" not in listed
    assert [i["source"] for i in json.loads(listed)["images"]] == ["quay.io/acme/app-1:1.0"]


# -- size ----------------------------------------------------------------------------------------
def hundred_megabyte_stream() -> bytes:
    """The analytics fixture repeated to 100 MB (every copy rewrites the same way)."""
    one = FIXTURE.read_bytes()
    return one * ((100 << 20) // len(one) + 1)


@pytest.mark.slow
def test_hundred_megabyte_stream(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if not _slow_enabled(request.config):
        pytest.skip("slow: run with -m slow (or CIVITAS_POSTRENDER_SLOW=1)")
    one = FIXTURE.read_bytes()
    single = run_bounded(ARGS, one, cwd=tmp_path)
    assert single.returncode == 0
    data = hundred_megabyte_stream()
    # Bounded, not timed: 1 GiB of address space and 10 CPU minutes (it needs ~340 MB RSS).
    result = run_bounded(ARGS, data, cwd=tmp_path, memory=1 << 30, cpu=600, timeout=1200)
    assert result.returncode == 0, result.stderr[-500:]
    assert result.stdout == single.stdout * (len(data) // len(one))
