"""Read a whole input (stream, values, config or rule file) up to a limit.

``/dev/zero``, an endless pipe or a file larger than memory must end in a clear "too large"
error (exit 1), never a MemoryError (exit 3) or the machine's OOM killer.  A regular file is
read in one piece of its own size; anything else in chunks.  Read errors stay ``OSError``:
each caller words them for its input.
"""
from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import BinaryIO

from .errors import InputError, PostrenderError

STREAM_LIMIT = 1 << 30  # manifest streams and values files
FILE_LIMIT = 16 << 20  # config and rule files
_CHUNK = 1 << 20
STDIN = "-"


def read_all(source: str | Path, what: str, *, limit: int = STREAM_LIMIT,
             error: type[PostrenderError] = InputError) -> bytes:
    """The bytes of ``source`` (a path, or ``-`` for stdin); ``what`` names it in the error."""
    too_large = error(f"{what}: too large (over {limit >> 20} MiB; an endless source such as /dev/zero?)")
    if str(source) == STDIN:
        if sys.stdin is None:
            raise error(f"{what}: stdin is closed")
        return _read(sys.stdin.buffer, limit, too_large)
    with open(source, "rb") as handle:
        return _read(handle, limit, too_large)


def _read(handle: BinaryIO, limit: int, too_large: PostrenderError) -> bytes:
    chunks: list[bytes] = []
    total = 0
    try:
        size = _regular_size(handle)
        if size is not None:
            if size > limit:
                raise too_large
            first = handle.read(size + 1)  # one piece: no copy when the file did not grow
            if len(first) <= size:
                return first
            chunks.append(first)
            total = len(first)
        while total <= limit:
            chunk = handle.read(min(_CHUNK, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise too_large
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    except MemoryError:
        chunks.clear()
        raise too_large from None


def _regular_size(handle: BinaryIO) -> int | None:
    try:
        info = os.fstat(handle.fileno())
    except (OSError, ValueError):  # not a real file (a test's BytesIO)
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None
