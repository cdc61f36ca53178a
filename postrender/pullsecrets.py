"""Pull secrets: the text to insert so every pod spec lists each configured secret.

Existing entries keep their order and bytes; missing names are appended after
them; a missing field (and missing parent keys, e.g. Strimzi's
``template.pod``) is inserted as the mapping's first key, at its indentation,
so the rest of the mapping is untouched.  Flow mappings (JSON documents) get
JSON, which YAML reads the same.
"""
from __future__ import annotations

import functools
import json
from sys import intern
from collections.abc import Sequence

from .finder import SecretSite, alias_span
from .nodes import MappingNode, Node, ScalarNode, SequenceNode, get, get_key
from .splice import Edit


def secret_edits(text: str, sites: Sequence[SecretSite], secrets: Sequence[str], warnings: list[str]) -> list[Edit]:
    if not secrets:
        return []
    edits: list[Edit] = []
    done: set[tuple[int, tuple[str, ...]]] = set()
    for site in sites:
        node, keys = _descend(site.anchor, site.field)
        if not isinstance(node, MappingNode):
            warnings.append(f"{site.doc.where(site.anchor, site.path)}: cannot add pull secrets: a parent is not a mapping")
            continue
        identity = (id(node), keys)
        if identity in done:  # two rules (or an alias) name the same place
            continue
        done.add(identity)
        edit = _edit_for(text, site, node, keys, secrets, warnings)
        if edit is not None:
            edits.append(Edit(edit.start, edit.end, intern(edit.text)))  # the same few texts, many times
    return edits


def _descend(node: MappingNode, field: tuple[str, ...]) -> tuple[Node | None, tuple[str, ...]]:
    """Follow the keys that exist; return the deepest mapping and the keys still missing
    (the last key stays in the tuple when it exists, so the caller sees its value; so does
    a parent that is null, ``template:`` rendered from empty values, which gets filled)."""
    current: Node = node
    for depth, key in enumerate(field[:-1]):
        child = get(current, key)
        if child is None or _is_null(child):
            return current, field[depth:]
        if not isinstance(child, MappingNode):
            return None, ()
        current = child
    return current, field[-1:]


def _edit_for(text: str, site: SecretSite, node: MappingNode, keys: tuple[str, ...], secrets: Sequence[str], warnings: list[str]) -> Edit | None:
    eol = _line_ending(text, node)
    existing = get(node, keys[0]) if get_key(node, keys[0]) is not None else None
    if len(keys) == 1 and existing is not None:
        return _extend_existing(text, site, node, keys[0], secrets, eol, warnings)
    if len(keys) > 1 and _is_null(existing):  # "template:" with nothing in it: fill it in place
        assert isinstance(existing, ScalarNode)
        rendered = _flow_value(site.style, secrets, _is_json(node))
        for key in reversed(keys[1:]):
            rendered = "{" + (json.dumps(key) if _is_json(node) else key) + ": " + rendered + "}"
        return _set_null(text, node, keys[0], existing, rendered)
    return _insert_keys(text, node, keys, site.style, secrets, eol)


def _extend_existing(text: str, site: SecretSite, node: MappingNode, key: str, secrets: Sequence[str], eol: str, warnings: list[str]) -> Edit | None:
    value = get(node, key)
    if site.style == "name":
        return _fill_single(text, site, node, key, value, secrets, eol)
    if _is_null(value):
        assert isinstance(value, ScalarNode)
        rendered = _flow_value(site.style, secrets, _is_json(node))
        return _set_null(text, node, key, value, rendered)
    if not isinstance(value, SequenceNode):
        warnings.append(f"{site.doc.where(value, site.path)}: {key} is not a list; pull secrets not added")
        return None
    existing = {_entry_name(item, site.style) for item in value.value}
    missing = [s for s in secrets if s not in existing]
    if not missing:
        return None
    if value.flow_style:
        close = value.end_mark.index - 1
        if text[close] != "]":
            return None
        body = ", ".join(_flow_item(site.style, s, _is_json(node)) for s in missing)
        before = text[:close].rstrip()[-1:]  # "[" when empty, "," after a trailing comma
        separator = {"[": "", ",": " "}.get(before, ", ")
        return Edit(close, close, separator + body)
    last_end = _content_end(text, value)
    position = last_end if text[last_end - 1] == "\n" else _end_of_line(text, last_end)
    indent = " " * _dash_column(text, value)
    lines = "".join(f"{indent}- {_block_item(site.style, s)}{eol}" for s in missing)
    if position == len(text) and not text.endswith("\n"):
        lines = eol + lines
    return Edit(position, position, lines)


