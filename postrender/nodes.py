"""Small helpers over PyYAML's composed nodes (positions included).

Duplicate keys: Kubernetes and Helm take the last value, so lookups here do too.
Merge keys (``<<``) are resolved once per document (:func:`resolve_merges`): a mapping's
``value`` then holds the merged pairs too (lookups see what Kubernetes sees), and
:func:`written` gives the pairs as they are written there (for edits by position).
"""
from __future__ import annotations

import functools
from collections.abc import Iterator
from sys import intern

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .records import record

__all__ = ["MappingNode", "Node", "Scalar", "ScalarNode", "SequenceNode", "get", "get_key", "get_str", "is_blank", "is_null",
           "items", "keys_of",
           "duplicate_keys", "cut_to", "written", "resolve_merges", "alias_tokens", "MergeError"]


@record(frozen=True, slots=True)
class Mark:
    index: int
    line: int  # 0-based, as libyaml counts
    column: int


@record(frozen=True, slots=True)
class Scalar:
    """What the rewrite needs of a scalar node, in plain ints: a few hundred bytes less than
    the node and its marks (a 100 MB stream holds hundreds of thousands of image sites)."""

    value: str
    style: str
    start: int
    end: int
    line: int  # of the start, 0-based as libyaml counts
    column: int

    @classmethod
    def of(cls, node: ScalarNode) -> Scalar:
        mark = node.start_mark
        return cls(intern(node.value), node.style or "", mark.index, node.end_mark.index, mark.line, mark.column)

    @property
    def start_mark(self) -> Mark:
        return Mark(self.start, self.line, self.column)

    @property
    def end_mark(self) -> Mark:
        return Mark(self.end, -1, -1)  # only the index is ever read

    @property
    def span(self) -> tuple[int, int]:
        return self.start, self.end


def items(node: Node | None) -> Iterator[tuple[str, Node]]:
    """(key, value) pairs of a mapping with scalar keys, in document order."""
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if isinstance(key, ScalarNode):
                yield key.value, value


def _last_pair(node: Node | None, key: str) -> tuple[ScalarNode, Node] | None:
    found = None
    if isinstance(node, MappingNode):
        for k, value in node.value:
            if isinstance(k, ScalarNode) and k.value == key:
                found = (k, value)
    return found


def get(node: Node | None, key: str) -> Node | None:
    """The value under ``key``; the last one when the key is duplicated, as Kubernetes does."""
    pair = _last_pair(node, key)
    return pair[1] if pair else None


def get_key(node: Node | None, key: str) -> ScalarNode | None:
    """The key node of the last pair named ``key``."""
    pair = _last_pair(node, key)
    return pair[0] if pair else None


def cut_to(node: MappingNode, paths: list[tuple[str, ...]]) -> MappingNode:
    """A copy of ``node`` holding only what :func:`get` reads along ``paths`` (the last pair of
    each key; a path's end whole): what is judged later, without the rest of the tree."""
    pairs: list[tuple[Node, Node]] = []
    for key in dict.fromkeys(path[0] for path in paths if path):
        pair = _last_pair(node, key)
        if pair is None:
            continue
        rest = [path[1:] for path in paths if path and path[0] == key]
        value = pair[1]
        if all(rest) and isinstance(value, MappingNode):
            value = cut_to(value, rest)
        pairs.append((pair[0], value))
    return MappingNode(node.tag, pairs, node.start_mark, node.end_mark)


NULLS = ("", "~", "null", "Null", "NULL")  # what YAML reads as null, written plain


def is_null(node: Node | None) -> bool:
    """A plain scalar YAML reads as null (an optional field left unset: ``image:``, ``x: ~``)."""
    return isinstance(node, ScalarNode) and node.style == "" and node.value in NULLS


def is_blank(node: Node | None) -> bool:
    """A scalar that sets nothing however written: empty, blanks, or a null word (an operator
    reads ``image: ""`` as ``image:``)."""
    return isinstance(node, ScalarNode) and node.value.strip() in NULLS


def get_str(node: Node | None, *keys: str) -> str | None:
    """The string at a chain of keys, or None."""
    for key in keys:
        node = get(node, key)
    return node.value if isinstance(node, ScalarNode) else None


def keys_of(node: Node | None) -> list[str]:
    return [k for k, _ in items(node)]


def duplicate_keys(node: Node | None) -> set[str]:
    """Keys written twice in this mapping (a merged key overridden here is no duplicate)."""
    seen: set[str] = set()
    dups: set[str] = set()
    for key, _ in written(node) if isinstance(node, MappingNode) else ():
        if isinstance(key, ScalarNode):
            (dups if key.value in seen else seen).add(key.value)
    return dups


# -- merge keys --------------------------------------------------------------------------------
MERGE_TAG = "tag:yaml.org,2002:merge"


class MergeError(Exception):
    """A merge key Kubernetes' decoder refuses; carries the node to locate it."""

    def __init__(self, node: Node, problem: str) -> None:
        super().__init__(problem)
        self.node, self.problem = node, problem


def written(node: MappingNode) -> list[tuple[Node, Node]]:
    """The pairs as written in this mapping, merge keys included (``value`` once merges are resolved)."""
    pairs: list[tuple[Node, Node]] = getattr(node, "written", None) or node.value
    return pairs


