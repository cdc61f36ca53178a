"""Warnings and errors for people: stderr, and a log file when asked.

Helm 4 drops a post-renderer plugin's stderr and shows only "plugin exited with
error", so ``--log-file`` / ``CIVITAS_POSTRENDER_LOG`` keeps a copy.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

PROG = "civitas-postrender"


class Reporter:
    def __init__(self, log_file: Path | None = None) -> None:
        self.log_file = log_file

    def warning(self, message: str) -> None:
        self._emit("warning", message)

    def error(self, message: str) -> None:
        self._emit("error", message)

    def _emit(self, level: str, message: str) -> None:
        line = f"{PROG}: {level}: {message}"
        try:
            print(line, file=sys.stderr)
        except (BrokenPipeError, OSError):
            pass
        if self.log_file is not None:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            try:
                with open(self.log_file, "a", encoding="utf-8") as handle:
                    handle.write(f"{stamp} {line}\n")
            except OSError as exc:
                self.log_file = None
                print(f"{PROG}: warning: cannot write log file: {exc}", file=sys.stderr)
