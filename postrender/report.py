"""Warnings and errors for people: stderr, and a log file when asked.

Helm 4 drops a post-renderer plugin's stderr and shows only "plugin exited with
error", so ``--log-file`` / ``CIVITAS_POSTRENDER_LOG`` keeps a copy.  A message is one
line whatever the values quoted in it (names, kinds, annotations come from the input):
control characters are escaped here, so no input can forge a log line or drive a terminal.
With stderr closed the message goes to the log file only, never to stdout.
"""
from __future__ import annotations

import re
import sys
import time
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

    def _emit(self, level: str, message: str) -> None:
        line = f"{PROG}: {level}: {escape(message)}"
        _to_stderr(line)
        if self.log_file is not None:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            try:
                with open(self.log_file, "a", encoding="utf-8") as handle:
                    handle.write(f"{stamp} {line}\n")
            except OSError as exc:
                self.log_file = None
                _to_stderr(f"{PROG}: warning: cannot write log file: {escape(str(exc))}")


def _to_stderr(line: str) -> None:
    if sys.stderr is None:  # closed (2>&-): print(file=None) would write to stdout
        return
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
