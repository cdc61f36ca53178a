"""Output files and stdout: a reader sees the old content or the whole new one, never half.

A regular file (or a missing one) gets its new content in a temporary file beside it, renamed
over it once complete; a symlink is followed first, so the file it points at is replaced and the
link stays.  Anything else that exists is written in place, as a shell's ``>`` would: renaming over
``/dev/null`` or a FIFO would replace the device or pipe with a regular file.  A new file gets the
mode a plain ``open()`` gives (0666 less the umask); a replaced file keeps its mode and owner.
Every failure is an :class:`OutputError` (exit 1) naming the file.  Post-render mode prepares the
image list, writes stdout, then commits: a regular file is renamed into place only once stdout is
written whole; a special file is written while preparing, so its failure leaves stdout empty.
"""
from __future__ import annotations

import os
import signal
import stat
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import BinaryIO, Union

from .errors import OutputError
from .report import is_stdout, sigpipe_ignored

PathLike = Union[str, "os.PathLike[str]"]
_SIGNALS = {getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT") if hasattr(signal, name)}


class PendingOutput:
    """New content for one file, ready to be put in place (:meth:`commit`) or dropped (:meth:`discard`)."""

    def __init__(self, path: PathLike, content: bytes, what: str, stdout_is_free: bool = False) -> None:
        self.shown, self.what, self.content = os.fspath(path), what, content
        self.stdout_is_free = stdout_is_free  # the command writes nothing else to stdout
        self.temporary: str | None = None
        self.target = ""

    def fail(self, exc: OSError | str) -> OutputError:
        reason = exc if isinstance(exc, str) else (exc.strerror or str(exc))
        return OutputError(f"cannot write {self.what} {self.shown}: {reason}")

    def prepare(self) -> None:
        if not self.shown:
            raise OutputError(f"{self.what}: the file name is empty")
        try:
            info: os.stat_result | None = os.stat(self.shown)  # follows symlinks
        except FileNotFoundError:
            info = None  # a new file (or a symlink to one)
        except OSError as exc:
            raise self.fail(exc) from None
        if info is not None and stat.S_ISDIR(info.st_mode):
            raise self.fail("it is a directory")
        if self.shown.endswith(("/", os.sep)):  # "DIR/" names a directory: never a file named DIR
            raise self.fail("not a directory" if info is not None else "no such directory")
        if info is not None and not self.stdout_is_free and is_stdout(info):  # /dev/stdout, /proc/self/fd/1
            raise self.fail("it is stdout, which carries the stream: the two would be mixed")
        if info is not None and not stat.S_ISREG(info.st_mode):
            # A device, FIFO or socket is written in place, now: it cannot hold the new content
            # back, and a failure (/dev/full) must come before anything reaches stdout.
            try:
                fd = os.open(self.shown, os.O_WRONLY | os.O_TRUNC | getattr(os, "O_NOCTTY", 0))
                try:
                    _write_all(fd, self.content)
                finally:
                    os.close(fd)
            except OSError as exc:
                raise self.fail(exc) from None
            return
        self.target = os.path.realpath(self.shown)
        directory, name = os.path.split(self.target)
        try:
            with _signals_held():  # a signal lands after the name is recorded, so the file is removed
                self.temporary = os.path.join(directory, f".{_short(name)}.{os.urandom(6).hex()}.tmp")
                fd = os.open(self.temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
            try:
                if info is not None:
                    _keep_owner_and_mode(fd, info)
                _write_all(fd, self.content)
                os.fsync(fd)
            finally:
                os.close(fd)
        except BaseException as exc:
            self.discard()
            if isinstance(exc, OSError):
                raise self.fail(exc) from None
            raise

    def commit(self) -> None:
        try:
            if self.temporary is not None:
                os.replace(self.temporary, self.target)
                self.temporary = None
        except OSError as exc:
            self.discard()
            raise self.fail(exc) from None

    def discard(self) -> None:
        if self.temporary is not None:
            try:
                os.unlink(self.temporary)
            except OSError:
                pass
            self.temporary = None


@contextmanager
def pending_output(path: PathLike, content: str | bytes, what: str = "output file",
                   stdout_is_free: bool = False) -> Iterator[PendingOutput]:
    """Prepare ``content`` for ``path``; commit inside the block, or nothing is left behind.
    ``path`` may be stdout itself only when ``stdout_is_free`` (the command writes nothing else there)."""
    pending = PendingOutput(path, content.encode("utf-8") if isinstance(content, str) else content, what, stdout_is_free)
    pending.prepare()
    try:
        yield pending
    finally:
        pending.discard()  # a no-op after commit


def write_output(path: PathLike, content: str | bytes, what: str = "output file", stdout_is_free: bool = False) -> None:
    """Write ``content`` to ``path`` now (see the module's docstring for how)."""
    with pending_output(path, content, what, stdout_is_free) as pending:
        pending.commit()


def write_stdout(chunks: Iterable[bytes] | bytes) -> None:
    """All of ``chunks`` to stdout; a closed or failing stdout is an error, never a silent loss.

    Written straight to the file descriptor, past Python's buffer: a signal (SIGTERM from Helm's
    timeout, Ctrl-C) that stops the write leaves nothing buffered for the interpreter to flush on
    the way out, so the reader gets no byte after the signal, and the exit code (128 + signal)
    says the stream is cut short.  A stdout without a descriptor (tests) is written buffered."""
    if sys.stdout is None:
        raise OutputError("stdout is closed: nothing was written (redirect it to a file, or use -o FILE)")
    out = sys.stdout.buffer
    try:
        with _broken_pipe_unwinds():
            sys.stdout.flush()
            fd = _descriptor(out)
            for chunk in [chunks] if isinstance(chunks, bytes) else chunks:
                if fd is None:
                    out.write(chunk)
                else:
                    _write_all(fd, chunk)
            out.flush()
    except OSError as exc:
        raise OutputError(f"cannot write stdout: {exc.strerror or exc}") from None


@contextmanager
def _broken_pipe_unwinds() -> Iterator[None]:
    """The reader went away (``| head``, Helm killed): end quietly with 128 + SIGPIPE, as SIGPIPE's
    default action would, but by unwinding, so a prepared image list's temporary file is removed
    on the way out (the default action kills at once and left it behind)."""
    try:
        with sigpipe_ignored():
            yield
    except BrokenPipeError:
        raise SystemExit(128 + getattr(signal, "SIGPIPE", 13)) from None


def _descriptor(out: BinaryIO) -> int | None:
    """stdout's file descriptor, with what Python buffered before written out first; ``None`` without one."""
    try:
        fd = out.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both an OSError and a ValueError
        return None
    out.flush()
    return fd


def _short(name: str, limit: int = 255 - len(".0123456789ab.tmp") - 1) -> str:
    """``name`` cut to fit a temporary name within NAME_MAX (255 bytes): a legal name of 250
    characters must not fail because of the suffix."""
    encoded = os.fsencode(name)
    return name if len(encoded) <= limit else os.fsdecode(encoded[:limit])


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _keep_owner_and_mode(fd: int, info: os.stat_result) -> None:
    try:
        os.fchown(fd, info.st_uid, info.st_gid)  # only root may give a file away; others keep their own
    except (OSError, AttributeError):
        pass
    os.fchmod(fd, stat.S_IMODE(info.st_mode))  # after chown, which clears set-id bits


@contextmanager
def _signals_held() -> Iterator[None]:
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
