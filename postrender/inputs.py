"""The one input reader: paths (files, directories, ``-`` for stdin) -> image lists and streams.

An input is an image list when it is a JSON object with ``images`` and no ``kind`` (an
``--images-out`` or ``images --format json`` list); anything else is a manifest stream.
Directories are read for ``*.yaml``, ``*.yml`` and ``*.json`` files, recursively.
"""
from __future__ import annotations

import dataclasses
import json
import re
import sys
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
    listing = _as_image_list(stream.text, label) if _JSON_START.match(stream.data) else None  # only JSON is decoded whole
    if listing is not None:
        problem = image_list_problem(listing)
        if problem is not None:
            raise InputError(f"{label}: not an image list: {problem}")
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


def _as_image_list(text: str, label: str) -> dict[str, Any] | None:
    """An ``--images-out`` document, or ``None`` for a manifest stream (which may be JSON too)."""
    if not text.lstrip().startswith("{"):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    except RecursionError:  # json's decoder recurses once per level
        raise InputError(f"{label}: JSON nested too deeply to read (arrays or objects inside each other "
                         f"more than ~{sys.getrecursionlimit()} levels)") from None
    if isinstance(data, dict) and "images" in data and "kind" not in data:
        return data
    return None


# What an image list holds (imagelist.image_list, mirror.merge): the fields read are typed; others are ignored.
_STRINGS = ("target", "registry", "repository", "tag", "digest", "rule", "override")
_FLAGS = ("implied", "candidate", "rewritten")
_SCALARS = (str, int, float, bool, type(None))


def image_list_problem(listing: dict[str, Any]) -> str | None:
    """The first place where ``listing`` is not shaped like an image list, or ``None``."""
    for key in ("registry", "folder"):
        if not isinstance(listing.get(key), (str, type(None))):
            return f"{key} is {_shape(listing[key])}, expected a string or null"
    images = listing.get("images")
    if not isinstance(images, list):
        return f"images is {_shape(images)}, expected a list of objects"
    for i, image in enumerate(images):
        if not isinstance(image, dict):
            return f"images[{i}] is {_shape(image)}, expected an object with a 'source' string"
        if not isinstance(image.get("source"), str):
            return f"images[{i}].source is {_shape(image.get('source'))}, expected a string"
        for key in _STRINGS:
            if not isinstance(image.get(key), (str, type(None))):
                return f"images[{i}].{key} is {_shape(image[key])}, expected a string or null"
        for key in _FLAGS:
            if not isinstance(image.get(key), (bool, type(None))):
                return f"images[{i}].{key} is {_shape(image[key])}, expected true or false"
        occurrences = image.get("occurrences")
        if not isinstance(occurrences, (list, type(None))):
            return f"images[{i}].occurrences is {_shape(occurrences)}, expected a list of objects"
        for j, occurrence in enumerate(occurrences or ()):
            if not isinstance(occurrence, dict):
                return f"images[{i}].occurrences[{j}] is {_shape(occurrence)}, expected an object"
            for key, value in occurrence.items():
                if not isinstance(value, _SCALARS):  # occurrences are compared and printed as plain values
                    return f"images[{i}].occurrences[{j}].{key} is {_shape(value)}, expected a string, number, true/false or null"
            if not isinstance(occurrence.get("document"), (int, type(None))) or isinstance(occurrence.get("document"), bool):
                return f"images[{i}].occurrences[{j}].document is {_shape(occurrence['document'])}, expected a whole number"
    return _coordinates_problem(listing.get("registry"), listing.get("folder"))


def _coordinates_problem(registry: str | None, folder: str | None) -> str | None:
    """The list's registry and folder, judged as --registry and --folder are (they become the settings)."""
    from .errors import ConfigError
    from .settings import Settings, validate

    try:
        validate(Settings(registry=registry or None, folder=folder or None))
    except ConfigError as exc:
        return exc.problems[0]
    return None


def _shape(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)
