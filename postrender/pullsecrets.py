"""Pull secrets: the text to insert so every pod spec lists each configured secret.

Existing entries keep their order and bytes; missing names are appended after
them; a missing field (and missing parent keys, e.g. Strimzi's
``template.pod``) is inserted as the mapping's first key, at its indentation,
so the rest of the mapping is untouched.  Flow mappings (JSON documents) get
JSON, which YAML reads the same.

A list that is not written in the pod spec itself is never edited where it is written
(others share it): an alias (``imagePullSecrets: *list``) is replaced by a new list, and a
list brought by a merge key (``<<: *defaults``) gets an own key after the merge; either
holds the shared entries plus ours.  Lines are found as YAML finds them (``\r``, NEL,
U+2028 and U+2029 end lines too).
"""
from __future__ import annotations

import functools
import json
import re
from sys import intern
from collections.abc import Sequence

from .errors import InputError
from .finder import SecretSite, alias_span
from .nodes import MappingNode, Node, ScalarNode, SequenceNode, alias_tokens, get, get_key, is_merge_key, is_null, written
from .splice import Edit

BREAKS = "\r\n\x85\u2028\u2029"  # what libyaml (and go-yaml) read as line breaks
_BREAK = re.compile("\r\n|[" + BREAKS + "]")
COPY_LIMIT = 10_000  # nodes of a shared list copied into a new one (aliases can multiply them)


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
        if child is None or is_null(child):
            return current, field[depth:]
        if not isinstance(child, MappingNode):
            return None, ()
        current = child
    return current, field[-1:]


def _edit_for(text: str, site: SecretSite, node: MappingNode, keys: tuple[str, ...], secrets: Sequence[str], warnings: list[str]) -> Edit | None:
    eol = _line_ending(text, node)
    key_node = get_key(node, keys[0])
    existing = get(node, keys[0]) if key_node is not None else None
    if len(keys) == 1 and key_node is not None and existing is not None:
        if not any(k is key_node for k, _ in written(node)):  # brought by a merge key
            rendered = _new_value(text, site, existing, secrets, _is_json(node), warnings)
            return None if rendered is None else _after_merges(text, node, f"{_key(keys[0], node)}: {rendered}", eol)
        alias = alias_span(text, node, keys[0], existing)
        if alias is not None:
            rendered = _new_value(text, site, existing, secrets, _is_json(node), warnings)
            return None if rendered is None else Edit(alias[0], alias[1], rendered)
        return _extend_existing(text, site, node, keys[0], secrets, eol, warnings)
    if len(keys) > 1 and is_null(existing):  # "template:" with nothing in it: fill it in place
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
    if site.style == "string":
        return _fill_string(text, node, key, value, secrets)
    if is_null(value):
        assert isinstance(value, ScalarNode)
        rendered = _flow_value(site.style, secrets, _is_json(node))
        return _set_null(text, node, key, value, rendered)
    missing = _missing(site, value, secrets, warnings)
    if not missing:
        return None
    assert isinstance(value, SequenceNode)
    if value.flow_style:
        close = value.end_mark.index - 1
        if text[close] != "]":
            return None
        body = ", ".join(_flow_item(site.style, s, _is_json(node)) for s in missing)
        if not value.value:
            opening = _skip_properties(text, value.start_mark.index)[0]
            return Edit(opening + 1, opening + 1, body)
        last = len(value.value) - 1
        alias = alias_span(text, value, last, value.value[last])
        last_end = alias[1] if alias else value.value[last].end_mark.index
        between = text[last_end:close]
        if "#" in between:  # a comment before "]": the new entries go right after the last one
            return Edit(last_end, last_end, ", " + body)
        separator = " " if between.strip() == "," else ", "  # after a trailing comma, or not
        return Edit(close, close, separator + body)
    last_end = _content_end(text, value)
    position = last_end if text[last_end - 1] in BREAKS else _end_of_line(text, last_end)
    indent = " " * _dash_column(text, value)
    lines = "".join(f"{indent}- {_block_item(site.style, s)}{eol}" for s in missing)
    if position == len(text) and not text.endswith(tuple(BREAKS)):
        lines = eol + lines
    return Edit(position, position, lines)


