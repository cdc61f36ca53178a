"""Images found by their shape where no rule names the path.

Operators and charts also keep images in ConfigMap and Secret data, in configs embedded
as text (YAML, JSON, TOML inside a string), in split repository/tag settings, and in
custom-resource fields no rule lists.  This module searches those places by shape:

- a string under an image-like key, a fully qualified reference under any key,
  ``--flag=IMAGE`` / ``version=IMAGE`` / list items, ``docker://REF``, ``oci://REF`` (``heuristics.in_text``);
- ``{registry, repository, tag}``-style mappings and ``X_REPOSITORY``/``X_TAG`` keys (``split``);
- an embedded Kubernetes object (a pod template in a ConfigMap) gets the full rule set.

Every find is reported to a ``Sink`` in the coordinates of the scalar written in the stream
(its value decoded first for Secret ``data``), so the splice step edits only those characters.
"""
from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any, Protocol

from . import heuristics, split
from .nodes import MappingNode, Node, ScalarNode, SequenceNode, get, get_str, items
from .paths import PathPart, format_path
from .reference import is_qualified_reference
from .records import record

MAX_EMBEDDED = 4 << 20  # characters: larger strings are not parsed as configs
MAX_DEPTH = 3  # configs embedded in configs
_CONFIG_SUFFIXES = (".yaml", ".yml", ".json", ".toml", ".conf", ".cfg")
_TOML_HINT = re.compile(r"^\s*(?:\[[\w.\"' -]+\]|[\w.\"'-]+\s*=)", re.MULTILINE)
_YAML_HINT = re.compile(r"^[ \t]*(?:- )?[\w\"'./-]+:(?:[ \t]|$)", re.MULTILINE)
# What a string needs before any heuristic can find something in it (see ``may_hold``).
_IMAGE_WORD = re.compile(r"image", re.IGNORECASE)  # (``says_image`` asks the same of a long text, faster)
# A "/" between a registry (its last character: a letter, digit or "]") and a path, or a transport's "://".
_PATH_SLASH = re.compile(r"[\w\]]/\w|://")
_REGISTRY_WORD = re.compile(r"registry|hub", re.IGNORECASE)
# ``may_find``: a long text (a dashboard JSON, a script) is searched only when some shape a find needs is in it.
SCAN_MIN = 512  # characters: shorter strings are searched directly
_WORDS = ("registry", "docker://", "oci://")  # in the lowered text (and "image", but not only as below)
# "image" in a query's label matcher (PromQL ``{container!="", image!=""}`` in Grafana dashboards)
# is no key, flag or name: a text whose every "image" is one holds no image for that word.  A
# matcher compares with a quoted string (its quotes written with escapes or not) and is followed
# by the next matcher or the selector's end: ``image!="x": y``, ``"image!=" = y`` are keys that
# say image.  In the reading with escapes read, where quotes are blanks, an empty string is
# blanks before "}", "," or ")".
# (The lookbehind follows the literal: a pattern that starts with "image" is searched for it in C.)
_IMAGE_MATCHER = re.compile(r"""image(?<![\w-]image)\s*(?:!=|=~|!~)(?:\s*\\*(["'`])(?:(?!\1).)*?\\*\1|[ \t]*)\s*[,})]""")
# Characters that re.IGNORECASE matches to a letter of those words although str.lower() does not make them it.
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s"})
_SLASH = re.compile(r"/[A-Za-z0-9]")  # a path after a registry starts so
# Where libyaml starts a mapping or sequence: a ":", "-" or "?" indicator before a blank (a break,
# the end), or "{", "[", a tag, an anchor, a directive or "---" first on a line (libyaml skips a
# byte order mark at the start of any line, two at the start of the text).
_BLANK = r"[ \t\r\n\x85\u2028\u2029\x00]"
_COLLECTION = re.compile(rf":(?:{_BLANK}|\Z)|(?:\A|[\r\n\x85\u2028\u2029])\ufeff*[ \t]*(?:[-?](?:{_BLANK}|\Z)|[{{\[!&%]|---)")
# A word that is a flag naming an image.  (The lookbehind follows the "-": a pattern that starts
# with a literal is searched for it in C, 11x faster on a ConfigMap of shell scripts.)
_FLAG_IMAGE = re.compile(r"-(?<!\S-)[^\s=]*image", re.IGNORECASE)
_FIRST_PART = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:@+-")  # a reference's characters but "/"
# Escapes of double-quoted YAML, JSON and TOML strings and what they stand for (``_unescape``).
_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|x([0-9A-Fa-f]{2})|(.))", re.DOTALL)
_ESCAPED_CHARACTER = re.compile(r"\\(.)", re.DOTALL)
_NOT_ONE_BY_ONE = frozenset("\\uUx")  # an escaped backslash (it may begin another escape), escapes of several characters
_KEPT = {"/": "/", "\\": "\\", "n": "\n", "r": "\r", "t": "\t", "\t": "\t", "N": "\x85", "L": "\u2028", "P": "\u2029", "_": "\xa0"}
# A backslash ending a line: YAML and TOML join the lines (TOML across empty ones), a shell script goes on.
_ESCAPED_BREAK = re.compile(r"\\[ \t]*[\r\n\x85\u2028\u2029]")


