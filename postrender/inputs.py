"""The one input reader: paths (files, directories, ``-`` for stdin) -> image lists and streams.

An input is an image list when it is a JSON object with ``images`` and no ``kind`` (an
``--images-out`` or ``images --format json`` list); anything else is a manifest stream.
Directories are read for ``*.yaml``, ``*.yml`` and ``*.json`` files, recursively.
"""
from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .documents import decode
from .errors import InputError
from .readall import read_all

STDIN = "-"
STREAM_SUFFIXES = (".yaml", ".yml", ".json")  # manifest streams and --images-out lists


@dataclasses.dataclass
class Inputs:
    """The image lists, parsed, and the streams, read again when their turn comes (memory)."""

    lists: list[tuple[str, dict[str, Any]]]
    stream_paths: list[tuple[str, Path | bytes]]  # a file, or stdin's bytes
    content: bool = False  # whether any stream read so far holds more than comments and markers

    def streams(self) -> Iterator[tuple[str, bytes]]:
        for label, source in self.stream_paths:
            data = source if isinstance(source, bytes) else _read(source)
            self.content = self.content or _HAS_CONTENT.search(data) is not None
            yield label, data


def empty_input(paths: Sequence[str]) -> InputError:
    """The error for input without any document or image list: an empty mirror is never silent."""
    return InputError(f"no documents and no image lists in {', '.join(paths) if paths else 'stdin'}: nothing to mirror "
                      "(pass --allow-empty to accept an empty result)")


def read_inputs(paths: Sequence[str]) -> Inputs:
    """Every input named, sorted into image lists and streams, each labelled with its path
    (``-`` for stdin); a path that cannot be read is an ``InputError`` naming it."""
    inputs = Inputs([], [])
    stdin_used = False
    for raw in paths:
        if raw == STDIN:
            if stdin_used:
                raise InputError("'-' (stdin) given more than once")
            stdin_used = True
            _sort(inputs, STDIN, read_all(STDIN, "stdin"), None)
            continue
        path = Path(raw)
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.suffix in STREAM_SUFFIXES and p.is_file()):
                _sort(inputs, str(file), _read(file), file)
        else:
            _sort(inputs, raw, _read(path), path)
    return inputs


def _sort(inputs: Inputs, label: str, data: bytes, path: Path | None) -> None:
    stream = decode(data)
    listing = _as_image_list(stream.text) if _JSON_START.match(stream.data) else None  # only JSON is decoded whole
    if listing is not None:
        inputs.lists.append((label, listing))
    else:
        inputs.stream_paths.append((label, path if path is not None else data))


# A line that is not blank, a comment, or a bare document marker ("--- {a: 1}" holds a document).
_HAS_CONTENT = re.compile(rb"^(?![ \t]*(?:#|(?:---|\.\.\.)[ \t]*(?:#.*)?\r?$|\r?$))", re.MULTILINE)


def _read(path: Path) -> bytes:
    try:
        return read_all(path, str(path))
    except OSError as exc:
        raise InputError(f"{path}: cannot read it: {exc.strerror or exc}") from None


_JSON_START = re.compile(rb"\s*\{")


def _as_image_list(text: str) -> dict[str, Any] | None:
    """An ``--images-out`` document, or ``None`` for a manifest stream (which may be JSON too)."""
    if not text.lstrip().startswith("{"):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if isinstance(data, dict) and "images" in data and "kind" not in data:
        return data
    return None
