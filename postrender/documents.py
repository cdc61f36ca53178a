"""Read the stream: decode it, then compose one document at a time with libyaml.

Composing (not constructing) keeps every node's character offsets; the base
loader skips tag resolution, and the collector is paused while nodes are built
(holding many node trees otherwise triggers repeated full collections).
"""
from __future__ import annotations

import functools
import gc
import itertools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import field
from typing import Any, Protocol

from .errors import InputError, Where
from .finder import DocContext, context_of
from .splice import Edit
from .nodes import MappingNode, MergeError, Node, ScalarNode, SequenceNode, resolve_merges
from .prescan import TopLines, is_marker, top_lines
from .records import record

BOM = "\ufeff"
BOM_BYTES = BOM.encode("utf-8")
_SOURCE = re.compile(r"^#[ \t]*Source:(.*)$", re.MULTILINE)  # stripped after matching: no backtracking


@record
class Stream:
    """The input: its UTF-8 bytes (no BOM) and the BOM it had.  The whole text is decoded only
    when asked for: a few typographic characters make CPython store every character of a str
    in 2 or 4 bytes, so post-render mode decodes one document at a time instead."""

    data: bytes
    bom: str  # the byte-order marks it began with ("\ufeff", rarely more), or ""

    @functools.cached_property
    def text(self) -> str:
        return decode_text(self.data)


def decode(data: bytes) -> Stream:
    """Every leading BOM is set aside: libyaml skips one without counting it, so with a second
    one left in the text every position it reports would be off by one."""
    count = 0
    while data.startswith(BOM_BYTES, count * len(BOM_BYTES)):
        count += 1
    return Stream(data[count * len(BOM_BYTES):], BOM * count)


