"""What a document's text tells before it is parsed: its kind and apiVersion where plainly
written, and whether anything could make the parse say otherwise (a key written another way, a
line break these scans do not count, an alias).

Every test here is conservative: when in doubt the document is parsed like any other.  Each
scan is one pass in C over the text, starting at a literal ("\n", "*", "default"): most of a
chart's bytes are CRDs, and every pass over them costs about what libyaml's parse of them costs
divided by ten.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .finder import DEFAULT_HINT
from .liststream import ODD_KEY_START, odd_breaks

if TYPE_CHECKING:
    from .rules import Rule, RuleSet

# Matched at the start of each line at column 0 that begins with the key.
TOP_KIND = re.compile(rb"kind:[ \t]*([A-Za-z][\w.-]*)[ \t]*\r?$", re.MULTILINE)  # (bytes: \w is ASCII)
TOP_API_VERSION = re.compile(rb"apiVersion:[ \t]*([\w./-]+)[ \t]*\r?$", re.MULTILINE)
# Kubernetes takes the last of duplicate keys, and a key can be written in ways the two lines
# above do not read (see TopLines).
_KEY_START = re.compile(rb"(?:kind|apiVersion)[ \t]*:")
_ODD_FIRST = frozenset(ODD_KEY_START.encode())
_TOP_LINE = re.compile(rb"\n[^ \t\r\n]")  # starts with a literal: found fast
_MARKER_END = frozenset(b" \t\r\n")
_K, _A, _HASH = ord("k"), ord("a"), ord("#")
_INDENTED_CONTENT = re.compile(rb"^[ \t]+[^#\s]", re.MULTILINE)  # a line with content that does not begin at column 0
# A line at column 0 of a block mapping: "key:", or an entry of a sequence that is a key's value ("- ...").
_KEY_SHAPED = re.compile(rb"[^\r\n]*?:(?:[ \t]|\r?$)|-(?:[ \t]|\r?$)", re.MULTILINE)
_CONTINUED = re.compile(rb"(?:[ \t]*\r?\n)*[ \t]+[^#\s]")  # after a value's line: blank lines, then an indented line with content
_ALIAS_TOKEN = re.compile(r"\*[\w-]+(?=[\s,:\]}]|\Z)")  # libyaml's anchor names: letters, digits, "_", "-"
# The same where a node starts (``_where_node_starts``: after blanks, ":", "-", "?", "[", "{", ",").
_ALIAS_CANDIDATE = re.compile(r"(?:(?<=[:\-?\[{,\s])|(?<![\s\S]))\*[\w-]+(?=[\s,:\]}]|\Z)")
_STARS_FOUND_ONE_BY_ONE = 4096
# A line that ends in a block scalar's header (``key: |-``, ``- >``, ``- key: |2``, a comment after it).
_BLOCK_HEADER = re.compile(r"( *)((?:-[ ]+)*)(?:([^\s#'\"{}\[\]&*!|>?%@`,-][^#]*?)[ \t]*:[ \t]+)?"
                           r"[|>](?:([1-9])[+-]?|[+-]([1-9])?)?[ \t]*(?:#[^\n]*)?\r?")
ALIASES_PROVEN = 64  # beyond this many alias-shaped tokens in one document it is parsed (each proof walks back)
LINES_WALKED = 256  # how far back a proof looks for the block scalar's header


def rules_that_may_skip(rules: RuleSet, named: tuple[str, str] | None) -> tuple[Rule, ...] | None:
    """The rules of the kind ``named`` (apiVersion, kind) when they look nowhere or only at CRD
    schema defaults, so that its document is only validated if ``text_holds_nothing`` agrees;
    None when it is read whatever its text (no kind named plainly, no rule: candidates)."""
    if named is None:
        return None
    matched = rules.for_kind(*named)
    if not matched or any(rule.looks_past_schema_defaults for rule in matched):
        return None
    return matched


def text_holds_nothing(text: str, matched: tuple[Rule, ...]) -> bool:
    """Whether nothing in the text can make the parse say more: no line break these scans do not
    count, no alias, and (for ``matched`` rules that read schema defaults) no default shaped as an image."""
    if unsure_past_top_lines(text):
        return False
    return not any(rule.schema_defaults for rule in matched) or DEFAULT_HINT.search(text) is None


def is_marker(data: bytes, at: int) -> bool:
    """Whether a "---" document marker starts at ``at`` (the start of a line)."""
    return data.startswith(b"---", at) and (at + 3 == len(data) or data[at + 3] in _MARKER_END)


def top_lines(data: bytes) -> Iterator[int]:
    """Where each line that begins at column 0 with neither a blank nor a line break starts."""
    if data[:1] and data[:1] not in b" \t\r\n":
        yield 0
    for match in _TOP_LINE.finditer(data):
        yield match.start() + 1


class TopLines:
    """What a document's lines at column 0 (a handful in a 1 MB CRD) say, read one at a time:
    the ``kind`` and ``apiVersion`` they give, and whether they could name either another way.
    It keeps a count and the first value of each, whatever the number of lines.

    Lines at column 0 are the root mapping's keys only when the root is a block mapping that
    starts at column 0: a root written on the "---" line (``--- {kind: ...``), an indented root,
    a value continued on the next line (``kind: Service`` / ``  Deployment``), or a line at
    column 0 that is no ``key:`` (the rest of a multi-line quoted string) leave the lines at
    column 0 to a multi-line string, so nothing is named."""

    __slots__ = ("kind", "kinds", "version", "versions", "key_lines", "odd", "body")

    def __init__(self, data: bytes, start: int) -> None:
        """The document from ``start`` in ``data`` (its "---" line, or where a stream's first document begins)."""
        self.kind: str | None = None
        self.version: str | None = None
        self.kinds = self.versions = self.key_lines = 0
        self.odd = False
        self.body = start  # where its lines begin (after the "---" line); -1 once a line with content is read
        if is_marker(data, start):
            line_end = data.find(b"\n", start)
            rest = data[start + 3:len(data) if line_end == -1 else line_end].strip()
            self.odd = bool(rest) and not rest.startswith(b"#")  # a root on the "---" line
            self.body = len(data) if line_end == -1 else line_end + 1

    @classmethod
    def of(cls, text: str | bytes) -> TopLines:
        """From a document's text (its bytes, when at hand: a large one is not encoded again)."""
        data = text.encode("utf-8") if isinstance(text, str) else text
        top = cls(data, 0)
        for start in top_lines(data):
            if top.odd:
                break  # (nothing is named: the rest need not be read)
            if start >= top.body or top.body == -1:
                top.add(data, start)
        return top

    def add(self, data: bytes, start: int) -> None:
        """The line at ``start`` of ``data`` (that begins at column 0; no "---")."""
        first = data[start]
        if self.body >= 0 and first != _HASH:  # the first line with content: nothing indented before it
            self.odd = self.odd or _INDENTED_CONTENT.search(data, self.body, start) is not None
            self.body = -1
        if first in _ODD_FIRST or (first != _HASH and not _KEY_SHAPED.match(data, start)):
            self.odd = True  # a key written another way, or no key: the line goes on a multi-line string
        elif (first == _K or first == _A) and _KEY_START.match(data, start):
            self.key_lines += 1
            value = (TOP_KIND if first == _K else TOP_API_VERSION).match(data, start)
            if value is None:
                return
            if _CONTINUED.match(data, value.end() + 1):  # a plain value goes on on the next lines
                self.odd = True
            if first == _K:
                self.kinds += 1
                self.kind = self.kind or value.group(1).decode("ascii")
            else:
                self.versions += 1
                self.version = self.version or value.group(1).decode("ascii")

    def named(self) -> tuple[str, str] | None:
        """(apiVersion, kind) when each is named once, plainly, and no line names either another way."""
        if self.odd or self.key_lines != 2 or self.kinds != 1 or self.versions != 1:
            return None
        assert self.version is not None and self.kind is not None
        return self.version, self.kind


def unsure_past_top_lines(text: str) -> bool:
    """Whether the text past its lines at column 0 may make the parse say otherwise: a line break
    these scans do not count, an alias."""
    return odd_breaks(text) or holds_alias(text)


def holds_alias(text: str) -> bool:
    """Whether an alias may be in the text: a ``*name`` where a value or key starts, unless it
    is proven to be a block scalar's text (CRD descriptions write ``*Warning: ...*``) and no
    anchor of that name is written anywhere."""
    proven = looked = 0
    star = text.find("*")  # (str.find of one character is memchr: a pattern's scan is 6x slower)
    while star != -1:
        looked += 1
        if looked > _STARS_FOUND_ONE_BY_ONE:  # a text of many stars (markdown rules, hostile input): the rest in C
            candidates = (m for m in _ALIAS_CANDIDATE.finditer(text, star) if _where_node_starts(text, m.start()))
            return any(_may_be_alias(text, m, proven + number) for number, m in enumerate(candidates, 1))
        match = _ALIAS_TOKEN.match(text, star)
        if match is not None and _where_node_starts(text, star):
            proven += 1
            if _may_be_alias(text, match, proven):
                return True
        star = text.find("*", star + 1)
    return False


def _may_be_alias(text: str, token: re.Match[str], proven: int) -> bool:
    """Whether the alias-shaped ``*name`` (where a node starts) may be an alias: more than
    ``ALIASES_PROVEN`` to prove, an anchor of its name, or not proven to be block text."""
    return proven > ALIASES_PROVEN or "&" + token.group()[1:] in text or not in_block_scalar(text, token.start())


def _where_node_starts(text: str, star: int) -> bool:
    """A ``*name`` after ":", "-", "?", "[", "{", "," or a line break (spaces between)."""
    before = text[max(0, star - 80):star].rstrip(" \t")
    return not before or before[-1] in ":-?[{,\r\n"


def in_block_scalar(text: str, at: int) -> bool:
    """Whether position ``at`` is proven to be inside the text of a block scalar (``|`` or ``>``):
    a header line above it whose node is less indented than every line from there to ``at``
    (blank lines aside), and, for an explicit indentation indicator, indented enough.  No quote
    may stand from the header to ``at``: a header-shaped line can be the text of a multi-line
    quoted string opened above it (``a: ["x`` / ``k: |`` / ``", *x]``), whose closing quote then
    comes before the alias (an apostrophe closes a single-quoted one)."""
    line_start = text.rfind("\n", 0, at) + 1
    lowest = _indent(text, line_start)
    for _ in range(LINES_WALKED):
        if line_start == 0 or lowest == 0:
            return False
        end = line_start - 1
        line_start = text.rfind("\n", 0, end) + 1
        line = text[line_start:end]
        if not line.strip():
            continue
        header = _BLOCK_HEADER.fullmatch(line)
        if header is not None:
            indent, dashes, key = len(header.group(1)), header.group(2), header.group(3)
            if key is not None:
                parent = indent + len(dashes)  # the key's column: its mapping's indentation
            elif dashes:
                parent = indent + dashes.rstrip().rfind("-")  # the last "-": its sequence's
            else:
                return False  # a header alone on its line: its parent is further up
            explicit = int(header.group(4) or header.group(5) or 0)
            if parent < lowest and (not explicit or lowest >= parent + explicit):
                return text.find('"', line_start, at) == -1 and text.find("'", line_start, at) == -1
        lowest = min(lowest, _indent(text, line_start))
    return False


def _indent(text: str, line_start: int) -> int:
    at = line_start
    while at < len(text) and text[at] == " ":
        at += 1
    return at - line_start
