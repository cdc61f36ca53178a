"""The documents that cannot hold images are only checked to be valid YAML.

Most of a large stream's bytes are CRDs that hold no image: libyaml parses them (in C, no node
built) only to report invalid YAML.  On the 10.9 MB corpus stream that parse is a third of the
in-process time, and it needs nothing the rest of the run makes, so with enough to check it runs
in a child process on another core (``fork``: the stream is shared copy-on-write; the child
writes nothing but its one result, to a pipe).  Whatever runs where, the error reported is the
first in stream order, with the same message.  Below ``PARALLEL_FROM`` bytes to check, without
``os.fork``, or when the child does not answer, each document is checked here, in its turn.
"""
from __future__ import annotations

import os
import signal
from collections.abc import Sequence

from .documents import Piece, validate
from .errors import InputError, PostrenderError

PARALLEL_FROM = 4 << 20  # bytes to check: a chart of a few MB gains less than the fork costs
_BUG = -1  # what the child writes for "no answer": the parent checks here instead


class Validation:
    """Checks pieces ``checked`` (their numbers in the stream) of ``data``: all at once in a child
    process started here, or each in ``here`` when its turn comes."""

    def __init__(self, data: bytes, pieces: Sequence[Piece], checked: Sequence[int]) -> None:
        self.data, self.pieces, self.checked = data, pieces, checked
        self.parallel = False  # a child checks them all
        self.pid: int | None = None
        self.fd: int | None = None
        self.answer: tuple[int, tuple[str, ...]] | None = None  # the child's first error: piece number, problems
        size = sum(pieces[n].end - pieces[n].start for n in checked)
        if size >= PARALLEL_FROM and hasattr(os, "fork"):
            self._start()

    def here(self, number: int) -> None:
        """Piece ``number``'s turn: checked now unless a child checks it."""
        if not self.parallel:
            _check(self.data, self.pieces[number])

    def first_error(self, before: int | None = None) -> PostrenderError | None:
        """The first error at a piece before ``before`` (any when None), waiting for the child
        only when it checks a piece before that."""
        if self.pid is not None:
            if before is not None and not any(number < before for number in self.checked):
                self.close()  # nothing it checks comes first: its answer is not needed
                return None
            self._wait()
        if self.answer is None:
            return None
        number, problems = self.answer
        return InputError(*problems) if before is None or number < before else None

    def close(self) -> None:
        """Stop a child still checking (the run failed elsewhere first, or was interrupted)."""
        if self.fd is not None:
            os.close(self.fd)  # (the child's answer, if it writes one, goes nowhere)
            self.fd = None
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(self.pid, 0)
            self.pid = None

    def _start(self) -> None:
        read_end, write_end = os.pipe()
        try:
            pid = os.fork()
        except OSError:  # no process to spare (a pids limit): everything is checked here, in turn
            os.close(read_end)
            os.close(write_end)
            return
        if pid == 0:  # the child: never returns
            os.close(read_end)
            _child(write_end, self.data, self.pieces, self.checked)
        os.close(write_end)
        self.pid, self.fd, self.parallel = pid, read_end, True

    def _wait(self) -> None:
        exited, answer = self._reap()
        number, _, problems = answer.partition("\n")
        if not exited or number == str(_BUG):  # killed (out of memory?), or something went wrong there
            self._check_all_here()  # so nothing goes unchecked
        elif answer:
            self.answer = int(number), tuple(problems.split("\0"))

    def _reap(self) -> tuple[bool, str]:
        """What the child wrote, and whether it ended as it does when it has answered.  Each step
        forgets what it has used up first: an interrupt between them leaves ``close`` the rest."""
        assert self.pid is not None and self.fd is not None
        fd, self.fd = self.fd, None
        with os.fdopen(fd, "rb") as pipe:  # read to the end first: a child blocked on a full pipe never exits
            answer = pipe.read()
        _, status = os.waitpid(self.pid, 0)
        self.pid = None
        return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, answer.decode("utf-8", "replace")

    def _check_all_here(self) -> None:
        for number in self.checked:
            try:
                _check(self.data, self.pieces[number])
            except PostrenderError as exc:
                self.answer = number, exc.problems
                return


def _check(data: bytes, piece: Piece) -> None:
    validate(data[piece.start:piece.end], first_index=piece.index, line_offset=piece.line)


def _child(write_end: int, data: bytes, pieces: Sequence[Piece], checked: Sequence[int]) -> None:
    """Check each piece; write the first error ("NUMBER\\nPROBLEM\\0PROBLEM...") and exit.  Its
    standard streams go nowhere: Helm waits for stdout to close, and only the parent writes it."""
    answer = ""
    try:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        for number in checked:
            try:
                _check(data, pieces[number])
            except PostrenderError as exc:
                answer = f"{number}\n" + "\0".join(exc.problems)
                break
    except BaseException:  # noqa: BLE001  (a bug, or SIGINT: the parent checks here instead)
        answer = f"{_BUG}\n"
    finally:
        try:
            os.write(write_end, answer.encode("utf-8"))
        finally:
            os._exit(0)  # no atexit, no flush of the parent's buffers