@record(frozen=True, slots=True)
class Found:
    """One reference (or one part of a split one) inside the outer scalar's (decoded) value."""

    offset: int  # where ``old`` starts in the value
    old: str  # the characters to replace
    ref: str  # the whole reference they belong to
    path: str  # where, for people
    how: str  # the heuristic: image-key, qualified, list, qualified-list, flag, transport, split, embedded:<rule>, text
    part: str | None = None  # None: ``old`` is the whole reference; else the split part (split.part_text)
    candidate: bool = False
    qualified: bool = False  # names its registry (and a tag or digest): evidence enough under any key
    why: str | None = None  # how "invalid" (a reference-shaped value under an image key that is none): why it is none


class Sink(Protocol):
    def found(self, found: Found) -> None: ...
    def registry_setting(self, found: Found) -> None: ...
    def left_public(self, path: str, ref: str, why: str) -> None: ...
    def embedded_secrets(self, text: str, findings: Any, to_outer: Callable[[int], int | None]) -> None: ...


def decode_value(value: str, codec: str | None) -> str | None:
    """The text a data value holds: Secret ``data`` is base64; binary content is skipped (None)."""
    if codec != "base64":
        return value
    try:
        raw = base64.b64decode("".join(value.split()), validate=True)
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    return None if "\x00" in text else text


def encode_value(original: str, text: str) -> str:
    """``text`` base64-encoded as ``original`` was written: the same line length when it was wrapped."""
    encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
    lines = original.split("\n")
    width = len(lines[0]) if len(lines) > 1 else 0
    if width <= 0:
        return encoded
    wrapped = "\n".join(encoded[i:i + width] for i in range(0, len(encoded), width))
    return wrapped + ("\n" if original.endswith("\n") else "")


def search_data(values: dict[str, str], sink_for: Callable[[str], Sink], path: Callable[[str], str],
                rules: Any, doc: Any) -> None:
    """A data map (ConfigMap/Secret data, any ``{key: string}`` settings): ``values`` holds each
    key's decoded text; each key's finds go to ``sink_for(key)`` in that value's coordinates."""
    claimed: set[str] = set()
    for registry_key, image_key, ref in split.prefix_pairs(values):
        old, rest = values[registry_key].strip().rstrip("/"), values[image_key].strip()
        sink_for(registry_key).found(Found(values[registry_key].index(old), old, ref, f"{path(registry_key)} (registry of {image_key})",
                                           "split", f"prefix:{rest}", qualified=True))
        claimed |= {registry_key, image_key}
    for members, block in split.flat_blocks(values):
        if claimed & set(members.values()):
            continue
        for part, member in block.parts.items():
            key = members.get(member)  # flat blocks are keyed by part: registry, repository
            if key is None or not values[key].strip():
                continue
            stripped = values[key].strip()
            sink_for(key).found(Found(values[key].index(stripped), stripped, block.ref.normalized,
                                      f"{path(key)} (split: {part})", "split", part, qualified=block.explicit))
        claimed.update(members.values())
    for key, text in values.items():
        if key not in claimed:
            Search(sink_for(key), rules, doc).string(text, key, path(key), same_place, config_name=key)


