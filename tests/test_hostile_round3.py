"""Hostile inputs, round three: defect classes a fresh campaign found beyond the catalogue
(``test_hostile_inputs.py``) and the issue-11 regressions (``test_hostile_regressions.py``).

Each class has several variants; every run is the real executable with its standard streams
set up as a shell would (``>/dev/full``, ``>&-``, ``0>/dev/null``, ``2>/dev/full``), and must end
in a defined exit code with one clear line, never exit 3.
"""
from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

REGISTRY = "registry.intern"
POD = b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: nginx:1.25\n"
REWRITTEN = POD.replace(b"nginx:1.25", b"registry.intern/library/nginx:1.25")
NOT_A_REFERENCE = POD.replace(b"nginx:1.25", b"$(params.IMAGE)")  # a warning: something for the log
VALUES = b"image:\n  repository: nginx\n  tag: '1.25'\n"


def run(args: list[str], *, stdin: bytes | str = b"", stdout: str = "pipe", stderr: str = "pipe",
        cwd: Path | None = None, env: dict[str, str] | None = None) -> tuple[int, bytes, bytes]:
    """The CLI with stdin bytes or a special file ("closed", "write-only", a path), and stdout/stderr
    "pipe", "closed", "full" (/dev/full) or "read-only" (a descriptor open for reading only)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CIVITAS_POSTRENDER_")}
    full_env.update(env or {})
    opened: list[int] = []

    def fd_for(kind: str, default: int) -> int | None:
        if kind == "pipe":
            return default
        if kind == "closed":
            return None
        path = {"full": "/dev/full", "read-only": "/dev/null", "write-only": "/dev/null"}.get(kind, kind)
        fd = os.open(path, os.O_WRONLY if kind in ("full", "write-only") else os.O_RDONLY)
        opened.append(fd)
        return fd

    targets = {1: fd_for(stdout, subprocess.PIPE), 2: fd_for(stderr, subprocess.PIPE)}
    stdin_fd = fd_for(stdin, subprocess.PIPE) if isinstance(stdin, str) else subprocess.PIPE
    closed = [n for n, fd in ((0, stdin_fd), *targets.items()) if fd is None]

    def close() -> None:
        for n in closed:
            os.close(n)

    try:
        proc = subprocess.Popen([sys.executable, "-m", "postrender", *args], stdin=stdin_fd if stdin_fd is not None else subprocess.DEVNULL,
                                stdout=targets[1] if targets[1] is not None else subprocess.DEVNULL,
                                stderr=targets[2] if targets[2] is not None else subprocess.DEVNULL,
                                cwd=cwd, env=full_env, preexec_fn=close)
        out, err = proc.communicate(stdin if isinstance(stdin, bytes) else None, timeout=120)
    finally:
        for fd in opened:
            os.close(fd)
    return proc.returncode, out or b"", err or b""


def one_error(err: bytes, *fragments: str) -> None:
    text = err.decode()
    assert "Traceback" not in text and "unexpected error" not in text, text
    errors = [line for line in text.splitlines() if line.startswith("civitas-postrender: error: ")]
    assert len(errors) == 1, text
    for fragment in fragments:
        assert fragment in errors[0], text


# -- class 1: every subcommand's standard streams -----------------------------------------------
# check wrote with click.echo (a full or read-only stdout: exit 3; a closed one: the verdict
# printed nowhere, exit 0); verify wrote to sys.stdout (closed: AttributeError, exit 3); images,
# check and verify read an unreadable stdin (0>/dev/null) into an OSError (exit 3); values ended
# with click.echo to stderr (a full stderr: exit 3 after the overlay was written).
@pytest.mark.parametrize("stdout,reason", [("full", "cannot write stdout"), ("closed", "stdout is closed"),
                                           ("read-only", "cannot write stdout")])
@pytest.mark.parametrize("output", ["text", "json"])
def test_check_that_cannot_write_its_verdict_could_not_run(tmp_path: Path, stdout: str, reason: str, output: str) -> None:
    (tmp_path / "ok.yaml").write_bytes(REWRITTEN)
    code, _, err = run(["check", "--registry", REGISTRY, "--output", output, "ok.yaml"], stdout=stdout, cwd=tmp_path)
    assert code == 2, err
    one_error(err, reason)


@pytest.mark.parametrize("stdout,reason", [("full", "cannot write stdout"), ("closed", "stdout is closed"),
                                           ("read-only", "cannot write stdout")])
def test_verify_that_cannot_write_its_verdict_fails(stdout: str, reason: str) -> None:
    code, _, err = run(["verify", "--registry", REGISTRY, "--allow-empty"], stdout=stdout)
    assert code == 1, err
    one_error(err, reason)


@pytest.mark.parametrize("command,code", [(["images"], 1), (["images", "--format", "harbor"], 1), (["check"], 2),
                                          (["verify"], 1)])
def test_stdin_not_open_for_reading_is_a_clear_error(command: list[str], code: int) -> None:
    result, out, err = run([*command, "--registry", REGISTRY], stdin="write-only")
    assert (result, out) == (code, b""), err
    one_error(err, "cannot read stdin")


@pytest.mark.parametrize("stderr", ["full", "read-only", "closed"])
def test_values_with_an_unwritable_stderr_still_writes_the_overlay(tmp_path: Path, stderr: str) -> None:
    (tmp_path / "values.yaml").write_bytes(VALUES)
    code, out, _ = run(["values", "--registry", REGISTRY, "values.yaml"], stderr=stderr, cwd=tmp_path)
    assert code == 0
    assert yaml.safe_load(out)["image"] == {"repository": "registry.intern/library/nginx"}


def test_harbor_password_from_an_endless_stdin_is_bounded(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_bytes(POD)
    code, _, err = run(["harbor", "sync", "--registry", REGISTRY, "--password-stdin", "pod.yaml"], stdin="/dev/zero",
                       cwd=tmp_path, env={"CIVITAS_POSTRENDER_HARBOR_USERNAME": "u"})
    assert code == 1, err
    one_error(err, "too large")


# -- class 2: check's own lines on stdout carry input text --------------------------------------
# A problem line starts with the stream's file name (from `helm template --output-dir`, i.e. the
# chart's template names) and a hook line quotes the helm.sh/hook annotation: both went to stdout
# raw, so an ESC drove the CI terminal and a newline forged an "ok" line.
@pytest.mark.parametrize("name", ["x\x1b[2J.yaml", "a\nok: all images served.yaml", "b\x9b31m.yaml", "c\u2028d.yaml"])
def test_check_escapes_the_file_name_on_stdout(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(POD)
    code, out, err = run(["check", "--registry", REGISTRY, name], cwd=tmp_path)
    assert code == 1, err
    lines = out.decode().splitlines()
    assert all(not any(ord(c) < 32 or 0x7f <= ord(c) < 0xa0 or c in "\u2028\u2029" for c in line) for line in lines), lines
    assert sum("is not served by" in line for line in lines) == 1
    assert not any(line.startswith("ok") for line in lines)


@pytest.mark.parametrize("hook", ["test\\e[2J", "pre-install\\nok: all images served", "post-install\\u202e"])
def test_check_escapes_the_hook_annotation_on_stdout(tmp_path: Path, hook: str) -> None:
    (tmp_path / "hook.yaml").write_bytes(POD.replace(b"  name: p\n", f'  name: p\n  annotations:\n    helm.sh/hook: "{hook}"\n'.encode()))
    code, out, err = run(["check", "--registry", REGISTRY, "hook.yaml"], cwd=tmp_path)
    assert code == 1, err
    text = out.decode()
    assert "\x1b" not in text and "\u202e" not in text and "\nok: all" not in text, text


# -- class 3: an output file that is stdout ---------------------------------------------------
# --log-file /dev/stdout (or CIVITAS_POSTRENDER_LOG=/proc/self/fd/1) appended log lines to the
# YAML stream; --images-out /dev/stdout wrote the JSON list into it (exit 0, a stream Helm
# cannot read); --images-out FILE with stdout redirected to FILE renamed a new file over the one
# stdout writes to, so the YAML went to an unlinked file and was lost.
@pytest.mark.parametrize("log", ["/dev/stdout", "/proc/self/fd/1", "/dev/fd/1", "{tmp}/out.yaml"])
@pytest.mark.parametrize("how", ["flag", "environment"])
def test_log_file_that_is_stdout_is_not_written(tmp_path: Path, log: str, how: str) -> None:
    log = log.replace("{tmp}", str(tmp_path))
    args = ["--registry", REGISTRY] + (["--log-file", log] if how == "flag" else [])
    env = {"CIVITAS_POSTRENDER_LOG": log} if how == "environment" else {}
    with open(tmp_path / "out.yaml", "wb") as out_file:
        proc = subprocess.run([sys.executable, "-m", "postrender", *args], input=NOT_A_REFERENCE, stdout=out_file,
                              stderr=subprocess.PIPE, env={**{k: v for k, v in os.environ.items() if not k.startswith("CIVITAS_")}, **env})
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out.yaml").read_bytes() == NOT_A_REFERENCE  # the stream alone, byte for byte
    assert b"is stdout" in proc.stderr and b"is not an image reference" in proc.stderr


def test_log_file_that_is_stdout_on_a_pipe_is_not_written() -> None:
    code, out, err = run(["--registry", REGISTRY, "--log-file", "/dev/stdout"], stdin=NOT_A_REFERENCE)
    assert (code, out) == (0, NOT_A_REFERENCE), err


@pytest.mark.parametrize("target", ["/dev/stdout", "/proc/self/fd/1", "{tmp}/out.yaml"])
def test_image_list_that_is_stdout_is_refused(tmp_path: Path, target: str) -> None:
    target = target.replace("{tmp}", str(tmp_path))
    with open(tmp_path / "out.yaml", "wb") as out_file:
        proc = subprocess.run([sys.executable, "-m", "postrender", "--registry", REGISTRY, "--images-out", target],
                              input=POD, stdout=out_file, stderr=subprocess.PIPE,
                              env={k: v for k, v in os.environ.items() if not k.startswith("CIVITAS_")})
    assert proc.returncode == 1, proc.stderr
    one_error(proc.stderr, "is stdout")
    assert (tmp_path / "out.yaml").read_bytes() == b""
    assert [p.name for p in tmp_path.iterdir()] == ["out.yaml"]


@pytest.mark.parametrize("command", [["images", "pod.yaml"], ["values", "values.yaml"]])
def test_an_output_file_that_is_stdout_is_fine_where_nothing_else_goes_there(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "pod.yaml").write_bytes(POD)
    (tmp_path / "values.yaml").write_bytes(VALUES)
    code, out, err = run([command[0], "--registry", REGISTRY, "-o", "/dev/stdout", command[1]], cwd=tmp_path)
    assert code == 0, err
    assert b"nginx" in out


# -- class 4: a log FIFO nobody reads (any more) ---------------------------------------------
# The log is opened per message: a reader that read the first message to its end left the
# second open() waiting for a reader for ever (the render hung); a FIFO without a reader too.
@contextmanager
def fifo_read_once(path: Path) -> Iterator[list[bytes]]:
    got: list[bytes] = []

    def read() -> None:
        with open(path, "rb") as handle:
            got.append(handle.read())

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    yield got
    thread.join(10)


@pytest.mark.parametrize("reader", ["once", "none"])
def test_log_fifo_without_a_reader_never_hangs(tmp_path: Path, reader: str) -> None:
    fifo = tmp_path / "log.fifo"
    os.mkfifo(fifo)
    stream = NOT_A_REFERENCE + b"---\n" + NOT_A_REFERENCE.replace(b"name: p", b"name: q")  # two warnings: two opens
    if reader == "once":
        with fifo_read_once(fifo) as got:
            code, out, err = run(["--registry", REGISTRY, "--log-file", str(fifo)], stdin=stream)
        assert got and b"is not an image reference" in got[0]
    else:
        code, out, err = run(["--registry", REGISTRY, "--log-file", str(fifo)], stdin=stream)
        assert b"a FIFO nobody reads" in err
    assert (code, out) == (0, stream), err


# -- class 5: output names -------------------------------------------------------------------
# "DIR/" was written as a file named DIR (images -o, values -o: a missing directory became a
# file, an existing file was overwritten); a legal 250-character name failed because the
# temporary name beside it ('.NAME.<12 hex>.tmp') was over NAME_MAX.
@pytest.mark.parametrize("command", [["images", "-o", "{name}", "pod.yaml"], ["values", "-o", "{name}", "values.yaml"]])
@pytest.mark.parametrize("name", ["missing/", "existing.json/"])
def test_a_name_ending_in_a_slash_is_never_written_as_a_file(tmp_path: Path, command: list[str], name: str) -> None:
    (tmp_path / "pod.yaml").write_bytes(POD)
    (tmp_path / "values.yaml").write_bytes(VALUES)
    (tmp_path / "existing.json").write_text("old\n")
    code, out, err = run([command[0], "--registry", REGISTRY, *[a.replace("{name}", name) for a in command[1:]]], cwd=tmp_path)
    assert (code, out) == (1, b""), err
    one_error(err, name)
    assert (tmp_path / "existing.json").read_text() == "old\n" and not (tmp_path / "missing").exists()


@pytest.mark.parametrize("length", [236, 237, 250, 255])
def test_a_long_legal_name_is_written(tmp_path: Path, length: int) -> None:
    from postrender import outfile

    target = tmp_path / ("n" * length)
    outfile.write_output(target, "x\n")
    assert target.read_text() == "x\n" and [p.name for p in tmp_path.iterdir()] == [target.name]
    target.chmod(0o640)
    outfile.write_output(target, "y\n")  # replaced: keeps its mode
    assert target.read_text() == "y\n" and stat.S_IMODE(target.stat().st_mode) == 0o640


def test_a_long_name_in_multibyte_characters_is_written(tmp_path: Path) -> None:
    from postrender import outfile

    target = tmp_path / ("ä" * 120 + ".json")  # 245 bytes
    outfile.write_output(target, "x\n")
    assert target.read_text() == "x\n" and len(list(tmp_path.iterdir())) == 1


# -- class 6: the reader of stdout goes away ---------------------------------------------------
# SIGPIPE's default action killed the process in the middle of the stdout write, after the image
# list's temporary file was written and before it was renamed: '.images.json.<hex>.tmp' stayed.
@pytest.mark.parametrize("images_out", ["images.json", "lists/"])
def test_reader_going_away_leaves_no_temporary_file(tmp_path: Path, images_out: str) -> None:
    (tmp_path / "lists").mkdir()
    stream = b"---\n".join(POD.replace(b"name: p", b"name: p%d" % i) for i in range(3000))  # far over a pipe's buffer
    (tmp_path / "in.yaml").write_bytes(stream)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVITAS_POSTRENDER_")}
    proc = subprocess.Popen([sys.executable, "-m", "postrender", "--registry", REGISTRY, "--images-out", images_out, "in.yaml"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(100)
    proc.stdout.close()  # as `| head -c 100` does
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 128 + 13, err  # as SIGPIPE's default action says it
    assert b"Traceback" not in err and b"unexpected error" not in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["in.yaml", "lists"]  # no list put in place, no temporary file


# -- leftovers of the round-three campaign, in the modules it could not edit -------------------
@pytest.mark.parametrize("name", ["missing/", "existing.json/"])
def test_post_render_image_list_ending_in_a_slash_is_never_written_as_a_file(tmp_path: Path, name: str) -> None:
    (tmp_path / "existing.json").write_text("old\n")
    code, out, err = run(["--registry", REGISTRY, "--images-out", name], stdin=POD, cwd=tmp_path)
    assert (code, out) == (1, b""), err
    assert b"names a directory" in err
    assert (tmp_path / "existing.json").read_text() == "old\n" and not (tmp_path / "missing").exists()


@pytest.mark.parametrize("name", ["x" * 300, "a/" * 3000 + "x"])
def test_an_image_list_name_too_long_for_the_system_is_exit_1(tmp_path: Path, name: str) -> None:
    code, out, err = run(["--registry", REGISTRY, "--images-out", name], stdin=POD, cwd=tmp_path)
    assert (code, out) == (1, b""), err
    assert b"File name too long" in err and b"Traceback" not in err


def test_stdin_named_twice_is_refused_in_post_render_mode_too() -> None:
    code, out, err = run(["--registry", REGISTRY, "-", "-"], stdin=POD)
    assert (code, out) == (1, b"") and b"'-' (stdin) given more than once" in err


@pytest.mark.parametrize("stdout", ["full", "closed"])
def test_helm_plugin_that_cannot_report_fails_with_exit_1(tmp_path: Path, stdout: str) -> None:
    code, _, err = run(["helm-plugin", str(tmp_path / "plugin")], stdout=stdout,
                       env={"HELM_PLUGINS": str(tmp_path / "no-plugins")})
    assert code == 1 and b"stdout" in err and b"Traceback" not in err


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["images", "--help"], ["harbor", "--help"], ["check", "-h"]])
@pytest.mark.parametrize("stdout", ["full", "closed"])
def test_help_and_version_that_cannot_be_written_are_exit_1(args: list[str], stdout: str) -> None:
    code, _, err = run(args, stdout=stdout)
    assert code == 1 and b"Traceback" not in err and b"unexpected error" not in err, err
    assert b"stdout" in err


def test_a_closed_stdout_is_fine_when_nothing_goes_there(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_bytes(POD)
    code, _, err = run(["images", "--registry", REGISTRY, "-o", "list.json", "pod.yaml"], stdout="closed", cwd=tmp_path)
    assert code == 0 and (tmp_path / "list.json").is_file(), err