def _new_value(text: str, site: SecretSite, value: Node, secrets: Sequence[str], as_json: bool, warnings: list[str]) -> str | None:
    """The whole new value, in flow style, of a field written elsewhere (an alias, a merge):
    its own entries copied, ours after them; None when nothing is missing."""
    if site.style == "name":
        if names_one("name", value):
            return None
        return _flow_value("name", secrets, as_json)
    if site.style == "string":
        return None if names_one("string", value) else _flow_value("string", secrets, as_json)
    if is_null(value):
        return _flow_value(site.style, secrets, as_json)
    missing = _missing(site, value, secrets, warnings)
    if not missing:
        return None
    assert isinstance(value, SequenceNode)
    budget = [COPY_LIMIT]
    try:
        entries = [_flow_copy(text, item, as_json, budget) for item in value.value]
    except _TooLarge:
        raise InputError(f"{site.doc.where(value, site.path)}: {site.field[-1]} is shared with another place and holds more than "
                         f"{COPY_LIMIT} values through aliases; too large to copy") from None
    return "[" + ", ".join(entries + [_flow_item(site.style, s, as_json) for s in missing]) + "]"


def _missing(site: SecretSite, value: Node | None, secrets: Sequence[str], warnings: list[str]) -> list[str] | None:
    """The secrets a list does not name yet; None (and a warning) when it is no list."""
    if not isinstance(value, SequenceNode):
        warnings.append(f"{site.doc.where(value, site.path)}: {site.field[-1]} is not a list; pull secrets not added")
        return None
    present = {_entry_name(item, site.style) for item in value.value}
    return [s for s in secrets if s not in present]


class _TooLarge(Exception):
    pass


_FLOW_PLAIN = re.compile(r"[A-Za-z0-9_./+=~$^()][^,\[\]{}#:\s]*\Z")  # plain in flow context as in block context


def _flow_copy(text: str, node: Node, as_json: bool, budget: list[int]) -> str:
    """``node`` written in flow style with the same value (and explicit tag) as where it is written."""
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooLarge()
    tagged = _skip_properties(text, node.start_mark.index)[1]
    if isinstance(node, MappingNode):
        rendered = "{" + ", ".join(f"{_flow_copy(text, k, as_json, budget)}: {_flow_copy(text, v, as_json, budget)}"
                                   for k, v in node.value) + "}"
    elif isinstance(node, SequenceNode):
        rendered = "[" + ", ".join(_flow_copy(text, item, as_json, budget) for item in node.value) + "]"
    elif isinstance(node, ScalarNode) and not node.style and not tagged and not node.value:
        rendered = "null"
    elif isinstance(node, ScalarNode) and not node.style and not tagged and not as_json and _FLOW_PLAIN.match(node.value):
        rendered = node.value
    else:
        rendered = json.dumps(node.value, ensure_ascii=False)
    return f"!<{node.tag}> {rendered}" if tagged else rendered


def _after_merges(text: str, node: MappingNode, line: str, eol: str) -> Edit:
    """Insert ``key: value`` right after the mapping's last merge key: go-yaml applies a merge
    where it is written, so a key before it would be overridden by what it brings."""
    key, value = [(k, v) for k, v in written(node) if is_merge_key(k, text)][-1]
    alias = alias_tokens(text).after_key.get(key.start_mark.index) if value.start_mark.index < key.end_mark.index else None
    end = alias[1] if alias else _content_end(text, value)
    if node.flow_style:
        return Edit(end, end, ", " + line)
    position = end if text[end - 1] in BREAKS else _end_of_line(text, end)
    lead = eol if position == len(text) and not text.endswith(tuple(BREAKS)) else ""
    return Edit(position, position, f"{lead}{' ' * key.start_mark.column}{line}{eol}")


def _key(key: str, node: MappingNode) -> str:
    return json.dumps(key) if _is_json(node) else key


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
        if value.flow_style or not written(value):
            brace = _opening_brace(text, value.start_mark.index)
            return Edit(brace + 1, brace + 1, f"name: {_scalar(secrets[0])}" + (", " if written(value) else ""))
        first = written(value)[0][0]
        return Edit(first.start_mark.index, first.start_mark.index, f"name: {_scalar(secrets[0])}{eol}{' ' * first.start_mark.column}")
    if is_null(value):
        assert isinstance(value, ScalarNode)
        rendered = _flow_value("name", secrets, _is_json(node))
        return _set_null(text, node, key, value, rendered)
    return None


def names_one(style: str, value: Node | None) -> bool:
    """A one-secret field (style ``name``: ``{name: x}``; ``string``: ``x``) that already names a
    secret: the user's choice, kept by post-render and accepted by ``check``."""
    if style == "name":
        return isinstance(value, MappingNode) and get(value, "name") is not None
    return isinstance(value, ScalarNode) and not is_null(value) and value.value != ""


