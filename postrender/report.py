"""Warnings and errors for people: stderr, and a log file when asked.

Helm 4 drops a post-renderer plugin's stderr and shows only "plugin exited with
error", so ``--log-file`` / ``CIVITAS_POSTRENDER_LOG`` keeps a copy.  A message is one
line whatever the values quoted in it (names, kinds, annotations come from the input):
control characters are escaped here, so no input can forge a log line or drive a terminal.
With stderr closed the message goes to the log file only, never to stdout.
"""
from __future__ import annotations

import errno
import os
import re
import signal
import stat
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PROG = "civitas-postrender"

# C0 and C1 controls, DEL, line/paragraph separators, bidirectional overrides, lone surrogates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def escape(text: str) -> str:
    """``text`` with every character that could break a line or move the cursor written as an escape."""
    return _UNSAFE.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return {9: "\\t", 10: "\\n", 13: "\\r", 27: "\\e"}.get(code) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


class Reporter:
    def __init__(self, log_file: Path | None = None) -> None:
        self.log_file = log_file

    def warning(self, message: str) -> None:
        self._emit("warning", message)

    def summary(self, message: str) -> None:
        self._emit("summary", message)

    def error(self, message: str) -> None:
        self._emit("error", message)

    def note(self, message: str) -> None:
        """A closing line for people (``values``' count): stderr only, never the log."""
        _to_stderr(f"{PROG}: {escape(message)}")

    def _emit(self, level: str, message: str) -> None:
        line = f"{PROG}: {level}: {escape(message)}"
        _to_stderr(line)
        if self.log_file is not None:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            try:
                _append(self.log_file, f"{stamp} {line}\n".encode("utf-8"))
            except OSError as exc:
                reason = (f"{self.log_file}: a FIFO nobody reads" if exc.errno == errno.ENXIO
                          else f"{self.log_file}: its reader went away" if exc.errno == errno.EPIPE else str(exc))
                self.log_file = None
                _to_stderr(f"{PROG}: warning: cannot write log file: {escape(reason)}")


def _append(path: Path, data: bytes) -> None:
    """``data`` appended to the log.  Opened without blocking: a FIFO nobody reads (any more) is an
    error (ENXIO), never a hang.  The log must not be stdout (``/dev/stdout``, ``/proc/self/fd/1``, the
    file stdout is redirected to): its lines would land inside the stream Helm applies."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, 0o666)
    try:
        info = os.fstat(fd)
        if fd != 1 and is_stdout(info):  # fd 1 itself: stdout was closed and the log took its number
            raise OSError(f"{path} is stdout: its lines would corrupt the output, so it is not written")
        os.set_blocking(fd, True)  # a FIFO with a reader: wait for it as a shell's >> does
        view = memoryview(data)
        with sigpipe_ignored():  # a reader that goes away while we write is an error (EPIPE), never our end
            while view:
                view = view[os.write(fd, view):]
    finally:
        os.close(fd)


@contextmanager
def sigpipe_ignored() -> Iterator[None]:
    """While inside, writing to a pipe or FIFO whose reader is gone raises ``BrokenPipeError``
    instead of ending the process (``main`` sets SIGPIPE's default action, which ends it at once).
    Outside the main thread, where the handler cannot be changed, what is there stays."""
    sigpipe = getattr(signal, "SIGPIPE", None)
    try:
        previous = signal.signal(sigpipe, signal.SIG_IGN) if sigpipe is not None else None
    except ValueError:
        previous = None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(sigpipe, previous)  # type: ignore[arg-type]


def is_stdout(info: os.stat_result) -> bool:
    """``info`` is the file on descriptor 1, and not a terminal or /dev/null (a character device
    takes the lines without harm to anything that reads the stream)."""
    try:
        out = os.fstat(1)
    except OSError:
        return False
    return (out.st_dev, out.st_ino) == (info.st_dev, info.st_ino) and not stat.S_ISCHR(info.st_mode)


def _to_stderr(line: str) -> None:
    if sys.stderr is None:  # closed (2>&-): print(file=None) would write to stdout
        return
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