def may_hold(text: str, key: str, config_name: str = "", image_context: bool = False, depth: int = 0) -> bool:
    """False for a string no search finds anything in, decided before any path is formatted (most
    strings of a dashboard JSON or a custom resource).  Every find needs one of: a "/" that
    could join a registry and a path (a qualified reference, a list of them) or a transport's
    "://", an image context or a key or flag that
    says "image" (``heuristics.in_text``), a registry-setting key, or an embedded config."""
    if depth < MAX_DEPTH and ("\n" in text or text.lstrip()[:1] in ("{", "[") or config_name.lower().endswith(_CONFIG_SUFFIXES)):
        return True  # (asked first: a long config is not scanned twice for words here and in may_find)
    return bool(image_context or ("/" in text and _PATH_SLASH.search(text)) or says_image(text) or _IMAGE_WORD.search(key)
                or _REGISTRY_WORD.search(key))


def search_plan(text: str, key: str, config_name: str, image_context: bool, depth: int) -> str | None:
    """How ``Search.string`` at ``depth`` searches ``text``: "config" (parsed first), "string" (as it
    is), or None (nothing can be found in it); asked before a path is formatted for it."""
    config = depth < MAX_DEPTH and may_be_config(text, config_name)
    if not config:  # a string: the test of what in_text can find first (cheaper, stricter); both must hold
        leaf = may_find(text, key, image_context, leaf=True) and may_hold(text, key, config_name, image_context, depth)
        return "string" if leaf else None
    if not may_hold(text, key, config_name, image_context, depth) or (len(text) >= SCAN_MIN and not may_find(text, key, image_context)):
        return None  # a long text (a dashboard) is parsed and walked only when it can hold a find
    return "config"


def config_like(text: str, config_name: str) -> bool:
    """Whether ``text`` is parsed as an embedded config (YAML, JSON, TOML) before it is searched as a string."""
    stripped = text.lstrip()
    return (bool(stripped) and len(text) <= MAX_EMBEDDED
            and ("\n" in text.strip() or stripped[0] in "{[" or config_name.lower().endswith(_CONFIG_SUFFIXES)))


def may_be_config(text: str, config_name: str) -> bool:
    """``config_like``, less the texts the search would parse only to find a scalar and then search
    as a string anyway (a multi-line query, a script): unnamed, no TOML line, and no YAML
    collection can start in them (see ``_COLLECTION``)."""
    return config_like(text, config_name) and (config_name.lower().endswith(_CONFIG_SUFFIXES) or bool(_TOML_HINT.search(text))
                                                or bool(_COLLECTION.search(text)))


def may_find(text: str, key: str, image_context: bool = False, leaf: bool = False) -> bool:
    """False when no search of ``text`` under ``key`` (the text itself, the config it holds and
    the configs those hold) can find anything: decided on the text, without parsing it.

    Every find needs, in some string or key of it: "image" (an image key, flag, name or context;
    not only in query label matchers such as PromQL's ``image!=""``),
    "registry", or a key ending in "hub", "repository" or "repo" (registry settings, split
    references, ``X_REPO``/``X_TAG`` lines), ``kind`` or
    ``containers`` (an embedded object), ``docker://`` or ``oci://``, or a reference that names
    its registry (``host.domain/x``, ``host:port/x``, ``localhost/x``) where a string or a token
    starts.  A string's characters are in the text as written, or written with escapes in
    double quotes: the text is scanned as written and with its escapes read, once for each level
    of embedding (an escape's backslash may itself be written as an escape).  Lines joined by a
    backslash are not read: such a text is searched.

    A ``leaf`` (a string searched as it is, no config) needs less: a reference naming its
    registry, a transport, "image" in a flag (``--helper-image=x``, ``-image x``), or a line
    ``heuristics.keyed_lines`` reads (``image: x`` in text of several lines): what
    ``heuristics.in_text`` finds under a key that says neither image nor registry."""
    if image_context or _key_may(key):
        return True
    if leaf:
        return ("docker://" in text or "oci://" in text or ("/" in text and _names_registry(text))
                or ("-" in text and bool(_FLAG_IMAGE.search(text)))
                or ("\n" in text and says_image(text) and bool(heuristics.keyed_lines(text)))
                or ("\n" in text and ("epo" in text or "EPO" in text) and bool(heuristics.split_lines(text))))
    for _ in range(MAX_DEPTH + 1):
        if _shaped(text):
            return True
        if "\\" not in text:
            return False
        if _ESCAPED_BREAK.search(text):
            return True  # not worth reading: lines joined or not, the text is searched as it is
        text = _unescaped(text)
    return False


