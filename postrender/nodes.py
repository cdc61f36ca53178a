"""Small helpers over PyYAML's composed nodes (positions included).

Duplicate keys: Kubernetes and Helm take the last value, so lookups here do too.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from sys import intern

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = ["MappingNode", "Node", "Scalar", "ScalarNode", "SequenceNode", "get", "get_key", "get_str", "items", "keys_of", "duplicate_keys"]


@dataclass(frozen=True, slots=True)
class Mark:
    index: int
    line: int  # 0-based, as libyaml counts
    column: int


@dataclass(frozen=True, slots=True)
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


def get_str(node: Node | None, *keys: str) -> str | None:
    """The string at a chain of keys, or None."""
    for key in keys:
        node = get(node, key)
    return node.value if isinstance(node, ScalarNode) else None


def keys_of(node: Node | None) -> list[str]:
    return [k for k, _ in items(node)]


def duplicate_keys(node: Node | None) -> set[str]:
    seen: set[str] = set()
    dups: set[str] = set()
    for key in keys_of(node):
        (dups if key in seen else seen).add(key)
    return dups
