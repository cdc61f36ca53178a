"""A large ``kind: List`` (``kubectl get ... -o yaml``) read one item at a time.

Composing the whole List holds every item's nodes at once (an 8 MB List of pods: 550 MiB).
Each item is one block-sequence entry ``- ...`` whose lines can be composed alone: the
``-`` masked by a space keeps every character where it is, so positions are the item's own
plus where its first line starts in the document.  The List itself is composed with its items'
lines blanked (same length, same line breaks), which leaves ``items:`` empty.

Only the plain layout is read this way, and only when the cut is proven: the whole document
parses, and libyaml counts as many events in it as in its blanked List and its items together
(a cut inside a multi-line string or a flow collection would leave an item that does not
parse, or a different count).  Anything else (JSON, aliases, odd keys) is composed whole.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from .bounds import count_nodes
from .records import record

STREAM_FROM = 1 << 18  # smaller Lists are composed whole (an 843 KB List of Deployments needs more than its bound whole)
_ITEMS_LINE = re.compile(r"(?:\A|(?<=\n))items:[ \t]*(?:#[^\n]*)?\r?\n")
_OTHER_DOCUMENT = re.compile(r"\n(?:---|\.\.\.)(?:[ \t\r\n]|\Z)")  # a piece read whole may hold more than one
ODD_KEY_START = "\"'?&!*{[<"  # a key written another way: quoted, explicit (?), anchored, tagged, in a flow mapping
_ODD_ROOT_LINE = re.compile(r"(?:\A|\n)[" + re.escape(ODD_KEY_START + "%") + "]")  # ... or a directive


@record(frozen=True)
class Item:
    start: int  # where its lines begin in the document (a line start)
    end: int  # where the next item's lines (or what follows the list) begin
    dash: int  # the column of its "-" (-1: a JSON item, nothing to mask)


@record(frozen=True)
class Layout:
    items: tuple[Item, ...]
    flow: bool = False  # JSON: "items" keeps its "[ ]" when its items are blanked

    def blanked(self, text: str) -> Blanked:
        """``text`` with every item's lines blank (the same length and line breaks), to be read
        by libyaml without a copy of the document."""
        start, end = (self.items[0].start, self.items[-1].end) if self.items else (0, 0)
        breaks = text.count("\n", start, end)
        return Blanked(text, start, end, breaks)

    def without_items(self, text: str) -> str:
        """The document without its items' lines (for counting the List's own events)."""
        start, end = (self.items[0].start, self.items[-1].end) if self.items else (0, 0)
        return text[:start] + text[end:]

    def item_texts(self, text: str) -> Iterator[tuple[Item, str, str]]:
        """Each item with its own text and the text it is composed from (its "-" masked)."""
        for item in self.items:
            own = text[item.start:item.end]
            yield item, own, own if item.dash < 0 else own[:item.dash] + " " + own[item.dash + 1:]


class Blanked:
    """A file-like view of a text whose span [start, end) reads as spaces and then ``breaks``
    line breaks: libyaml reads it in chunks, so the blanked document is never held whole."""

    CHUNK = 1 << 16

    def __init__(self, text: str, start: int, end: int, breaks: int) -> None:
        self.parts = [(text, 0, start), (" ", 0, end - start - breaks), ("\n", 0, breaks), (text, end, len(text))]
        self.at = 0  # position in the current part

    def read(self, size: int = -1) -> str:
        while self.parts:
            source, first, last = self.parts[0]
            count = min(last - first - self.at, self.CHUNK if size < 0 else min(size, self.CHUNK))
            if count <= 0:
                self.parts.pop(0)
                self.at = 0
                continue
            self.at += count
            return source[first + self.at - count:first + self.at] if len(source) > 1 else source * count
        return ""


def odd_breaks(text: str) -> bool:
    """Line breaks these scans do not count as libyaml does: a lone CR, NEL, U+2028/9."""
    return ("\r" in text and text.count("\r") != text.count("\r\n")) or "\x85" in text or "\u2028" in text or "\u2029" in text


_JSON_SPACE = re.compile(r"[ \t\r\n]*")
_JSON_HEAD = re.compile(r"(?:(?:---|#)[^\n]*\n|[ \t\r\n]+)*")  # the piece's "---" and comments


def json_layout(text: str) -> tuple[Layout, str | None, str | None] | None:
    """The items of a List written as JSON (``kubectl get -o json``), each beginning a line, with
    the List's ``kind`` and ``apiVersion``; None for any other shape (or what JSON does not read)."""
    import json
    from json import decoder as json_decoder

    scanstring: Callable[[str, int], tuple[str, int]] = getattr(json_decoder, "scanstring")  # json's own, not in its stubs
    if len(text) < STREAM_FROM or odd_breaks(text):
        return None
    decoder = json.JSONDecoder()
    at = _JSON_HEAD.match(text).end()  # type: ignore[union-attr]  # matches the empty string
    if text[at:at + 1] != "{":
        return None
    keys: dict[str, object] = {}
    items: list[Item] = []
    try:
        at = _JSON_SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
        while text[at] != "}":
            key, at = scanstring(text, at + 1) if text[at] == '"' else (None, -1)
            if key is None or key in keys:
                return None  # not JSON, or a duplicate key (the last would win)
            at = _JSON_SPACE.match(text, at).end()  # type: ignore[union-attr]
            if text[at] != ":":
                return None
            at = _JSON_SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
            if key == "items" and text[at] == "[":
                keys[key], at = None, _JSON_SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
                while text[at] != "]":
                    line_start = text.rfind("\n", 0, at) + 1
                    if text[line_start:at].strip(" \t"):
                        return None  # an item not at the start of its line
                    _, end = decoder.raw_decode(text, at)
                    items.append(Item(line_start, end, -1))
                    at = _JSON_SPACE.match(text, end).end()  # type: ignore[union-attr]
                    if text[at] == ",":
                        at = _JSON_SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
                    elif text[at] != "]":
                        return None
                at += 1
            else:
                keys[key], at = decoder.raw_decode(text, at)
            at = _JSON_SPACE.match(text, at).end()  # type: ignore[union-attr]
            if text[at] == ",":
                at = _JSON_SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
            elif text[at] != "}":
                return None
    except (ValueError, IndexError):
        return None
    if "items" not in keys or text[at + 1:].strip():
        return None
    kind, version = keys.get("kind"), keys.get("apiVersion")
    return Layout(tuple(items), flow=True), kind if isinstance(kind, str) else None, version if isinstance(version, str) else None