def says_image(text: str) -> bool:
    """Whether "image" is in ``text`` in any case, as ``_IMAGE_WORD`` finds it: ``str.lower`` (in C,
    7x faster on a 34 KB script than the case-blind pattern) after ``_FOLD`` for the letters
    the pattern matches and ``lower`` does not make "i" (only in a text that is not ASCII)."""
    return "image" in (text if text.isascii() else text.translate(_FOLD)).lower()


@functools.lru_cache(maxsize=4096)
def _key_may(key: str) -> bool:
    """A key that says image or registry: its value may be anything a search finds (keys repeat: cached)."""
    return bool(_IMAGE_WORD.search(key) or _REGISTRY_WORD.search(key))


def _shaped(text: str) -> bool:
    """One reading of a text holds a shape ``may_find`` looks for."""
    lowered = text.translate(_FOLD).lower()
    if any(word in lowered for word in _WORDS):
        return True
    images = lowered.count("image")
    if images and images != len(_IMAGE_MATCHER.findall(lowered)):
        return True
    return (_word_at(lowered, "hub", "_", ends=False) or _word_at(lowered, "repository", "_") or _word_at(lowered, "repo", "_")
            or _word_at(text, "kind") or _word_at(text, "containers") or _names_registry(text))


def _names_registry(text: str) -> bool:
    """A reference naming its registry may start in ``text``: ``a.b/c``, ``a:1/c``, ``localhost/c``."""
    for match in _SLASH.finditer(text):
        end = start = match.start()
        while start and text[start - 1] in _FIRST_PART:
            start -= 1
        first = text[start:end]
        # a token starts after a character that is no part of a reference, or after a ":" (``{"a":b.c/d}``)
        if ("." in first or ":" in first or first.endswith("localhost")) and (start == 0 or text[start - 1] != "/" or ":" in first):
            return True
    return False


def _word_at(text: str, word: str, joins: str = "", ends: bool = True) -> bool:
    """``word`` as a whole key (after and, with ``ends``, before no word character), or the end of
    one after a character of ``joins`` (``hub``, ``x_hub``, ``x.hub``, ``X_REPO``; not ``github``, ``report``)."""
    at = text.find(word)
    while at != -1:
        after = at + len(word)
        if at == 0 or not (text[at - 1].isalnum() or text[at - 1] == "_") or text[at - 1] in joins:
            if not ends or after == len(text) or not (text[after].isalnum() or text[after] == "_"):
                return True
        at = text.find(word, at + 1)
    return False


def _unescaped(text: str) -> str:
    """``text`` with its escapes read (``_unescape``).  Where every escape is one character other
    than a backslash, "u", "U" or "x" (``\\"`` and ``\\n``: JSON kept in YAML, most dashboards), no
    two escapes share a character, so each kind is read by ``str.replace``, in C."""
    escaped = set(_ESCAPED_CHARACTER.findall(text))
    if escaped & _NOT_ONE_BY_ONE:
        return _ESCAPE.sub(_unescape, text)
    for character in escaped:
        text = text.replace("\\" + character, _KEPT.get(character, " "))
    return text


def _unescape(match: re.Match[str]) -> str:
    """An escape's character; one of whitespace, quotes or controls that no shape holds is a space
    (a line break stays one: it may end a line after a backslash one level down)."""
    group = match.lastindex or 4  # (the one group of the alternative that matched: never none)
    value = match.group(group)
    if group == 4:
        return _KEPT.get(value, " ")
    code = int(value, 16)
    return chr(code) if code <= 0x10FFFF else " "


