"""Output files and stdout (postrender/outfile.py): what an output path points at is written, never
replaced; regular files atomically, with the permissions a plain open() gives; every failure exit 1.

The three writers (`--images-out`, `images -o`, `values -o`) share the one function: the CLI rows
run each of them against the same targets."""
from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import run_cli
from postrender import outfile
from postrender.errors import OutputError

REGISTRY = "registry.intern"
POD = b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: nginx:1.25\n"
WARNING_POD = POD.replace(b"nginx:1.25", b"$(params.IMAGE)")  # passes with a warning
VALUES = b"image:\n  repository: nginx\n  tag: '1.25'\n"
WRITERS = ["--images-out", "images -o", "values -o"]


def writer_args(writer: str, target: str) -> tuple[list[str], bytes]:
    """argv and stdin that make ``writer`` write its file to ``target``."""
    if writer == "--images-out":
        return ["--registry", REGISTRY, "--images-out", target], POD
    if writer == "images -o":
        return ["images", "--registry", REGISTRY, "-o", target, "-"], POD
    return ["values", "--registry", REGISTRY, "-o", target, "-"], VALUES


def expected_text(writer: str) -> str:
    return {"--images-out": '"source": "docker.io/library/nginx:1.25"', "images -o": "docker.io/library/nginx:1.25",
            "values -o": "repository: registry.intern/library/nginx"}[writer]


@contextmanager
def umask(mask: int) -> Iterator[None]:
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def only(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# -- regular files: atomic, permissions as open() gives them ---------------------------------------
@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002, 0o027, 0o000])
def test_new_file_gets_0666_less_the_umask(tmp_path: Path, mask: int) -> None:
    target = tmp_path / "new.json"
    with umask(mask):
        outfile.write_output(target, "x\n")
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask
    assert only(tmp_path) == ["new.json"]


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644, 0o444, 0o755])
def test_replaced_file_keeps_its_mode(tmp_path: Path, mode: int) -> None:
    target = tmp_path / "kept.json"
    target.write_text("old\n")
    target.chmod(mode)
    with umask(0o077):
        outfile.write_output(target, "new\n")
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == mode


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root can give a file away")
def test_replaced_file_keeps_its_owner(tmp_path: Path) -> None:
    target = tmp_path / "owned.json"
    target.write_text("old\n")
    os.chown(target, 4321, 4321)
    target.chmod(0o2640)  # setgid too: chown would clear it, so the mode is set after
    outfile.write_output(target, "new\n")
    info = target.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (4321, 4321, 0o2640)


@pytest.mark.parametrize("link", ["absolute", "relative", "chain", "dangling", "into-other-dir"])
def test_symlink_is_followed_and_kept(tmp_path: Path, link: str) -> None:
    real = tmp_path / ("other" if link == "into-other-dir" else ".") / "real.json"
    real.parent.mkdir(exist_ok=True)
    if link != "dangling":
        real.write_text("old\n")
        real.chmod(0o640)
    path = tmp_path / "link.json"
    if link == "chain":
        (tmp_path / "middle.json").symlink_to(real)
        path.symlink_to("middle.json")
    else:
        path.symlink_to(real if link != "relative" else Path(real.name))
    outfile.write_output(path, "new\n")
    assert path.is_symlink() and real.read_text() == "new\n"
    assert stat.S_IMODE(real.stat().st_mode) == (0o666 & ~_current_umask() if link == "dangling" else 0o640)
    assert not any(p.name.endswith(".tmp") for p in tmp_path.rglob("*"))


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_failure_inside_the_block_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "images.json"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with outfile.pending_output(target, "new\n") as pending:
            assert len(only(tmp_path)) == 2  # the new content waits beside the target
            raise RuntimeError("stdout failed")
    assert not pending.temporary and target.read_text() == "old\n" and only(tmp_path) == ["images.json"]


@pytest.mark.parametrize(("make", "reason"), [
    (lambda d: d / "missing" / "x.json", "No such file or directory"),
    (lambda d: d, "it is a directory"),
    (lambda d: _mkdir(d / "sub"), "it is a directory"),
    (lambda d: _file(d / "file") / "x.json", "Not a directory"),
    (lambda d: _loop(d / "loop"), "Too many levels of symbolic links"),
])
def test_unwritable_targets_are_output_errors(tmp_path: Path, make: Callable[[Path], Path], reason: str) -> None:
    target = make(tmp_path)
    with pytest.raises(OutputError, match=reason):
        outfile.write_output(target, "x\n", "the image list")
    assert not any(p.name.endswith(".tmp") for p in tmp_path.rglob("*"))


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def _file(path: Path) -> Path:
    path.write_text("x")
    return path


