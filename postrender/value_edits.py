"""Edits inside one string of the stream, given in the coordinates of its value.

Images found in ConfigMap/Secret data and in embedded configs sit inside a string's value:
``data.config.yaml`` is a literal block holding a whole pod template, a Secret value is
base64.  Their edits (references replaced, pull-secret lines inserted) are made on the
value and then carried into the stream's text:

- a literal block (``|``) maps line for line: each value line is its source line less the
  block's indentation, and inserted lines get that indentation;
- a plain or quoted string written without escapes maps character for character;
- base64 (Secret ``data``) is decoded, edited, encoded again and wrapped as it was;
- anything else (folded blocks, escapes) is written again as one double-quoted string, which
  YAML and JSON read the same; the caller is told so.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

from .discovery import decode_value, encode_value
from .nodes import Scalar
from .splice import Edit, OverlappingEdits, pieces, verbatim_position, whole_scalar_edit

_INDENT_INDICATOR = re.compile(r"[|>][+-]?([1-9])?[+-]?")


def edit_value(text: str, node: Scalar, codec: str | None, edits: Sequence[Edit]) -> tuple[list[Edit], bool]:
    """Edits of ``text`` that make ``node``'s value become the value with ``edits`` applied.
    Returns the edits and whether the whole scalar had to be written again."""
    ordered = sorted(set(edits), key=lambda e: (e.start, e.end))
    for before, after in zip(ordered, ordered[1:]):
        if after.start < before.end:
            raise OverlappingEdits(f"edits overlap inside the string at character {node.start}")
    if codec == "base64":
        decoded = decode_value(node.value, codec)
        assert decoded is not None  # only decodable values have finds
        return _replace_value(text, node, encode_value(node.value, "".join(pieces(decoded, ordered))))
    if node.style == "|":
        mapped = _literal_edits(text, node, ordered)
        if mapped is not None:
            return mapped, False
    if all("\n" not in e.text for e in ordered):
        positions = [verbatim_position(text, node, e.start, node.value[e.start:e.end]) for e in ordered]
        if all(p is not None for p in positions):
            return [Edit(p, p + (e.end - e.start), e.text) for p, e in zip(positions, ordered) if p is not None], False
    return [whole_scalar_edit(text, node, "".join(pieces(node.value, ordered)))], True


def _replace_value(text: str, node: Scalar, new: str) -> tuple[list[Edit], bool]:
    """The whole value replaced (base64): in place when it is written as it reads, line for line
    in a literal block, else as a double-quoted string."""
    at = verbatim_position(text, node, 0, node.value)
    if at is not None and "\n" not in new.rstrip("\n"):
        return [Edit(at, at + len(node.value), new)], False
    if node.style == "|":
        mapped = _literal_edits(text, node, [Edit(0, len(node.value), new)])
        if mapped is not None:
            return mapped, False
    return [whole_scalar_edit(text, node, new)], True


def _literal_edits(text: str, node: Scalar, edits: Sequence[Edit]) -> list[Edit] | None:
    """Value edits carried into a literal block's lines (None when the lines do not map)."""
    header_end = text.find("\n", node.start, node.end)
    if header_end == -1:
        return None
    header = text[node.start:header_end].split("#", 1)[0].strip()
    indicator = _INDENT_INDICATOR.match(header.lstrip("&!").split()[-1] if header.split() else "")
    value_lines = node.value.split("\n")
    source_lines = text[header_end + 1:node.end].split("\n")
    indent = None
    if indicator and indicator.group(1):
        parent = text.rfind("\n", 0, node.start) + 1
        indent = len(text[parent:node.start]) - len(text[parent:node.start].lstrip(" ")) + int(indicator.group(1))
    else:
        first = next((line for line in source_lines if line.strip(" \r")), None)
        if first is None:
            return None
        indent = len(first) - len(first.lstrip(" "))
    starts: list[int] = []
    position = header_end + 1
    for number, value_line in enumerate(value_lines):
        if number >= len(source_lines):
            if value_line:
                return None
            starts.append(node.end)
            continue
        source = source_lines[number].rstrip("\r")
        if value_line and source[indent:] != value_line:
            return None
        starts.append(position + min(indent, len(source)))
        position += len(source_lines[number]) + 1
    eol = "\r\n" if text[header_end - 1:header_end] == "\r" else "\n"

    def at(offset: int) -> int:
        line = node.value.count("\n", 0, offset)
        column = offset - (node.value.rfind("\n", 0, offset) + 1)
        return starts[line] + column

    out = []
    for edit in edits:
        new = edit.text
        if "\n" in new:
            # a line break inside the value continues the block: the next line gets its indentation,
            # except after the value's very end, where the stream's next line follows as it is
            tail = "\n" if edit.end == len(node.value) and new.endswith("\n") else ""
            body = new[:len(new) - len(tail)]
            new = body.replace("\n", eol + " " * indent) + (eol if tail else "")
        out.append(Edit(at(edit.start), at(edit.end) if edit.end > edit.start else at(edit.start), new))
    return out

