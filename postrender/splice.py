"""Apply text edits at parsed positions; everything else stays byte for byte.

The technique of pre-commit's ``yaml_rewrite.py``: collect ``(start, end, text)``
edits, apply them in order of position to the original text.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator

from .nodes import Scalar, ScalarNode
from .records import record


@record(frozen=True, slots=True)
class Edit:
    start: int
    end: int
    text: str


class OverlappingEdits(AssertionError):
    """Two edits touch the same characters: a bug in the planner, never the user's fault."""


def in_order(edits: list[Edit]) -> list[Edit]:
    """Edits sorted by position, duplicates (an alias reached twice) dropped; insertions at one
    place (an implied image and the pull secrets before the same key) by their text, so the
    output never depends on a set's order."""
    return sorted(set(edits), key=_position)


def joined_in_empty_flow_mappings(text: str, ordered: list[Edit]) -> list[Edit]:
    """Insertions at one place right after the ``{`` of an empty flow mapping (``spec: {}`` given
    both an implied registry and the pull secrets) each write one pair without a separator, as
    each would alone: joined with ", " into one insertion."""
    out: list[Edit] = []
    for edit in ordered:
        last = out[-1] if out else None
        if (last is not None and edit.start == edit.end == last.start == last.end and text[edit.start - 1:edit.start] == "{"
                and text[edit.start:edit.start + 200].lstrip()[:1] == "}"):
            out[-1] = Edit(last.start, last.end, f"{last.text}, {edit.text}")
        else:
            out.append(edit)
    return out


def _position(edit: Edit) -> tuple[int, int, str]:
    return edit.start, edit.end, edit.text


def pieces(text: str, ordered: list[Edit]) -> Iterator[str]:
    """The edited text in pieces (``ordered`` as from :func:`in_order`): written one by one,
    no second copy of a large stream."""
    position = 0
    for edit in ordered:
        if edit.start < position:
            raise OverlappingEdits(f"edits overlap at character {edit.start}")
        yield text[position:edit.start]
        yield edit.text
        position = edit.end
    yield text[position:]


def scalar_edits(text: str, node: Scalar | ScalarNode, replacements: list[tuple[int, str, str]]) -> list[Edit]:
    """Edits that turn ``node.value[offset:offset+len(old)]`` into ``new`` for each replacement.

    Image references hold no quotes, escapes or spaces, so each one appears in the
    scalar's source text exactly as in its value: find the same occurrence there and
    replace only those characters, whatever the scalar's style.  Where the source
    text does not show the value plainly (escapes), the scalar is rewritten whole as
    a double-quoted string, which YAML and JSON both read.
    """
    start = _body_start(text, node.start_mark.index, node.end_mark.index)
    end = node.end_mark.index
    raw = text[start:end]
    value = node.value
    edits: list[Edit] = []
    for offset, old, new in sorted(set(replacements)):
        occurrence = _occurrence_index(value, old, offset)
        raw_at = _nth(raw, old, occurrence)
        if occurrence is None or raw_at is None or value.count(old) != raw.count(old):
            return [_rewrite_whole(text, start, end, node, replacements)]
        edits.append(Edit(start + raw_at, start + raw_at + len(old), new))
    return edits


def render_value(value: str, replacements: list[tuple[int, str, str]]) -> str:
    """``value`` with the replacements made, as YAML text: plain where a reference is all it
    holds, double-quoted (valid YAML and JSON) otherwise."""
    value = _replaced(value, replacements)
    return value if _PLAIN_SAFE.match(value) else json.dumps(value, ensure_ascii=False)


def _replaced(value: str, replacements: list[tuple[int, str, str]]) -> str:
    for offset, old, new in sorted(set(replacements), reverse=True):
        value = value[:offset] + new + value[offset + len(old):]
    return value


_PLAIN_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/@+-]*(?::[A-Za-z0-9._/@+-]+)*\Z")


def _rewrite_whole(text: str, start: int, end: int, node: Scalar | ScalarNode, replacements: list[tuple[int, str, str]]) -> Edit:
    rendered = json.dumps(_replaced(node.value, replacements), ensure_ascii=False)
    if node.style in ("|", ">"):  # a block scalar ends with its line break: keep it
        ending = _LINE_BREAK_AT_END.search(text, start, end)
        rendered += ending.group() if ending else ""
    return Edit(start, end, rendered)


def whole_scalar_edit(text: str, node: Scalar | ScalarNode, value: str) -> Edit:
    """``node`` written again whole as a double-quoted string holding ``value`` (anchor and tag stay)."""
    return _rewrite_whole(text, _body_start(text, node.start_mark.index, node.end_mark.index), node.end_mark.index, node,
                          [(0, node.value, value)])


_LINE_BREAK_AT_END = re.compile("(?:\r\n|[\r\n\x85\u2028\u2029])\\Z")  # libyaml's line breaks


def _body_start(text: str, start: int, end: int) -> int:
    """Skip an anchor (``&name``) and a tag (``!tag``) before the scalar itself: they stay."""
    position = start
    while position < end and text[position] in "&!":
        while position < end and text[position] not in _SPACE:
            position += 1
        while position < end and text[position] in _SPACE:
            position += 1
    return position


_SPACE = " \t\r\n\x85\u2028\u2029"


def _occurrence_index(value: str, needle: str, offset: int) -> int | None:
    count, position = 0, value.find(needle)
    while position != -1 and position < offset:
        count += 1
        position = value.find(needle, position + len(needle))
    return count if position == offset else None


def _nth(haystack: str, needle: str, n: int | None) -> int | None:
    if n is None:
        return None
    position = haystack.find(needle)
    for _ in range(n):
        if position == -1:
            return None
        position = haystack.find(needle, position + len(needle))
    return None if position == -1 else position


def verbatim_position(text: str, node: Scalar | ScalarNode, offset: int, old: str) -> int | None:
    """Where ``node.value[offset:offset+len(old)]`` is written in ``text``, when it is written
    there character for character (any style without escapes); else None."""
    start = _body_start(text, node.start_mark.index, node.end_mark.index)
    raw = text[start:node.end_mark.index]
    if not old:
        return start + offset if raw == node.value else None
    occurrence = _occurrence_index(node.value, old, offset)
    at = _nth(raw, old, occurrence)
    if at is None or node.value.count(old) != raw.count(old):
        return None
    return start + at
