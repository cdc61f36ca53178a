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
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .documents import top_lines
from .finder import DEFAULT_HINT
from .liststream import ODD_KEY_START, odd_breaks

if TYPE_CHECKING:
    from .rules import RuleSet

# Matched at the start of each line at column 0 that begins with the key.
TOP_KIND = re.compile(rb"kind:[ \t]*([A-Za-z][\w.-]*)[ \t]*\r?$", re.MULTILINE)  # (bytes: \w is ASCII)
TOP_API_VERSION = re.compile(rb"apiVersion:[ \t]*([\w./-]+)[ \t]*\r?$", re.MULTILINE)
# Kubernetes takes the last of duplicate keys, and a key can be written in ways the two lines
# above do not read (see unsure).
_KEY_START = re.compile(rb"(?:kind|apiVersion)[ \t]*:")
_ODD_FIRST = frozenset(ODD_KEY_START.encode())
_K, _A = ord("k"), ord("a")
_ALIAS_TOKEN = re.compile(r"\*[\w-]+(?=[\s,:\]}]|\Z)")  # libyaml's anchor names: letters, digits, "_", "-"
# A line that ends in a block scalar's header (``key: |-``, ``- >``, ``- key: |2``, a comment after it).
_BLOCK_HEADER = re.compile(r"( *)((?:-[ ]+)*)(?:([^\s#'\"{}\[\]&*!|>?%@`,-][^#]*?)[ \t]*:[ \t]+)?"
                           r"[|>](?:([1-9])[+-]?|[+-]([1-9])?)?[ \t]*(?:#[^\n]*)?\r?")
ALIASES_PROVEN = 64  # beyond this many alias-shaped tokens in one document it is parsed (each proof walks back)
LINES_WALKED = 256  # how far back a proof looks for the block scalar's header


def cannot_hold_images(text: str, rules: RuleSet, top: TopLines | None = None) -> bool:
    """True for a document whose kind's rules look nowhere (a Service, a Role) or only at CRD
    schema defaults its text has none of: matching it would find nothing, so it is only
    checked to be valid YAML.  Decided from its text, conservatively: one plain top-level
    ``kind:`` and ``apiVersion:`` line each and no other way of writing them, else it is
    parsed like any other.  ``top``: its lines at column 0, when ``split`` found them."""
    top = top if top is not None else TopLines.of(text)
    if len(top.kinds) != 1 or len(top.versions) != 1:
        return False
    matched = rules.for_kind(top.versions[0], top.kinds[0])
    if not matched:
        return False  # kinds no rule covers are searched for candidates
    for rule in matched:  # (before the scans below: a document these say is parsed needs none)
        if rule.looks_past_schema_defaults:
            return False
    if top.unsure or unsure_past_top_lines(text):
        return False
    return not any(rule.schema_defaults for rule in matched) or DEFAULT_HINT.search(text) is None


class TopLines:
    """What a document's lines at column 0 (a handful in a 1 MB CRD) say: the ``kind`` and
    ``apiVersion`` they give, and whether they could name either another way."""

    __slots__ = ("kinds", "versions", "unsure")

    def __init__(self, kinds: list[str], versions: list[str], unsure: bool) -> None:
        self.kinds, self.versions, self.unsure = kinds, versions, unsure

    @classmethod
    def of(cls, text: str) -> TopLines:
        data = text.encode("utf-8")
        return cls.read(data, top_lines(data))

    @classmethod
    def read(cls, data: bytes, starts: Iterable[int] | None) -> TopLines:
        """From the lines at ``starts`` (offsets in ``data``); None: too many were found to keep."""
        kinds: list[str] = []
        versions: list[str] = []
        key_lines = 0
        odd = starts is None
        for start in starts or ():
            first = data[start]
            if first in _ODD_FIRST:
                odd = True
            elif (first == _K or first == _A) and _KEY_START.match(data, start):
                key_lines += 1
                pattern, found = (TOP_KIND, kinds) if first == _K else (TOP_API_VERSION, versions)
                value = pattern.match(data, start)
                if value is not None:
                    found.append(value.group(1).decode("ascii"))
        return cls(kinds, versions, odd or key_lines != 2)


def unsure_past_top_lines(text: str) -> bool:
    """What ``unsure`` asks beyond the lines at column 0: line breaks, aliases."""
    return odd_breaks(text) or holds_alias(text)


def holds_alias(text: str) -> bool:
    """Whether an alias may be in the text: a ``*name`` where a value or key starts, unless it
    is proven to be a block scalar's text (CRD descriptions write ``*Warning: ...*``) and no
    anchor of that name is written anywhere."""
    proven = 0
    star = text.find("*")  # (str.find of one character is memchr: a pattern's scan is 6x slower)
    while star != -1:
        match = _ALIAS_TOKEN.match(text, star)
        if match is not None and _where_node_starts(text, star):
            proven += 1
            if proven > ALIASES_PROVEN or "&" + match.group()[1:] in text or not in_block_scalar(text, star):
                return True
        star = text.find("*", star + 1)
    return False


def _where_node_starts(text: str, star: int) -> bool:
    """A ``*name`` after ":", "-", "?", "[", "{", "," or a line break (spaces between)."""
    before = text[max(0, star - 80):star].rstrip(" \t")
    return not before or before[-1] in ":-?[{,\r\n"


def in_block_scalar(text: str, at: int) -> bool:
    """Whether position ``at`` is proven to be inside the text of a block scalar (``|`` or ``>``):
    a header line above it whose node is less indented than every line from there to ``at``
    (blank lines aside), and, for an explicit indentation indicator, indented enough.  A header
    written inside a quoted string would be taken for one: the proof only ever lets a document
    be checked as valid YAML without being composed, never an image be missed."""
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
                return True
        lowest = min(lowest, _indent(text, line_start))
    return False


def _indent(text: str, line_start: int) -> int:
    at = line_start
    while at < len(text) and text[at] == " ":
        at += 1
    return at - line_start