def value_name(scalars: dict[str, ScalarNode]) -> str | None:
    """``{name: X_IMAGE, value: ...}`` (env vars, params): the value is read under its name."""
    name = scalars.get("name")
    return name.value if name is not None and "value" in scalars else None


def _split_label(label: str | None) -> tuple[str | None, str | None]:
    """``split: name of docker.io/apache/airflow:2.9.3`` (``heuristics.split_lines``): the part and
    the joined reference; (None, None) for any other label."""
    if not label or not label.startswith("split: ") or " of " not in label:
        return None, None
    part, _, joined = label.removeprefix("split: ").partition(" of ")
    return part, joined


def same_place(offset: int, old: str) -> int:
    """``to_outer`` for a string searched where it is written: its coordinates are the outer ones."""
    return offset


class Search:
    """One outer value: searches its text and reports finds (in its coordinates) to ``sink``."""

    def __init__(self, sink: Sink, rules: Any, doc: Any, depth: int = 0) -> None:
        self.sink, self.rules, self.doc, self.depth = sink, rules, doc, depth
        self.outer_tags: dict[int, str] = {}  # id of an image mapping -> the tag kept beside it

    # -- one string --------------------------------------------------------------------------
    def string(self, text: str, key: str, path: str, to_outer: Callable[[int, str], int | None],
               config_name: str = "", image_context: bool = False) -> None:
        plan = search_plan(text, key, config_name, image_context, self.depth)
        if plan is None:
            return
        if plan == "config" and (self._embedded(text, key, path, to_outer, config_name) or not may_find(text, key, image_context, leaf=True)):
            return  # searched as a config, or it holds only scalars and nothing a string search finds
        registry = heuristics.registry_setting(key, text)
        if registry is not None:
            outer = to_outer(text.index(registry), registry)
            if outer is not None:
                self.sink.registry_setting(Found(outer, registry, registry, path, "registry-setting"))
            return
        keyed = image_context or heuristics.key_says_image(key)
        images, mentions = heuristics.in_text(text, "image" if image_context else key)
        for offset, ref, label in images:
            if label and "://" in label:
                how = "transport"
            elif label and label.startswith(("after -", "value of")):
                how = "flag"
            elif label:
                how = "list" if keyed else "qualified-list"
            else:
                how = "image-key" if keyed else "qualified"
            self._report(Found(offset, ref, ref, f"{path} ({label})" if label else path, how,
                               qualified=is_qualified_reference(ref) or how == "transport"), to_outer)
        for offset, ref, label in mentions:
            part, joined = _split_label(label)  # a repository line whose tag is another line: the mirror needs both
            host_port = label == heuristics.HOST_PORT_LABEL  # a whole value, not free text
            self._report(Found(offset, ref, joined or ref, f"{path} ({label})", "host-port" if host_port else "text", part,
                               candidate=True, qualified=not host_port), to_outer)
        if keyed and not images and not mentions:
            # shaped like a reference under an image key, but none Docker accepts (an upper-case
            # repository, a tag over 128 characters): reported as a pod spec's image field would be
            stripped = text.strip()
            why = heuristics.malformed_reference(stripped)
            if why is not None:
                self._report(Found(text.index(stripped), stripped, stripped, path, "invalid", why=why), to_outer)

    def embedded_only(self, text: str, key: str, path: str) -> None:
        """Search ``text`` only if it is an embedded config (annotation values: plain ones are labels of a sort)."""
        if self.depth < MAX_DEPTH and (len(text) < SCAN_MIN or may_find(text, key)):
            self._embedded(text, key, path, same_place, key)

    def _report(self, found: Found, to_outer: Callable[[int, str], int | None]) -> None:
        outer = to_outer(found.offset, found.old)
        if outer is None:
            self.sink.left_public(found.path, found.ref, "it is written with escapes, so it cannot be edited in place")
            return
        self.sink.found(replace(found, offset=outer))

    def _split(self, block: split.Block, parts: dict[str, tuple[Any, str]], to_outer: Callable[[Any, int, str], int | None],
               path: Callable[[Any], str], how: str, candidate: bool = False) -> None:
        """Report a split reference's registry and repository values (the tag stays)."""
        ref = block.ref.normalized
        for part, key in block.parts.items():
            if key not in parts:
                continue
            where, value = parts[key]
            stripped = value.strip()
            if not stripped:
                continue
            offset = value.index(stripped)
            outer = to_outer(where, offset, stripped)
            if outer is None:
                self.sink.left_public(path(where), ref, "it is written with escapes, so it cannot be edited in place")
                continue
            self.sink.found(Found(outer, stripped, ref, f"{path(where)} (split: {part})", how, part, candidate, block.explicit))

    def _report_unsearched(self, text: str, key: str, path: str, why: str) -> None:
        """A config read only as text: what looks like a reference in it is left public, said."""
        images, mentions = heuristics.in_text(text, key)
        if images or mentions:
            _, ref, label = (images or mentions)[0]
            self.sink.left_public(path, _split_label(label)[1] or ref, why)

    # -- embedded configs --------------------------------------------------------------------
    def _embedded(self, text: str, key: str, path: str, to_outer: Callable[[int, str], int | None], config_name: str) -> bool:
        """Parse ``text`` as YAML, JSON or TOML when it looks like a config; search it; True if it was one."""
        if not config_like(text, config_name):
            return False
        stripped = text.lstrip()
        named = config_name.lower().endswith(_CONFIG_SUFFIXES)
        if config_name.lower().endswith(".toml") or (not _YAML_HINT.search(text) and stripped[0] not in "{[" and _TOML_HINT.search(text)):
            return self._toml(text, path, to_outer)
        if _too_many_nodes(text):  # composed, it would cost far more than the memory bound allows: read as text
            self._report_unsearched(text, key, path, "the embedded config is too large to search within the memory bound")
            return True
        roots = _compose_all(text)
        if roots is None:
            if stripped[0] in "{[" or named:
                self._report_unsearched(text, key, path, "the embedded config does not parse, so it is not searched")
                return True
            return False
        if not any(isinstance(root, (MappingNode, SequenceNode)) for root in roots):
            return False
        for root in roots:
            if isinstance(root, (MappingNode, SequenceNode)):
                self._tree(root, text, path, to_outer)
        return True

    def _tree(self, root: Node, text: str, path: str, to_outer: Callable[[int, str], int | None]) -> None:
        inner = _InnerCoordinates(text, to_outer)
        if isinstance(root, MappingNode) and self._kubernetes_object(root, text, path, inner):
            return
        for node, parts, parent_key in _walk(root):
            if isinstance(node, MappingNode):
                self._mapping(node, parts, parent_key, path, inner)
            elif isinstance(node, SequenceNode):
                image_context = heuristics.key_says_image(parent_key)
                for index, item in enumerate(node.value):
                    if isinstance(item, ScalarNode) and item.value and search_plan(item.value, parent_key, parent_key, image_context, self.depth + 1):
                        self._scalar(item, parent_key, f"{path} > {format_path((*parts, index))}", inner, image_context)

    def _mapping(self, node: MappingNode, parts: tuple[PathPart, ...], parent_key: str, path: str, inner: _InnerCoordinates) -> None:
        scalars = {key: value for key, value in items(node) if isinstance(value, ScalarNode)}
        for key, child in items(node):
            tag_key = split.sibling_tag({k: v.value for k, v in scalars.items()}, key) if isinstance(child, MappingNode) else None
            if tag_key is not None:
                self.outer_tags[id(child)] = scalars[tag_key].value
        named = value_name(scalars)
        values: dict[str, object] = {k: v.value for k, v in scalars.items()}
        if id(node) in self.outer_tags and "tag" not in values:
            values["tag"] = self.outer_tags[id(node)]
        block = split.find_block(values, heuristics.key_says_image(parent_key))
        claimed: set[str] = set()
        if block is not None:
            self._split(block, {k: (k, v.value) for k, v in scalars.items()},
                        lambda key, offset, old: inner.map(scalars[key], offset, old),
                        lambda key: f"{path} > {format_path((*parts, key))}", "split")
            claimed = {k for k in (block.registry_key, block.name_key) if k}
        for key, value in scalars.items():
            shown = named if key == "value" and named else key
            if key not in claimed and value.value and search_plan(value.value, shown, shown, False, self.depth + 1):
                self._scalar(value, shown, f"{path} > {format_path((*parts, key))}", inner, False)

    def _scalar(self, node: ScalarNode, key: str, path: str, inner: _InnerCoordinates, image_context: bool) -> None:
        Search(self.sink, self.rules, self.doc, self.depth + 1).string(
            node.value, key, path, lambda offset, old: inner.map(node, offset, old), config_name=key, image_context=image_context)

    def _kubernetes_object(self, root: MappingNode, text: str, path: str, inner: _InnerCoordinates) -> bool:
        """A pod, a pod template or any object with ``kind``: the full rule set, pull secrets included."""
        from .finder import DocContext, Findings, find  # (finder imports this module)

        kind, api_version = get_str(root, "kind"), get_str(root, "apiVersion")
        spec = get(root, "spec")
        if kind is None and isinstance(get(spec, "containers"), SequenceNode):
            kind, api_version = "Pod", "v1"  # a pod template: {metadata, spec: {containers}}
        if kind is None or not self.rules.for_kind(api_version or "v1", kind):
            return False
        metadata = get(root, "metadata")
        ctx = DocContext(index=self.doc.index, template=self.doc.template, kind=kind, name=get_str(metadata, "name"),
                         namespace=get_str(metadata, "namespace"), api_version=api_version or "v1", hook=self.doc.hook)
        findings = Findings()
        find(root, ctx, self.rules, findings, text=text)
        for site in findings.sites:
            where = f"{path} > {site.path}"
            if site.alias is not None:
                self.sink.left_public(where, site.text, "it is reached through an alias inside an embedded config")
                continue
            outer = inner.map(site.node, site.offset, site.old or site.text)
            if outer is None:
                self.sink.left_public(where, site.text, "it is written with escapes, so it cannot be edited in place")
                continue
            self.sink.found(Found(outer, site.old or site.text, site.text, where, f"embedded:{site.rule}", site.part,
                                  site.candidate, True))
        for message in findings.not_references + findings.left_public:
            self.sink.left_public(path, "", message)
        if findings.secrets:
            if self.depth:
                self.sink.left_public(path, "", "pull secrets are not added to an object embedded this deep")
            else:
                self.sink.embedded_secrets(text, findings, inner.offset)
        return True

    # -- TOML --------------------------------------------------------------------------------
    def _toml(self, text: str, path: str, to_outer: Callable[[int, str], int | None]) -> bool:
        """TOML has no positions in the standard parser: values are found in the parsed data,
        then located as quoted strings in the text (an ambiguous one is reported, not guessed)."""
        try:
            import tomllib
        except ImportError:  # Python 3.10
            import tomli as tomllib  # type: ignore[no-redef]
        try:
            data = tomllib.loads(text)
        except (tomllib.TOMLDecodeError, ValueError):
            return False
        finds: list[Found] = []
        sink = _Collect(finds, self.sink)
        search = Search(sink, self.rules, self.doc, self.depth + 1)
        for value, key, where, image_context in _toml_strings(data):
            found_before = len(finds)
            search.string(value, key, f"{path} > {where}", lambda offset, old: offset, image_context=image_context)
            for found in finds[found_before:]:
                found_at = _toml_locate(text, value)
                if found_at is None:
                    self.sink.left_public(found.path, found.ref, "its TOML string cannot be located exactly, so it is not edited")
                    continue
                outer = to_outer(found_at + found.offset, found.old)
                if outer is None:
                    self.sink.left_public(found.path, found.ref, "it cannot be edited in place")
                    continue
                self.sink.found(replace(found, offset=outer))
        return True


