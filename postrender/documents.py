"""Read the stream: decode it, then compose one document at a time with libyaml.

Composing (not constructing) keeps every node's character offsets; the base
loader skips tag resolution, and the collector is paused while nodes are built
(holding many node trees otherwise triggers repeated full collections).
"""
from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .errors import InputError, Where
from .finder import DocContext, context_of
from .nodes import MappingNode, Node, ScalarNode, SequenceNode

BOM = "\ufeff"
_SOURCE = re.compile(r"^#[ \t]*Source:(.*)$", re.MULTILINE)  # stripped after matching: no backtracking


@dataclass
class Stream:
    text: str  # without a BOM: offsets from the parser index this string
    bom: str  # "\ufeff" or ""
    # The UTF-8 bytes behind ``text`` (no BOM). libyaml reads them directly (a str would be
    # encoded again inside PyYAML); the pipeline drops them once parsed to save memory.
    data: bytes | None = None


def decode(data: bytes) -> Stream:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        where = Where(document=document_at(data, exc.start), line=data.count(b"\n", 0, exc.start) + 1)
        raise InputError(f"{where}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None
    if text.startswith(BOM):
        return Stream(text[1:], BOM, data[3:])
    return Stream(text, "", data)


@contextmanager
def _collector_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _loader(source: str | bytes) -> Any:
    import yaml

    class Loader(yaml.CBaseLoader):
        # Tags are never used here: skip PyYAML's Python-level resolver, called once for
        # each of the ~250k nodes of a 10 MB stream.
        def resolve(self, kind: type, value: Any, implicit: Any) -> str:
            return _DEFAULT_TAGS[kind]

        # Path resolvers are never registered; PyYAML still calls these two per node. Builtins
        # that take the same arguments and do nothing cost a C call instead of a Python one.
        descend_resolver = staticmethod(slice)  # type: ignore[assignment]  # (parent, index) -> ignored
        ascend_resolver = staticmethod(tuple)  # type: ignore[assignment]  # () -> ignored

    return Loader(source)


_DEFAULT_TAGS = {ScalarNode: "tag:yaml.org,2002:str", SequenceNode: "tag:yaml.org,2002:seq", MappingNode: "tag:yaml.org,2002:map"}


def documents(text: str, data: bytes | None = None) -> Iterator[tuple[Node, DocContext]]:
    """Yield each document that is a mapping with its context; empty documents are skipped.

    Document indexes count every document a YAML loader sees, comment-only ones included.
    The collector stays paused while documents are read and matched (node trees hold no
    cycles; reference counting frees them).  ``data``, when given, is ``text`` as UTF-8.
    """
    import yaml

    loader = _loader(data if data is not None else text)  # libyaml's marks count characters either way
    index, previous_end = 0, 0
    try:
        with _collector_paused():
            while True:
                try:
                    if not loader.check_node():
                        return
                    root = loader.get_node()
                except yaml.MarkedYAMLError as exc:
                    raise _syntax_error(text, exc, index, previous_end) from None
                except yaml.reader.ReaderError as exc:  # control characters; libyaml reads ahead, so locate by offset
                    raw = data if data is not None else text.encode("utf-8")
                    where = Where(document=document_at(raw, exc.position), line=raw.count(b"\n", 0, exc.position) + 1)
                    raise InputError(f"{where}: invalid YAML: {exc.reason} (U+{exc.character:04X} at byte {exc.position})") from None
                except RecursionError:
                    where = Where(document=index, template=_template(text, previous_end, len(text)))
                    raise InputError(f"{where}: nesting is too deep to process") from None
                template = _template(text, previous_end, root.start_mark.index)
                previous_end = root.end_mark.index
                if isinstance(root, MappingNode):
                    yield root, context_of(root, index, template)
                elif not (isinstance(root, ScalarNode) and root.value == "" and root.style == ""):
                    kind = "a list" if not isinstance(root, ScalarNode) else "a scalar"
                    where = Where(document=index, template=template, line=root.start_mark.line + 1, column=root.start_mark.column + 1)
                    raise InputError(f"{where}: the document is {kind}, not a Kubernetes object (a mapping)")
                index += 1
    finally:
        loader.dispose()


_MARKER = re.compile(rb"^---(?=[ \t\r\n]|$)", re.MULTILINE)
_CONTENT_LINE = re.compile(rb"^[ \t]*[^#%\s]", re.MULTILINE)


def document_at(data: bytes, position: int) -> int:
    """The index of the document holding byte ``position``, counted from the "---" lines
    (for errors found before or without a parse)."""
    markers = [m.start() for m in _MARKER.finditer(data, 0, position)]
    first = _MARKER.search(data)
    implicit_first = _CONTENT_LINE.search(data, 0, first.start() if first else len(data)) is not None
    return max(0, len(markers) - (0 if implicit_first else 1))


def _template(text: str, start: int, end: int) -> str | None:
    """The ``# Source:`` comment Helm writes before a document (the last one before it)."""
    found = None
    for match in _SOURCE.finditer(text, start, end):
        found = match.group(1).strip() or None
    return found


def _syntax_error(text: str, exc: Exception, index: int, previous_end: int) -> InputError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    position = mark.index if mark is not None else len(text)
    template = _template(text, previous_end, min(position, len(text)))
    where = Where(document=index, template=template,
                  line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    detail = f"{context}, {problem}" if context else problem
    return InputError(f"{where}: invalid YAML: {detail}")