def _loop(path: Path) -> Path:
    path.symlink_to(path.name)
    return path


def test_empty_name_is_an_error() -> None:
    with pytest.raises(OutputError, match="the file name is empty"):
        outfile.write_output("", "x")


# -- special files: written in place, never replaced ------------------------------------------------
def test_dev_null_is_written_not_replaced() -> None:
    before = os.stat("/dev/null")
    outfile.write_output("/dev/null", "x\n" * 1000)
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)
    assert not [p for p in os.listdir("/dev") if p.startswith(".null.")]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
def test_dev_full_is_an_error() -> None:
    with pytest.raises(OutputError, match="cannot write the image list /dev/full: No space left on device"):
        outfile.write_output("/dev/full", "x\n", "the image list")
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


@pytest.mark.parametrize("through_symlink", [False, True])
def test_fifo_is_written_in_place(tmp_path: Path, through_symlink: bool) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    path = tmp_path / "link"
    path.symlink_to(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    outfile.write_output(path if through_symlink else fifo, "content\n" * 10_000)
    reader.join(timeout=60)
    assert received == [b"content\n" * 10_000]
    assert stat.S_ISFIFO(fifo.stat().st_mode) and only(tmp_path) == ["link", "pipe"]


# -- the CLI: the same rules for each writer --------------------------------------------------------
@pytest.mark.parametrize("writer", WRITERS)
def test_writers_write_dev_null_in_place(writer: str) -> None:
    before = os.stat("/dev/null")
    args, stdin = writer_args(writer, "/dev/null")
    result = run_cli(args, stdin)
    assert result.returncode == 0, result.stderr
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
@pytest.mark.parametrize("writer", WRITERS)
def test_writers_report_a_full_device(writer: str) -> None:
    args, stdin = writer_args(writer, "/dev/full")
    result = run_cli(args, stdin)
    assert result.returncode == 1 and result.stdout == b""
    assert result.stderr.decode().startswith("civitas-postrender: error: cannot write ")
    assert "/dev/full: No space left on device" in result.stderr.decode()


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize("where", ["missing-dir", "not-a-dir"])
def test_writers_report_an_impossible_path(tmp_path: Path, writer: str, where: str) -> None:
    (tmp_path / "file").write_text("x")
    target = tmp_path / ("missing" if where == "missing-dir" else "file") / "out"
    args, stdin = writer_args(writer, str(target))
    result = run_cli(args, stdin)
    assert result.returncode == 1 and result.stdout == b"", result.stderr
    assert f"cannot write the {'overlay' if writer == 'values -o' else 'image list'} {target}" in result.stderr.decode()
    assert only(tmp_path) == ["file"]


@pytest.mark.parametrize("writer", ["images -o", "values -o"])
def test_output_option_naming_a_directory_is_an_error(tmp_path: Path, writer: str) -> None:
    args, stdin = writer_args(writer, str(tmp_path))
    result = run_cli(args, stdin)
    assert result.returncode in (1, 2) and result.stdout == b""  # click refuses values -o DIR itself (usage)
    assert str(tmp_path) in result.stderr.decode() and "directory" in result.stderr.decode()
    assert only(tmp_path) == []


@pytest.mark.parametrize("writer", WRITERS)
def test_writers_follow_symlinks_and_keep_modes(tmp_path: Path, writer: str) -> None:
    real = tmp_path / "real"
    real.write_text("old\n")
    real.chmod(0o604)
    (tmp_path / "link").symlink_to("real")
    args, stdin = writer_args(writer, str(tmp_path / "link"))
    result = run_cli(args, stdin)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "link").is_symlink() and expected_text(writer) in real.read_text()
    assert stat.S_IMODE(real.stat().st_mode) == 0o604 and only(tmp_path) == ["link", "real"]


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_writers_create_files_with_the_umask(tmp_path: Path, writer: str, mask: int) -> None:
    args, stdin = writer_args(writer, str(tmp_path / "out"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVITAS_POSTRENDER_")}
    result = subprocess.run([sys.executable, "-m", "postrender", *args], input=stdin, capture_output=True, env=env,
                            preexec_fn=lambda: os.umask(mask), timeout=120)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o666 & ~mask


def test_empty_images_out_is_an_error() -> None:
    result = run_cli(["--registry", REGISTRY, "--images-out", ""], POD)
    assert result.returncode == 1 and result.stdout == b""
    assert "--images-out: the file name is empty" in result.stderr.decode()


# -- stdout and stderr: closed or full --------------------------------------------------------------
def _run(args: list[str], stdin: bytes, *, stdout: int | None = None, close: tuple[int, ...] = (),
         extra: list[str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """The CLI with some descriptors closed (``>&-``, ``2>&-``) or stdout on a given descriptor."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVITAS_POSTRENDER_")}

    def setup() -> None:
        for fd in close:
            os.close(fd)

    return subprocess.run([sys.executable, "-m", "postrender", *args, *(extra or [])], input=stdin,
                          stdout=stdout if stdout is not None else (None if 1 in close else subprocess.PIPE),
                          stderr=None if 2 in close else subprocess.PIPE, env=env, preexec_fn=setup, timeout=120)


STDOUT_COMMANDS = {
    "post-render": (["--registry", REGISTRY], POD),
    "images": (["images", "--registry", REGISTRY, "-"], POD),
    "values": (["values", "--registry", REGISTRY, "-"], VALUES),
    "secret": (["secret", "--registry", REGISTRY, "-n", "x", "--username", "u", "--password-stdin"], b"pw\n"),
}


@pytest.mark.parametrize("command", sorted(STDOUT_COMMANDS))
def test_closed_stdout_is_an_error_not_a_silent_loss(command: str) -> None:
    args, stdin = STDOUT_COMMANDS[command]
    result = _run(args, stdin, close=(1,))
    assert result.returncode == 1, result.stderr
    assert b"stdout is closed" in result.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
@pytest.mark.parametrize("command", sorted(STDOUT_COMMANDS))
def test_full_stdout_is_an_error(command: str) -> None:
    args, stdin = STDOUT_COMMANDS[command]
    with open("/dev/full", "wb") as full:
        result = _run(args, stdin, stdout=full.fileno())
    assert result.returncode == 1, result.stderr
    assert b"cannot write stdout: No space left on device" in result.stderr
    assert b"Traceback" not in result.stderr and b"Exception ignored" not in result.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
@pytest.mark.parametrize("previous", [None, "old list\n"])
def test_image_list_is_not_written_when_stdout_fails(tmp_path: Path, previous: str | None) -> None:
    target = tmp_path / "images.json"
    if previous is not None:
        target.write_text(previous)
    with open("/dev/full", "wb") as full:
        result = _run(["--registry", REGISTRY, "--images-out", str(target)], POD, stdout=full.fileno())
    assert result.returncode == 1 and b"cannot write stdout" in result.stderr
    assert (target.read_text() if target.exists() else None) == previous
    assert only(tmp_path) == ([] if previous is None else ["images.json"])


@pytest.mark.parametrize("stream, code", [(WARNING_POD, 0), (b"kind: [\n", 1)])
def test_closed_stderr_never_sends_messages_to_stdout(tmp_path: Path, stream: bytes, code: int) -> None:
    log = tmp_path / "run.log"
    result = _run(["--registry", REGISTRY, "--log-file", str(log)], stream, close=(2,))
    assert result.returncode == code
    assert result.stdout == (stream if code == 0 else b"")  # the stream, byte for byte, or nothing
    assert ("warning" if code == 0 else "error") in log.read_text()


def test_closed_stderr_keeps_the_values_overlay_clean() -> None:
    result = _run(["values", "--registry", REGISTRY, "-"], b"image: quay.io/a/b:1\nother: $(X)\nworker: {image: '$(Y)'}\n",
                  close=(2,))
    assert result.returncode == 0
    assert result.stdout.decode().splitlines()[2:] == ["image: registry.intern/a/b:1"]


# -- signals while the image list is written --------------------------------------------------------
@pytest.mark.parametrize("signame", ["SIGHUP", "SIGQUIT", "SIGTERM", "SIGINT"])
@pytest.mark.parametrize("previous", [None, "old list\n"])
def test_signal_during_image_list_write_leaves_no_temp_file(tmp_path: Path, signame: str, previous: str | None) -> None:
    """The signal arrives while the list's temporary file is synced (not by timing: fsync sends it)."""
    target = tmp_path / "images.json"
    if previous is not None:
        target.write_text(previous)
    code = (
        "import os, signal, sys\n"
        "from postrender import cli, outfile\n"
        "real_fsync = os.fsync\n"
        "def fsync(fd):\n"
        f"    os.kill(os.getpid(), signal.{signame})\n"
        "    real_fsync(fd)\n"
        "outfile.os.fsync = fsync\n"
        f"sys.exit(cli.main(['--registry', {REGISTRY!r}, '--images-out', {str(target)!r}]))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVITAS_POSTRENDER_")}
    result = subprocess.run([sys.executable, "-c", code], input=POD, capture_output=True, env=env, timeout=60)
    assert result.returncode == (130 if signame == "SIGINT" else 128 + getattr(signal, signame)), result.stderr
    assert result.stdout == b""
    assert (target.read_text() if target.exists() else None) == previous
    assert only(tmp_path) == ([] if previous is None else ["images.json"])


# -- signals while stdout is written ----------------------------------------------------------------
def _stream_of(pods: int) -> bytes:
    return b"---\n".join(POD.replace(b"name: p", b"name: p%d" % i).replace(b"1.25", b"1.%d" % i) for i in range(pods))


_CUT_STDOUT = (
    "import os, signal, sys\n"
    "from postrender import cli\n"
    "real_write, calls, total = os.write, [0], [0]\n"
    "def write(fd, data):\n"
    "    if fd != 1:\n"
    "        return real_write(fd, data)\n"
    "    calls[0] += 1\n"
    "    written = real_write(fd, bytes(data[:4096]))  # a pipe may take a part of a write\n"
    "    total[0] += written\n"
    "    if calls[0] == 2:\n"
    "        with open(sys.argv[1], 'w') as f:\n"
    "            f.write(str(total[0]))  # what the reader had when the signal came\n"
    "        os.kill(os.getpid(), signal.{signame})\n"
    "    return written\n"
    "os.write = write\n"
    "sys.exit(cli.main(sys.argv[2:]))\n"
)


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP", "SIGQUIT", "SIGINT"])
@pytest.mark.parametrize("with_list", [False, True])
def test_signal_during_stdout_write_cuts_the_stream_and_fails(tmp_path: Path, signame: str, with_list: bool) -> None:
    """What Helm sees: the bytes written before the signal, none after it (nothing left in a buffer
    for the interpreter to flush on exit), and 128 + signal, so it never takes the cut stream for a
    render; the image list stays where it was.  The signal is sent by the second write, not by timing."""
    stream = _stream_of(400)
    args = ["--registry", REGISTRY] + (["--images-out", str(tmp_path / "images.json")] if with_list else [])
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVITAS_POSTRENDER_")}
    whole = subprocess.run([sys.executable, "-m", "postrender", *args], input=stream, capture_output=True, env=env, timeout=60)
    assert whole.returncode == 0 and len(whole.stdout) > 5 * 4096
    (tmp_path / "images.json").unlink(missing_ok=True)
    count = tmp_path.parent / f"{tmp_path.name}.written"
    result = subprocess.run([sys.executable, "-c", _CUT_STDOUT.format(signame=signame), str(count), *args], input=stream,
                            capture_output=True, env=env, timeout=60)
    assert result.returncode == (130 if signame == "SIGINT" else 128 + getattr(signal, signame)), result.stderr
    written = int(count.read_text())
    assert 0 < written < len(whole.stdout)
    assert result.stdout == whole.stdout[:written]  # exactly what was written before the signal, nothing after
    assert only(tmp_path) == []  # no list, no temporary file
    if signame != "SIGINT":
        assert result.stderr.decode().startswith("civitas-postrender: error: terminated")


@pytest.mark.parametrize("command", [["images", "-"], ["values", "-"]])
def test_signal_during_stdout_write_of_other_commands(tmp_path: Path, command: list[str]) -> None:
    data = _stream_of(1000) if command[0] == "images" else b"".join(b"s%d: {image: nginx:1.%d}\n" % (i, i) for i in range(2000))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVITAS_POSTRENDER_")}
    args = [command[0], "--registry", REGISTRY, *command[1:]]
    whole = subprocess.run([sys.executable, "-m", "postrender", *args], input=data, capture_output=True, env=env, timeout=120)
    assert whole.returncode == 0 and len(whole.stdout) > 2 * 4096, whole.stderr
    result = subprocess.run([sys.executable, "-c", _CUT_STDOUT.format(signame="SIGTERM"), str(tmp_path / "n"), *args],
                            input=data, capture_output=True, env=env, timeout=120)
    assert result.returncode == 143, result.stderr
    written = int((tmp_path / "n").read_text())
    assert 0 < written < len(whole.stdout) and result.stdout == whole.stdout[:written]