class _Collect:
    """A sink that keeps finds for the caller to place (TOML)."""

    def __init__(self, finds: list[Found], outer: Sink) -> None:
        self.finds, self.outer = finds, outer

    def found(self, found: Found) -> None:
        self.finds.append(found)

    def registry_setting(self, found: Found) -> None:
        self.outer.left_public(found.path, found.ref, "a registry setting in TOML is not rewritten")

    def left_public(self, path: str, ref: str, why: str) -> None:
        self.outer.left_public(path, ref, why)

    def embedded_secrets(self, text: str, findings: Any, to_outer: Callable[[int], int | None]) -> None:
        self.outer.left_public("", "", "pull secrets cannot be added to an object embedded in TOML")


def _toml_strings(data: Any, key: str = "", parts: tuple[PathPart, ...] = (), image_context: bool = False) -> Iterator[tuple[str, str, str, bool]]:
    """(value, key, path, image context) for every string of parsed TOML; split tables are joined here."""
    if isinstance(data, dict):
        block = split.find_block(data, heuristics.key_says_image(key))
        for child_key, value in data.items():
            child = (*parts, child_key)
            if block is not None and child_key in (block.name_key, block.registry_key):
                continue  # TOML split references: reported as left public below
            yield from _toml_strings(value, child_key, child, False)
        if block is not None:
            yield block.ref.normalized, "image", format_path(parts) or "(top level)", True
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from _toml_strings(item, key, (*parts, index), heuristics.key_says_image(key))
    elif isinstance(data, str):
        yield data, key, format_path(parts), image_context


