"""Reading the stream (postrender.documents.split) and what its lines at column 0 say
(postrender.prescan.TopLines): the one-pass scans equal the obvious MULTILINE patterns that
start with "^" (too slow on a 1 MB CRD), on generated streams and on every fixture."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postrender.documents import Piece, _CONTENT_LINE, _has_content, split
from postrender.liststream import ODD_KEY_START
from postrender.prescan import TopLines

ROOT = Path(__file__).resolve().parent.parent
_MARKER = re.compile(rb"^---(?=[ \t\r\n]|$)", re.MULTILINE)


def reference_split(data: bytes) -> list[Piece]:
    """What ``split`` did before it found everything in one pass (the pieces' bounds and counts)."""
    if re.search(rb"^(?:\.\.\.|%)", data, re.MULTILINE):
        return [Piece(0, len(data), 0, 0)]
    markers = [m.start() for m in _MARKER.finditer(data)]
    pieces: list[Piece] = []
    index = line = 0
    if not markers or markers[0] != 0:
        end = markers[0] if markers else len(data)
        content = _CONTENT_LINE.search(data, 0, end) is not None
        pieces.append(Piece(0, end, 0, 0, empty=not content))
        index, line = int(content), data.count(b"\n", 0, end)
    for start, end in zip(markers, [*markers[1:], len(data)]):
        empty = not _has_content(data, start, end)
        if empty and pieces and pieces[-1].empty:
            pieces[-1].end = end
        else:
            pieces.append(Piece(start, end, index, line, empty=empty))
        index += 1
        line += data.count(b"\n", start, end)
    return pieces


def reference_named(data: bytes, piece: Piece) -> tuple[str, str] | None:
    """(apiVersion, kind) its lines at column 0 name plainly, read with "^" patterns (the marker line aside)."""
    kinds, versions, unsure = reference_top(data[piece.start:piece.end].decode())
    return None if unsure or len(kinds) != 1 or len(versions) != 1 else (versions[0], kinds[0])


def check_split(data: bytes) -> None:
    found, expected = split(data), reference_split(data)
    assert [(p.start, p.end, p.index, p.line, p.empty) for p in found] == \
        [(p.start, p.end, p.index, p.line, p.empty) for p in expected]
    if len(found) > 1:  # (a stream read whole is never asked for its lines)
        for piece in found:
            if not piece.empty:
                assert piece.top == reference_named(data, piece)


def reference_top(text: str) -> tuple[list[str], list[str], bool]:
    """kind, apiVersion and doubt read with "^" patterns over a document's text (its "---" line
    aside): doubt when a key is written another way, when the root is not a block mapping at
    column 0 (something on the "---" line, the first line with content indented), or a kind or
    apiVersion value goes on on the next lines."""
    marker, body = "", text
    if re.match(r"---(?:[ \t\r\n]|\Z)", text):
        marker, _, body = text.partition("\n")
    kinds = re.findall(r"^kind:[ \t]*([A-Za-z][\w.-]*)[ \t]*\r?$", body, re.MULTILINE)
    versions = re.findall(r"^apiVersion:[ \t]*([\w./-]+)[ \t]*\r?$", body, re.MULTILINE)
    key_lines = len(re.findall(r"^(?:kind|apiVersion)[ \t]*:", body, re.MULTILINE))
    odd = re.search("^[" + re.escape(ODD_KEY_START) + "]", body, re.MULTILINE) is not None
    rest = marker[3:].strip()
    odd = odd or (bool(rest) and not rest.startswith("#"))
    first = re.search(r"^[ \t]*[^#\s]", body, re.MULTILINE)  # the first line with content
    odd = odd or (first is not None and first.group()[0] in " \t")
    odd = odd or any(line[:1] not in ("", " ", "\t", "#", "\r") and not re.match(r"[^\r\n]*?:(?:[ \t]|\r?$)|-(?:[ \t]|\r?$)", line)
                     for line in body.split("\n"))  # a line at column 0 that is no "key:"
    continued = r"^(?:kind|apiVersion):[ \t]*[\w./-]+[ \t]*\r?\n(?:[ \t]*\r?\n)*[ \t]+[^#\s]"
    odd = odd or re.search(continued, body, re.MULTILINE) is not None
    ascii_only = [k for k in kinds if k.isascii()], [v for v in versions if v.isascii()]
    return ascii_only[0], ascii_only[1], odd or key_lines != 2


_LINE = st.sampled_from([
    "---", "--- ", "---x", "--- # c", "...", "%YAML 1.2", "# Source: a/b.yaml", "", " ", "\t", "kind: Pod", "kind: Service",
    "kind : Pod", '"kind": Pod', "apiVersion: v1", "apiVersion: apps/v1", "apiVersion:v1", "kinds: x", "? kind", "&a kind: x",
    "metadata:", "  name: x", "  kind: Pod", "- a", "{a: b}", "[a]", "!t x", "*a", "'x': y", "kind: Déploiement", "é: x",
    "spec: |", "  ---", "data:", "kind: Pod # c", "  Deployment", "  # c", "--- {a: b}", '--- "x', "  kind: Pod",
])


@settings(max_examples=1500, deadline=None)
@given(st.lists(_LINE, max_size=14), st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_split_equals_the_line_patterns(lines: list[str], newline: str, last_newline: bool) -> None:
    data = (newline.join(lines) + (newline if last_newline else "")).encode()
    check_split(data)


@settings(max_examples=1500, deadline=None)
@given(st.lists(_LINE, max_size=10), st.sampled_from(["\n", "\r\n"]))
def test_top_lines_equal_the_line_patterns(lines: list[str], newline: str) -> None:
    text = "---" + newline + newline.join(lines) + newline
    kinds, versions, unsure = reference_top(text)
    expected = None if unsure or len(kinds) != 1 or len(versions) != 1 else (versions[0], kinds[0])
    assert TopLines.of(text).named() == expected


def test_split_equals_the_line_patterns_on_every_fixture() -> None:
    files = sorted(ROOT.glob("fixtures/**/*.yaml"))
    assert len(files) > 50
    for path in files:
        check_split(path.read_bytes())


@pytest.mark.parametrize(("body", "named"), [("k: v\n", ("v1", "Service")), ("kind: Service\n", None)])
def test_many_lines_at_column_0_are_read_not_kept(body: str, named: tuple[str, str] | None) -> None:
    """Thousands of lines at column 0 are read one by one and counted, not kept: other keys leave
    the kind named; ``kind:`` again leaves it to the parser (Kubernetes takes the last)."""
    data = ("---\nkind: Service\napiVersion: v1\n" + body * 100_000).encode()
    (piece,) = split(data)
    assert piece.top == named


def test_pieces_of_one_kind_share_what_their_lines_say() -> None:
    first, second = split(("---\napiVersion: v1\nkind: Service\n" * 2).encode())
    assert first.top == ("v1", "Service") and first.top is second.top


# -- review (helper-22) --------------------------------------------------------------------------
@pytest.mark.parametrize("document", [
    "---\n" + "x\n" * 64,  # many lines at column 0
    "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports: []\n",  # an ordinary small object
])
def test_a_piece_costs_what_the_memory_bound_counts(document: str) -> None:
    """bounds.py counts PIECE_BYTES per document (read_stream's budget.hold): a stream of many
    small documents must not hold more per piece than that, or the bound (2x input + 60 MiB) is passed."""
    import tracemalloc

    from postrender.bounds import PIECE_BYTES

    data = (document * 2000).encode()
    tracemalloc.start()
    try:
        parts = split(data)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held / len(parts) <= PIECE_BYTES


def test_a_piece_is_decoded_from_a_view_as_from_its_bytes() -> None:
    """``decode_text`` of a memoryview (read_or_check decodes pieces without copying them first)
    gives the same text, or the same error, as of the bytes."""
    from postrender.documents import decode_text
    from postrender.errors import InputError

    data = "a: é\nb: x\n".encode() + b"c: \xff\n"
    view = memoryview(data)
    assert decode_text(view[:10]) == decode_text(data[:10]) == "a: é\nb: x"
    messages = []
    for given in (data, view):
        with pytest.raises(InputError) as caught:
            decode_text(given, 3, 10)
        messages.append(str(caught.value))
    assert messages[0] == messages[1] and "line 13" in messages[0] and "byte 0xff at offset 14" in messages[0]