def _fill_string(text: str, node: MappingNode, key: str, value: Node | None, secrets: Sequence[str]) -> Edit | None:
    """A one-name field (KubeVirt's ``containerDisk.imagePullSecret: x``): a name already there is
    the user's choice; an empty one (``""``, ``~``, nothing) gets the first secret."""
    if not isinstance(value, ScalarNode) or names_one("string", value):
        return None
    rendered = _flow_value("string", secrets, _is_json(node))
    if is_null(value):
        return _set_null(text, node, key, value, rendered)
    return Edit(value.start_mark.index, value.end_mark.index, rendered)


def _insert_keys(text: str, node: MappingNode, keys: tuple[str, ...], style: str, secrets: Sequence[str], eol: str) -> Edit:
    pairs = written(node)  # by position: a merged key is written in another mapping
    if node.flow_style or not pairs:
        brace = _opening_brace(text, node.start_mark.index)
        as_json = _is_json(node) or not pairs
        quote = json.dumps if as_json else str
        rendered = _flow_value(style, secrets, as_json)
        for key in reversed(keys[1:]):
            rendered = "{" + quote(key) + ": " + rendered + "}"
        rendered = quote(keys[0]) + ": " + rendered
        if pairs:  # before the first key: no trailing space when that key is on the next line
            position = pairs[0][0].start_mark.index
            return Edit(position, position, rendered + ", ")
        return Edit(brace + 1, brace + 1, rendered)
    first_key = pairs[0][0]
    position, column = first_key.start_mark.index, first_key.start_mark.column
    line_start = _line_start(text, position)
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
    elif style == "string":
        lines[-1] = lines[-1][:-len(eol)] + f" {_scalar(secrets[0])}{eol}"
    else:
        lines += [f"{' ' * (inner + sequence_indent)}- {_block_item(style, s)}{eol}" for s in secrets]
    lines.append(" " * column)
    return Edit(position, position, "".join(lines))


def _dash_column(text: str, seq: SequenceNode) -> int:
    """Column of a block sequence's first "-" (its start mark may be an anchor or tag before it)."""
    position = _skip_properties(text, seq.start_mark.index)[0]
    return position - _line_start(text, position)


def _skip_properties(text: str, position: int) -> tuple[int, bool]:
    """Where a node's content starts, after its anchor and tag (and the line break after them),
    and whether it has a tag."""
    tagged = False
    while position < len(text) and text[position] in "&!":
        tagged = tagged or text[position] == "!"
        while position < len(text) and text[position] not in " \t" + BREAKS:
            position += 1
        while position < len(text) and text[position] in " \t" + BREAKS:
            position += 1
    return position, tagged


def _line_start(text: str, position: int) -> int:
    return max(text.rfind(c, 0, position) for c in BREAKS) + 1


def _indentless(node: MappingNode) -> bool:
    """Follow the document's own habit: are block sequences at the key's column?"""
    for key, value in written(node):
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
    if style == "string":
        return json.dumps(secrets[0]) if as_json else _scalar(secrets[0])
    if style == "name":
        return _flow_item("names", secrets[0], as_json)
    return "[" + ", ".join(_flow_item(style, s, as_json) for s in secrets) + "]"


def _is_json(node: MappingNode) -> bool:
    pairs = written(node)
    return bool(pairs) and all(isinstance(k, ScalarNode) and k.style == '"' for k, _ in pairs)


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
        if isinstance(node, MappingNode) and written(node) and not node.flow_style:
            key, value = written(node)[-1]  # the last pair written here (a merge key's too)
            if isinstance(value, ScalarNode) and value.value == "" and value.style == "" and value.start_mark.index >= key.end_mark.index:
                return int(key.end_mark.index)  # "name:" with no value: its mark may sit on a later line
            alias = alias_tokens(text).after_key.get(key.start_mark.index) if value.start_mark.index < key.end_mark.index else None
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
    found = _BREAK.search(text, position)
    return len(text) if found is None else found.end()


def _line_ending(text: str, node: Node) -> str:
    """The document's own line break for new lines; after NEL or U+2028/9 (not line breaks in
    YAML 1.2) a plain newline."""
    found = _BREAK.search(text, node.start_mark.index)
    return found.group() if found is not None and found.group() in ("\r\n", "\r") else "\n"