def layout(text: str) -> Layout | None:
    """The items of a List document written in the plain block layout, or None."""
    if len(text) < STREAM_FROM or _ODD_ROOT_LINE.search(text) or _OTHER_DOCUMENT.search(text, 1):
        return None
    if odd_breaks(text):
        return None
    found = list(_ITEMS_LINE.finditer(text))
    if len(found) != 1:
        return None
    at = found[0].end()
    first = re.compile(r"(?:[ \t]*(?:#[^\n]*)?\r?\n)*( *)-(?=[ \t\r\n])").match(text, at)
    if first is None:
        return None
    dash = len(first.group(1))
    # a line at the list's indentation or left of it: an item's "-", or the end of the list
    edge = re.compile(rf"\n(?! {{{dash + 1}}}|[ \t]*(?:#|\r?\n|\Z))( *)(-(?=[ \t\r\n]|\Z))?")
    starts = [first.start(1)]
    end = len(text)
    for match in edge.finditer(text, first.end()):
        if len(match.group(1)) == dash and match.group(2):
            starts.append(match.start() + 1)
        else:
            end = match.start() + 1
            break
    bounds = [*starts, end]
    return Layout(tuple(Item(bounds[i], bounds[i + 1], dash) for i in range(len(starts))))


def proven(raw: bytes, text: str, found: Layout) -> bool:
    """Whether composing the blanked List and each item alone reads what composing the whole
    document would: libyaml's event counts agree (and each part parses)."""
    whole = count_nodes(raw)
    root = count_nodes(found.without_items(text).encode("utf-8"))
    if whole is None or root is None:
        return False
    # "items:" held an empty value (1 event) instead of the sequence's start and end (2); JSON keeps its "[ ]"
    total = root if found.flow else root + 1
    for _, _, masked in found.item_texts(text):
        count = count_nodes(masked.encode("utf-8"))
        if count is None:
            return False
        total += count - 4  # each alone adds a stream and a document start and end
    return total == whole