def _toml_locate(text: str, value: str) -> int | None:
    """Where ``value``'s characters start in the TOML text: its one quoted occurrence, else None."""
    matches = [m.start() + 1 for m in re.finditer(r"([\"'])" + re.escape(value) + r"\1", text)]
    return matches[0] if len(matches) == 1 else None


class _InnerCoordinates:
    """Maps a find in a node of an embedded config (its value's coordinates) to the outer value."""

    def __init__(self, text: str, to_outer: Callable[[int, str], int | None]) -> None:
        self.text, self.to_outer = text, to_outer

    def map(self, node: Any, offset: int, old: str) -> int | None:
        from .splice import verbatim_position

        at = verbatim_position(self.text, node, offset, old)
        return None if at is None else self.to_outer(at, old)

    def offset(self, position: int) -> int | None:
        """An offset in the embedded text as an offset in the outer value (pull-secret insertions)."""
        return self.to_outer(position, "")


EMBEDDED_NODES = 100_000  # about 40 MiB composed; Grafana dashboards hold about one node per 10 characters


def _too_many_nodes(text: str) -> bool:
    """More than ``EMBEDDED_NODES`` (counted by libyaml in C, without building them); a text of fewer
    than ``2 * EMBEDDED_NODES`` characters cannot hold that many ('[],' is the densest)."""
    if len(text) < 2 * EMBEDDED_NODES:
        return False
    from .bounds import count_nodes

    count = count_nodes(text.encode("utf-8", "surrogatepass"))
    return count is not None and count > EMBEDDED_NODES


def _compose_all(text: str) -> list[Node] | None:
    import yaml

    try:
        return list(yaml.compose_all(text, Loader=yaml.CSafeLoader))
    except (yaml.YAMLError, RecursionError, ValueError):
        return None


def _walk(root: Node) -> Iterator[tuple[Node, tuple[PathPart, ...], str]]:
    """Every collection below ``root`` with its path and the key it sits under (iteratively)."""
    stack: list[tuple[Node, tuple[PathPart, ...], str]] = [(root, (), "")]
    seen: set[int] = set()
    while stack:
        node, parts, key = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node, parts, key
        if isinstance(node, MappingNode):
            for k, v in reversed(node.value):
                if isinstance(k, ScalarNode) and not isinstance(v, ScalarNode):
                    stack.append((v, (*parts, k.value), k.value))
        elif isinstance(node, SequenceNode):
            for index in range(len(node.value) - 1, -1, -1):
                if not isinstance(node.value[index], ScalarNode):
                    stack.append((node.value[index], (*parts, index), key))