def is_merge_key(key: Node, text: str) -> bool:
    """``<<`` written plain (not quoted, no tag of its own), or tagged ``!!merge``."""
    if not isinstance(key, ScalarNode):
        return False
    if key.tag == MERGE_TAG:
        return True
    return key.value == "<<" and not key.style and text[key.start_mark.index:key.start_mark.index + 1] != "!"


def resolve_merges(root: Node, text: str) -> None:
    """Resolve every merge key below ``root`` in place, as Kubernetes' decoder does.

    sigs.k8s.io/yaml decodes with go-yaml v2, which applies each ``<<`` where it is written:
    a merged key overrides the keys before the ``<<`` and is overridden by those after it (the
    YAML 1.1 rule, "the mapping's own keys win", whenever ``<<`` comes first, as it usually
    does); in ``<<: [*a, *b]`` the earlier mapping wins.  So each ``<<`` pair is replaced,
    where it stands, by the pairs it brings (each key once, its winning value), and the
    last-wins lookups of this module see what Kubernetes sees.  The nodes stay where they
    are written, so an image brought by a merge is edited where it is written.
    """
    stack: list[Node] = [root]
    seen: set[int] = set()
    merging: list[MappingNode] = []
    while stack:  # iteratively: documents nest deep; aliases make the tree a graph
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            if any(is_merge_key(k, text) for k, _ in node.value):
                merging.append(node)
            for key, value in node.value:
                stack += (key, value)
        elif isinstance(node, SequenceNode):
            stack += node.value
    done: set[int] = set()
    room = [MERGED_PAIRS]
    for node in merging:
        _flatten(node, text, done, set(), room)


# Pairs merge keys may copy into one document's mappings: each mapping that merges holds its own
# list of them, so 10k mappings merging one 10k-key mapping would hold 100M (800 MB of references).
MERGED_PAIRS = 1_000_000


def _flatten(node: MappingNode, text: str, done: set[int], active: set[int], room: list[int]) -> None:
    if id(node) in done:
        return
    if id(node) in active:
        raise MergeError(node, "a merge key (<<) makes this mapping merge itself")
    active.add(id(node))
    pairs: list[tuple[Node, Node]] = []
    merged_any = False
    for key, value in node.value:
        if not is_merge_key(key, text):
            pairs.append((key, value))
            continue
        merged_any = True
        sources = value.value[::-1] if isinstance(value, SequenceNode) else [value]  # go-yaml: earlier ones win
        brought: list[tuple[Node, Node]] = []
        for source in sources:
            if not isinstance(source, MappingNode):
                raise MergeError(source, "a merge key (<<) takes a mapping or a list of mappings")
            _flatten(source, text, done, active, room)
            brought += source.value
        pairs += _winners(brought)
    if merged_any:
        room[0] -= len(pairs)
        if room[0] < 0:
            raise MergeError(node, f"merge keys (<<) copy more than {MERGED_PAIRS:,} key-value pairs into this document's "
                                   "mappings: too large to process within the memory bound")
        setattr(node, "written", node.value)  # an attribute PyYAML's node class does not declare
        node.value = pairs
    active.discard(id(node))
    done.add(id(node))


def _winners(pairs: list[tuple[Node, Node]]) -> list[tuple[Node, Node]]:
    """Each key once, with its last value (merges of merges stay linear, never exponential)."""
    last: dict[object, int] = {}
    for index, (key, _) in enumerate(pairs):
        last[key.value if isinstance(key, ScalarNode) else id(key)] = index
    return [pairs[i] for i in sorted(last.values())]


# -- aliases -----------------------------------------------------------------------------------
@record(frozen=True)
class AliasTokens:
    """Where each alias is written: the composed alias is its anchor's node, so its own
    ``*name`` token is known only to the parser's events."""

    after_key: dict[int, tuple[int, int]]  # start of the key whose value it is -> span
    in_sequence: dict[tuple[int, int], tuple[int, int]]  # (start of the sequence, item index) -> span


@functools.lru_cache(maxsize=2)
def alias_tokens(text: str) -> AliasTokens:
    """Every alias token of ``text`` (read once per text, only when an alias is met)."""
    import yaml

    after_key: dict[int, tuple[int, int]] = {}
    in_sequence: dict[tuple[int, int], tuple[int, int]] = {}
    frames: list[list[int]] = []  # [is mapping, start, children so far, start of the last key]
    parser = yaml.CBaseLoader(text)
    try:
        while parser.check_event():  # a YAML error in a later document: what came before is all that is asked for
            event = parser.get_event()
            if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                frames.pop()
                continue
            if not isinstance(event, yaml.NodeEvent):
                continue
            assert event.start_mark is not None and event.end_mark is not None  # libyaml marks every event
            start = event.start_mark.index
            if frames:
                frame = frames[-1]
                if frame[0] and frame[2] % 2 == 0:
                    frame[3] = start
                elif isinstance(event, yaml.AliasEvent):
                    span = (start, event.end_mark.index)
                    if frame[0]:
                        after_key[frame[3]] = span
                    else:
                        in_sequence[(frame[1], frame[2])] = span
                frame[2] += 1
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                frames.append([isinstance(event, yaml.MappingStartEvent), start, 0, -1])
    except yaml.YAMLError:
        pass
    finally:
        parser.dispose()
    return AliasTokens(after_key, in_sequence)