def _is_null(value: Node | None) -> bool:
    return isinstance(value, ScalarNode) and value.style == "" and value.value in ("", "~", "null", "Null", "NULL")


def _set_null(text: str, node: MappingNode, key: str, value: ScalarNode, rendered: str) -> Edit:
    """Give a null field (``key:``, ``key: ~``) the rendered flow value."""
    if value.start_mark.index == value.end_mark.index:  # "key:" with nothing after it
        key_node = get_key(node, key)
        assert key_node is not None
        colon = text.index(":", key_node.end_mark.index)
        return Edit(colon + 1, colon + 1, " " + rendered)
    return Edit(value.start_mark.index, value.end_mark.index, rendered)


def _fill_single(text: str, site: SecretSite, node: MappingNode, key: str, value: Node | None, secrets: Sequence[str], eol: str) -> Edit | None:
    """A one-secret field (MinIO's ``imagePullSecret: {name: x}``): a name already there is the
    user's choice; an empty or nameless one (``imagePullSecret: { }``) gets the first secret."""
    if isinstance(value, MappingNode):
        if get(value, "name") is not None:
            return None
        if value.flow_style or not value.value:
            brace = _opening_brace(text, value.start_mark.index)
            return Edit(brace + 1, brace + 1, f"name: {_scalar(secrets[0])}" + (", " if value.value else ""))
        first = value.value[0][0]
        return Edit(first.start_mark.index, first.start_mark.index, f"name: {_scalar(secrets[0])}{eol}{' ' * first.start_mark.column}")
    if _is_null(value):
        assert isinstance(value, ScalarNode)
        rendered = _flow_value("name", secrets, _is_json(node))
        return _set_null(text, node, key, value, rendered)
    return None


def _insert_keys(text: str, node: MappingNode, keys: tuple[str, ...], style: str, secrets: Sequence[str], eol: str) -> Edit:
    if node.flow_style or not node.value:
        brace = _opening_brace(text, node.start_mark.index)
        as_json = _is_json(node) or not node.value
        quote = json.dumps if as_json else str
        rendered = _flow_value(style, secrets, as_json)
        for key in reversed(keys[1:]):
            rendered = "{" + quote(key) + ": " + rendered + "}"
        rendered = quote(keys[0]) + ": " + rendered
        if node.value:  # before the first key: no trailing space when that key is on the next line
            position = node.value[0][0].start_mark.index
            return Edit(position, position, rendered + ", ")
        return Edit(brace + 1, brace + 1, rendered)
    first_key = node.value[0][0]
    position, column = first_key.start_mark.index, first_key.start_mark.column
    line_start = text.rfind("\n", 0, position) + 1
    if text[line_start:position].rstrip().endswith("?"):  # an explicit key ("? containers"): go before the "?"
        position = text.rindex("?", line_start, position)
        column = position - line_start
    sequence_indent = 0 if _indentless(node) else 2
    lines: list[str] = []
    for depth, key in enumerate(keys):
        lines.append(f"{' ' * (column + 2 * depth) if depth else ''}{key}:{eol}")
    inner = column + 2 * (len(keys) - 1)
    if style == "name":
        lines.append(f"{' ' * (inner + 2)}name: {_scalar(secrets[0])}{eol}")
    else:
        lines += [f"{' ' * (inner + sequence_indent)}- {_block_item(style, s)}{eol}" for s in secrets]
    lines.append(" " * column)
    return Edit(position, position, "".join(lines))


