"""The one input reader: image lists and streams from files, directories and stdin."""
from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from postrender.errors import InputError
from postrender.inputs import read_inputs

LIST = {"registry": "registry.intern", "folder": "civitas", "images": []}
POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: nginx}]}\n"


@pytest.mark.parametrize(("content", "is_list"), [
    (json.dumps(LIST), True),
    ("\ufeff" + json.dumps(LIST), True),  # a BOM does not hide a list
    ("  \n" + json.dumps(LIST, indent=2), True),
    (json.dumps({"apiVersion": "v1", "kind": "List", "items": []}), False),  # kubectl -o json
    (json.dumps({"images": [], "kind": "Thing"}), False),
    ("{not json", False),
    (POD, False),
])
def test_lists_and_streams_are_told_apart(tmp_path: Path, content: str, is_list: bool) -> None:
    path = tmp_path / "input.json"
    path.write_text(content, encoding="utf-8")
    inputs = read_inputs([str(path)])
    assert [label for label, _ in inputs.lists] == ([str(path)] if is_list else [])
    assert [label for label, _ in inputs.streams()] == ([] if is_list else [str(path)])


def test_directories_are_read_for_yaml_yml_and_json_recursively(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "b.yaml").write_text(POD)
    (tmp_path / "sub" / "a.yml").write_text(POD)
    (tmp_path / "c.json").write_text(json.dumps(LIST))
    (tmp_path / "notes.txt").write_text(POD)
    inputs = read_inputs([str(tmp_path)])
    assert [label for label, _ in inputs.lists] == [str(tmp_path / "c.json")]
    assert [label for label, _ in inputs.streams()] == [str(tmp_path / "b.yaml"), str(tmp_path / "sub" / "a.yml")]
    assert inputs.content


@pytest.mark.parametrize(("text", "content"), [("", False), ("# a comment\n---\n...\n", False), ("--- \n", False), ("--- {a: 1}\n", True),
                                               (POD, True), ("[]\n", True)])
def test_content_is_anything_beyond_comments_and_markers(monkeypatch: pytest.MonkeyPatch, text: str, content: bool) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    inputs = read_inputs(["-"])
    assert [label for label, _ in inputs.streams()] == ["-"] and inputs.content is content


def test_errors_name_the_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError, match="missing.yaml: cannot read it"):
        read_inputs([str(tmp_path / "missing.yaml")])
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    with pytest.raises(InputError, match="given more than once"):
        read_inputs(["-", "-"])