def decode_text(data: bytes | memoryview, first_index: int = 0, line_offset: int = 0) -> str:
    """``data`` as text; invalid UTF-8 is an InputError naming document and line.  (A memoryview
    of a piece of the stream is decoded without copying the piece first.)"""
    try:
        return str(data, "utf-8")
    except UnicodeDecodeError as exc:
        data = bytes(data)
        where = Where(document=first_index + document_at(data, exc.start),
                      line=line_offset + data.count(b"\n", 0, exc.start) + 1)
        raise InputError(f"{where}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None


@record(slots=True)
class Piece:
    """One document's bytes (from its "---" line to the next), as post-render mode reads them."""

    start: int  # byte offsets into Stream.data
    end: int
    index: int  # the index of the document it holds (or would hold: a piece of leading comments)
    line: int  # its first line in the stream, 0-based
    text: str | None = None  # decoded while it is read; kept only where it gets edits
    edits: list[Edit] = field(default_factory=list)
    empty: bool = False  # only comments and blank lines (a run of empty documents is one piece)
    top: tuple[str, str] | None = None  # (apiVersion, kind) its lines at column 0 name plainly, each once; None: ask the parser


def split(data: bytes) -> list[Piece]:
    """The stream cut at its "---" lines, one document a piece, counted as libyaml counts them.

    Streams with "..." document ends or "%" directives stay one piece (read whole), as their
    documents need not begin at a "---".  Consecutive empty documents (and comments before the
    first "---") are one piece: memory stays bounded for a stream of millions of "---" lines.
    One pass in C finds every line that begins at column 0: the "---" lines, and each piece's
    top-level lines, which say its kind and apiVersion (``prescan.TopLines``; most of a chart's
    bytes are CRDs with a handful each)."""
    pieces: list[Piece] = []
    start, index, line = 0, 0, 0
    leading = True  # before the first "---"
    top: TopLines | None = None  # the current piece's lines at column 0, once it has one
    named: dict[tuple[str, str], tuple[str, str]] = {}  # one tuple per kind: pieces share it
    for at in top_lines(data):
        if is_marker(data, at):
            said = _said(top, named) if top is not None else None  # (millions of empty documents: no call)
            if not leading:
                index, line = _add_piece(pieces, data, start, at, index, line, said)
            elif at > 0:
                index, line = _add_leading(pieces, data, at, said)
            start, top, leading = at, None, False
        elif data.startswith((b"...", b"%"), at):
            return [Piece(0, len(data), 0, 0)]
        else:
            top = top or TopLines(data, start)
            top.add(data, at)
    if leading:
        _add_leading(pieces, data, len(data), _said(top, named))
    else:
        _add_piece(pieces, data, start, len(data), index, line, _said(top, named))
    return pieces


def _said(top: TopLines | None, named: dict[tuple[str, str], tuple[str, str]]) -> tuple[str, str] | None:
    said = top.named() if top is not None else None
    return named.setdefault(said, said) if said is not None else None


def _add_leading(pieces: list[Piece], data: bytes, end: int, top: tuple[str, str] | None) -> tuple[int, int]:
    """The bytes before the first "---": a document only when they have content."""
    leading_is_document = _CONTENT_LINE.search(data, 0, end) is not None
    pieces.append(Piece(0, end, 0, 0, empty=not leading_is_document, top=top))
    return int(leading_is_document), data.count(b"\n", 0, end)


def _add_piece(pieces: list[Piece], data: bytes, start: int, end: int, index: int, line: int,
               top: tuple[str, str] | None) -> tuple[int, int]:
    """The piece from the "---" at ``start`` to ``end``; returns the document index and line the next one starts at."""
    empty = not _has_content(data, start, end)
    if empty and pieces and pieces[-1].empty:
        pieces[-1].end = end
    else:
        pieces.append(Piece(start, end, index, line, empty=empty, top=top))
    return index + 1, line + data.count(b"\n", start, end)


_KIND_LINE = re.compile(r"^kind:[ \t]*[\"']?([^\s\"'#]+)", re.MULTILINE)
_NAME_LINE = re.compile(r"^metadata:[ \t]*\r?\n(?:[ \t]+.*\n)*?[ \t]+name:[ \t]*[\"']?([^\s\"'#]+)", re.MULTILINE)


def piece_where(text: str, piece: Piece, raw: bytes | None = None, at: int = 0) -> Where:
    """Where a piece is, for a message about it read from its text alone (before it is composed):
    its ``# Source:``, first line, and the kind and name of its top-level lines when plainly written.
    ``at``: the byte offset in ``raw`` (the piece's bytes) of a later document of a piece read whole."""
    if raw is not None and at > 0:
        later = Piece(piece.start + at, piece.end, piece.index + document_at(raw, at + 3) + (raw[at:at + 3] != b"---"),
                      piece.line + raw.count(b"\n", 0, at))
        return piece_where(raw[at:].decode("utf-8", "replace"), later)
    head = text[:4096] if len(text) > 65536 else text  # kind and metadata usually lead; a List's may follow its items
    kind, name = _KIND_LINE.search(head) or _KIND_LINE.search(text), _NAME_LINE.search(head)
    body = text.find("\n") + 1 if text.startswith("---") else 0  # the "# Source:" comment follows the marker
    first_content = _TEXT_CONTENT_LINE.search(text, body)
    skipped = text.count("\n", 0, first_content.start()) if first_content else 0
    return Where(document=piece.index, template=_template(text, body, first_content.start() if first_content else len(text)),
                 kind=kind.group(1) if kind else None, name=name.group(1) if name else None, line=piece.line + skipped + 1)


def _has_content(data: bytes, start: int, end: int) -> bool:
    """Whether the document from the "---" at ``start`` to ``end`` holds more than comments.
    Conservative: a line break YAML sees and these scans do not (a lone CR, NEL, U+2028/9) can end
    a comment before content, so such a piece counts as content and is parsed."""
    line_end = data.find(b"\n", start, end)
    line_end = end if line_end == -1 else line_end
    rest = data[start + 3:line_end].strip()
    if rest and not rest.startswith(b"#"):
        return True
    if line_end < end and _CONTENT_LINE.search(data, line_end + 1, end) is not None:
        return True  # (found at once in a piece with content: no need to look at its line breaks)
    chunk = data[start:end]
    return chunk.count(b"\r") != chunk.count(b"\r\n") or b"\xc2\x85" in chunk or b"\xe2\x80\xa8" in chunk or b"\xe2\x80\xa9" in chunk


@contextmanager
def collector_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def loader_for(source: str | bytes | Readable) -> Any:
    return _loader_class()(source)


@functools.lru_cache(maxsize=1)
def _loader_class() -> type:
    """Built once (PyYAML is imported on first use); a class per document would be garbage
    the paused collector never frees."""
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

    return Loader


_DEFAULT_TAGS = {ScalarNode: "tag:yaml.org,2002:str", SequenceNode: "tag:yaml.org,2002:seq", MappingNode: "tag:yaml.org,2002:map"}


class Readable(Protocol):
    def read(self, size: int = -1) -> str: ...


def documents(text: str, data: bytes | Readable | None = None, *, first_index: int = 0, line_offset: int = 0,
              piece: int = 0) -> Iterator[tuple[Node, DocContext]]:
    """Yield each document that is a mapping with its context; empty documents are skipped.

    Document indexes count every document a YAML loader sees, comment-only ones included.
    The collector stays paused while documents are read and matched (node trees hold no
    cycles; reference counting frees them).  ``data``, when given, is ``text`` as UTF-8.
    ``first_index``, ``line_offset`` and ``piece`` place a piece of a stream within it.
    """
    import yaml

    loader = loader_for(data if data is not None else text)  # libyaml's marks count characters either way
    merges = "<<" in text  # merge keys are resolved only where one could be written
    index, previous_end = first_index, 0
    try:
        with collector_paused():
            while True:
                try:
                    if not loader.check_node():
                        return
                    root = loader.get_node()
                except yaml.MarkedYAMLError as exc:
                    raise _syntax_error(text, exc, index, previous_end, line_offset) from None
                except yaml.reader.ReaderError as exc:  # control characters; libyaml reads ahead, so locate by offset
                    raw = data if isinstance(data, bytes) else text.encode("utf-8")
                    where = Where(document=first_index + document_at(raw, exc.position),
                                  line=line_offset + raw.count(b"\n", 0, exc.position) + 1)
                    raise InputError(f"{where}: invalid YAML: {exc.reason} (U+{exc.character:04X} at byte {exc.position})") from None
                except RecursionError:
                    where = Where(document=index, template=_template(text, previous_end, len(text)))
                    raise InputError(f"{where}: nesting is too deep to process") from None
                template = _template(text, previous_end, root.start_mark.index)
                previous_end = root.end_mark.index
                if merges:
                    resolve_document_merges(root, text, index, template, line_offset)
                if isinstance(root, MappingNode):
                    yield root, context_of(root, index, template, line_offset, piece)
                elif not (isinstance(root, ScalarNode) and root.value == "" and root.style == ""):
                    kind = "a list" if not isinstance(root, ScalarNode) else "a scalar"
                    where = Where(document=index, template=template, line=line_offset + root.start_mark.line + 1,
                                  column=root.start_mark.column + 1)
                    raise InputError(f"{where}: the document is {kind}, not a Kubernetes object (a mapping)")
                index += 1
    finally:
        loader.dispose()


def resolve_document_merges(root: Node, text: str, index: int, template: str | None, line_offset: int) -> None:
    try:
        resolve_merges(root, text)
    except MergeError as exc:
        mark = exc.node.start_mark
        where = Where(document=index, template=template, line=line_offset + mark.line + 1, column=mark.column + 1)
        raise InputError(f"{where}: {exc.problem}") from None
    except RecursionError:
        raise InputError(f"{Where(document=index, template=template)}: merge keys nest too deep to process") from None


def validate(data: bytes, *, first_index: int = 0, line_offset: int = 0) -> None:
    """Check one document is valid YAML without building its nodes (libyaml's events, in C);
    its text is decoded only to word an error."""
    import yaml
    from yaml._yaml import CParser

    parser = CParser(data)
    try:
        parser.raw_parse()
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(data.decode("utf-8", "replace"), exc, first_index, 0, line_offset) from None
    except yaml.reader.ReaderError as exc:
        where = Where(document=first_index + document_at(data, exc.position),
                      line=line_offset + data.count(b"\n", 0, exc.position) + 1)
        raise InputError(f"{where}: invalid YAML: {exc.reason} (U+{exc.character:04X} at byte {exc.position})") from None
    finally:
        parser.dispose()


_MARKER = re.compile(rb"^---(?=[ \t\r\n]|$)", re.MULTILINE)


_CONTENT_LINE = re.compile(rb"^[ \t]*[^#%\s]", re.MULTILINE)
_TEXT_CONTENT_LINE = re.compile(_CONTENT_LINE.pattern.decode(), re.MULTILINE)  # the same, for text


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


def _syntax_error(text: str, exc: Exception, index: int, previous_end: int, line_offset: int = 0) -> InputError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    position = mark.index if mark is not None else len(text)
    template = _template(text, previous_end, min(position, len(text)))
    where = Where(document=index, template=template,
                  line=line_offset + mark.line + 1 if mark else None, column=mark.column + 1 if mark else None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    detail = f"{context}, {problem}" if context else problem
    return InputError(f"{where}: invalid YAML: {detail}")