def _dash_column(text: str, seq: SequenceNode) -> int:
    """Column of a block sequence's first "-" (its start mark may be an anchor or tag before it)."""
    position = seq.start_mark.index
    while text[position] in "&!":  # skip properties and the line break after them
        while text[position] not in " \t\r\n":
            position += 1
        while text[position] in " \t\r\n":
            position += 1
    return position - (text.rfind("\n", 0, position) + 1)


def _indentless(node: MappingNode) -> bool:
    """Follow the document's own habit: are block sequences at the key's column?"""
    for key, value in node.value:
        if isinstance(value, SequenceNode) and not value.flow_style and value.value:
            return bool(value.start_mark.column == key.start_mark.column)
    return False


def _entry_name(item: Node, style: str) -> str | None:
    if style == "strings":
        return item.value if isinstance(item, ScalarNode) else None
    name = get(item, "name")
    return name.value if isinstance(name, ScalarNode) else None


def _block_item(style: str, secret: str) -> str:
    return _scalar(secret) if style == "strings" else f"name: {_scalar(secret)}"


def _flow_item(style: str, secret: str, as_json: bool) -> str:
    """JSON in JSON documents (quoted keys), YAML's own flow style elsewhere."""
    scalar = json.dumps(secret) if as_json else _scalar(secret)
    if style == "strings":
        return scalar
    return '{"name": ' + scalar + "}" if as_json else "{name: " + scalar + "}"


def _flow_value(style: str, secrets: Sequence[str], as_json: bool) -> str:
    if style == "name":
        return _flow_item("names", secrets[0], as_json)
    return "[" + ", ".join(_flow_item(style, s, as_json) for s in secrets) + "]"


def _is_json(node: MappingNode) -> bool:
    return bool(node.value) and all(isinstance(k, ScalarNode) and k.style == '"' for k, _ in node.value)


@functools.lru_cache(maxsize=64)
def _scalar(secret: str) -> str:
    """Plain where YAML reads it as a string (``regcred``), quoted where it would not (``1e3``, ``true``)."""
    import yaml

    return secret if isinstance(yaml.safe_load(secret), str) else json.dumps(secret)


def _opening_brace(text: str, position: int) -> int:
    while text[position] != "{":  # skip an anchor or tag
        position += 1
    return position


def _content_end(text: str, node: Node) -> int:
    """Where a node's own characters end.  A block collection's end mark sits at the next
    token (often the start of a later line), so follow its last entry down to a scalar;
    an alias on the way ends at its ``*name`` token, not at the anchored node."""
    while True:
        if isinstance(node, MappingNode) and node.value and not node.flow_style:
            key, value = node.value[-1]
            if isinstance(value, ScalarNode) and value.value == "" and value.style == "":
                return int(key.end_mark.index)  # "name:" with no value: its mark may sit on a later line
            alias = alias_span(text, node, key.value, value) if isinstance(key, ScalarNode) else None
            if alias:
                return alias[1]
            node = value
        elif isinstance(node, SequenceNode) and node.value and not node.flow_style:
            alias = alias_span(text, node, len(node.value) - 1, node.value[-1])
            if alias:
                return alias[1]
            node = node.value[-1]
        else:
            return int(node.end_mark.index)


def _end_of_line(text: str, position: int) -> int:
    newline = text.find("\n", position)
    return len(text) if newline == -1 else newline + 1


def _line_ending(text: str, node: Node) -> str:
    newline = text.find("\n", node.start_mark.index)
    return "\r\n" if newline > 0 and text[newline - 1] == "\r" else "\n"

