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


# -- image lists of the wrong shape: one clear line naming the file and the place, never exit 3 -------
def _image(**fields: object) -> dict[str, object]:
    return {"source": "nginx:1.25", **fields}


@pytest.mark.parametrize(("listing", "fragment"), [
    ({"images": None}, "images is null, expected a list of objects"),
    ({"images": {"a": 1}}, "images is an object"),
    ({"images": ["nginx:1.25"]}, "images[0] is a string, expected an object"),
    ({"images": [{"source": 5}]}, "images[0].source is a number"),
    ({"images": [{"no": "source"}]}, "images[0].source is null"),
    ({"images": [_image(occurrences=[["x"]])]}, "images[0].occurrences[0] is a list, expected an object"),
    ({"images": [_image(occurrences=[{"file": ["x"]}])]}, "images[0].occurrences[0].file is a list"),
    ({"images": [_image(occurrences=[{"kind": {"a": 1}}])]}, "images[0].occurrences[0].kind is an object"),
    ({"images": [_image(occurrences=[{"document": "3"}])]}, "images[0].occurrences[0].document is a string, expected a whole number"),
    ({"images": [_image(occurrences=[{"document": True}])]}, "document is true/false, expected a whole number"),
    ({"images": [_image(occurrences=5)]}, "images[0].occurrences is a number"),
    ({"images": [_image(occurrences="abc")]}, "images[0].occurrences is a string"),
    ({"images": [_image(occurrences={"a": 1})]}, "images[0].occurrences is an object"),
    ({"images": [_image(target=["x"])]}, "images[0].target is a list, expected a string or null"),
    ({"images": [_image(override={"a": 1})]}, "images[0].override is an object"),
    ({"images": [_image(rewritten=[1])]}, "images[0].rewritten is a list, expected true or false"),
    ({"images": [_image(candidate="yes")]}, "images[0].candidate is a string, expected true or false"),
    ({"registry": ["x"], "images": []}, "registry is a list, expected a string or null"),
    ({"registry": 5, "folder": {}, "images": []}, "registry is a number"),
    ({"registry": "r.intern", "folder": ["f"], "images": []}, "folder is a list"),
    ({"registry": "a b/c", "images": []}, "registry 'a b/c' must be a host[:port]"),
    ({"registry": "r.intern:99999", "images": []}, "port 99999 is not a TCP port"),
    ({"registry": "r.intern", "folder": "UP//x", "images": []}, "folder 'UP//x' is not a valid repository path"),
])
def test_image_list_of_the_wrong_shape_is_refused(tmp_path: Path, listing: dict[str, object], fragment: str) -> None:
    path = tmp_path / "list.json"
    path.write_text(json.dumps(listing))
    with pytest.raises(InputError) as error:
        read_inputs([str(path)])
    assert str(error.value).startswith(f"{path}: not an image list: ") and fragment in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("nested", [
    '{"images": ' + "[" * 100_000 + "]" * 100_000 + "}",
    '{"images": [{"source": "nginx:1.25", "occurrences": [{"x": ' + "[" * 5_000 + "]" * 5_000 + "}]}]}",
    '{"images": [], "x": ' + '{"a": ' * 3_000 + "1" + "}" * 3_000 + "}",
])
def test_deeply_nested_json_is_an_input_error(tmp_path: Path, nested: str) -> None:
    path = tmp_path / "deep.json"
    path.write_text(nested)
    with pytest.raises(InputError, match=r"deep.json: JSON nested too deeply to read"):
        read_inputs([str(path)])


def test_a_good_list_with_extra_fields_is_read(tmp_path: Path) -> None:
    listing = {"registry": "registry.intern", "folder": "civitas", "images": [
        _image(target="registry.intern/civitas/library/nginx:1.25", implied=True, extra={"kept": ["as is"]},
               occurrences=[{"document": 0, "kind": "Pod", "name": None, "file": "a.yaml", "implied": True}])]}
    path = tmp_path / "list.json"
    path.write_text(json.dumps(listing))
    assert read_inputs([str(path)]).lists == [(str(path), listing)]
