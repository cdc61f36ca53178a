"""nodes: merge keys resolved as Kubernetes' decoder (go-yaml v2) does, the pairs as written
kept for edits, and alias tokens found where they are written (not in comments)."""
from __future__ import annotations

import pytest
import yaml

from postrender.nodes import MappingNode, MergeError, ScalarNode, alias_tokens, duplicate_keys, get, get_str, resolve_merges, written


def _compose(text: str) -> MappingNode:
    root = yaml.compose(text, Loader=yaml.CBaseLoader)
    assert isinstance(root, MappingNode)
    resolve_merges(root, text)
    return root


def _plain(node: object) -> object:
    if isinstance(node, MappingNode):
        return {k.value: _plain(get(node, k.value)) for k, _ in node.value}
    if isinstance(node, ScalarNode):
        return node.value
    return [_plain(n) for n in node.value]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("text", "expected"), [
    ("a: &a {x: 1, y: 1}\nc: {<<: *a, y: 2}\n", {"x": "1", "y": "2"}),  # own keys win
    ("a: &a {x: 1}\nb: &b {x: 2, z: 2}\nc: {<<: [*a, *b]}\n", {"x": "1", "z": "2"}),  # earlier mapping wins
    ("a: &a {x: 1}\nc: {x: 0, <<: *a}\n", {"x": "1"}),  # go-yaml v2 applies a merge where it is written
    ("a: &a {x: 1}\nb: &b {<<: *a, y: 2}\nc: {<<: *b}\n", {"x": "1", "y": "2"}),  # merges of merges
    ("c: {<<: {x: 1}, <<: {x: 2}}\n", {"x": "2"}),  # two merge keys: the later one
    ("c: {'<<': {x: 1}}\n", {"<<": {"x": "1"}}),  # quoted: a plain key
    ("c: {!!str <<: {x: 1}}\n", {"<<": {"x": "1"}}),  # tagged as a string: a plain key
    ("c: {!!merge <<: {x: 1}}\n", {"x": "1"}),
])
def test_merge_semantics(text: str, expected: object) -> None:
    assert _plain(get(_compose(text), "c")) == expected


def test_written_keeps_the_pairs_as_written_and_duplicates_are_only_those_written_twice() -> None:
    c = get(_compose("a: &a {image: x}\nc: {<<: *a, image: y, image: z}\n"), "c")
    assert isinstance(c, MappingNode)
    assert [k.value for k, _ in written(c)] == ["<<", "image", "image"]
    assert [k.value for k, _ in c.value] == ["image", "image", "image"]
    assert get_str(c, "image") == "z" and duplicate_keys(c) == {"image"}
    assert duplicate_keys(get(_compose("a: &a {image: x}\nc: {<<: *a, image: y}\n"), "c")) == set()


def test_merged_values_keep_their_positions() -> None:
    text = "a: &a {image: nginx}\nc: {<<: *a}\n"
    image = get(get(_compose(text), "c"), "image")
    assert image is not None and text[image.start_mark.index:image.end_mark.index] == "nginx"


@pytest.mark.parametrize(("text", "problem"), [
    ("c: {<<: x}\n", "takes a mapping"),
    ("c: {<<: [x]}\n", "takes a mapping"),
    ("c: &c {<<: *c}\n", "merge itself"),
])
def test_bad_merges(text: str, problem: str) -> None:
    with pytest.raises(MergeError, match=problem):
        _compose(text)


def test_a_merge_bomb_stays_small() -> None:
    lines = ["l0: &l0 {a: 1, b: 2}"] + [f"l{i}: &l{i} {{<<: [{', '.join([f'*l{i - 1}'] * 9)}], k{i}: v}}" for i in range(1, 30)]
    last = get(_compose("\n".join(lines) + "\n"), "l29")
    assert isinstance(last, MappingNode) and len(last.value) == 31  # a, b, k1..k29: each key once


def test_alias_tokens_are_found_where_written_not_in_comments() -> None:
    text = "a: &img nginx\nb: # was *img\n  *img\nc:\n- x  # *img\n- *img\n"
    tokens = alias_tokens(text)
    b = text.index("b:")
    assert tokens.after_key[b] == (text.index("  *img") + 2, text.index("  *img") + 6)
    seq_start = text.index("- x")
    last = text.rindex("*img")
    assert tokens.in_sequence[(seq_start, 1)] == (last, last + 4)
    assert (seq_start, 0) not in tokens.in_sequence


def test_alias_tokens_stop_quietly_at_a_later_error() -> None:
    text = "a: &x 1\nb: *x\n---\nc: [\n"
    assert alias_tokens(text).after_key == {text.index("b"): (text.index("*x"), text.index("*x") + 2)}
