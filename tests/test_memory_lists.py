"""A large ``kind: List`` read one item at a time (postrender/liststream.py): the same output,
warnings, image list and ``check`` result as reading it whole, on every layout the cut takes,
and the cut refused wherever it could read something else."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from postrender import liststream, pipeline
from postrender.commands.check import Outcome, check_stream
from postrender.documents import split
from postrender.rules import load_rules
from postrender.settings import Settings
from postrender.testing import render
from test_hostile_inputs import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
SETTINGS: dict[str, Any] = {"registry": REGISTRY, "folder": "civitas", "pull_secrets": ("regcred",)}

POD = """\
- apiVersion: v1
  kind: Pod
  metadata:
    name: web-{0}
    annotations:
      note: "image: quay.io/in/annotation:{0}"
  spec:
    containers:
    - image: docker.io/library/nginx:1.{0}
      name: web
      args: ["--sidecar-image=quay.io/org/side:{0}"]
      env:
      - name: HELPER_IMAGE
        value: ghcr.io/org/helper:v{0}
    - image: "busybox:1.36"
      name: tail
      <<: {{imagePullPolicy: Always}}
    imagePullSecrets:
    - name: other
"""
OTHERS = """\
# a comment between items, at the list's indentation
- apiVersion: v1
  kind: ServiceAccount
  metadata:
    name: sa-{0}
-   apiVersion: v1
    kind: ConfigMap
    metadata:
      name: cm-{0}
    data:
      image: quay.io/x/cm:{0}
      text: |
        - a: line that looks like an item
        image: nginx
- just a string
-
  apiVersion: apps/v1
  kind: Deployment
  metadata: {{name: d-{0}}}
  spec:
    template:
      spec:
        containers: [{{name: a, image: "ghcr.io/a/b:{0}"}}]
- apiVersion: v1
  kind: List
  items:
  - apiVersion: v1
    kind: Pod
    metadata: {{name: inner-{0}}}
    spec: {{containers: [{{name: a, image: alpine:3.{0}}}]}}
"""


def kubectl_list(count: int = 12, *, indent: str = "", eol: str = "\n", head_first: bool = False) -> str:
    items = "".join(POD.format(i) + (OTHERS.format(i) if i % 4 == 0 else "") for i in range(count))
    items = "".join(indent + line if line else line for line in items.splitlines(keepends=True))
    head = "---\n# Source: chart/templates/list.yaml\napiVersion: v1\n"
    tail = 'kind: List\nmetadata:\n  resourceVersion: ""\n  annotations:\n    sidecar: quay.io/in/list-annotation:1\n'
    text = (head + tail + "items:\n" + items) if head_first else (head + "items:\n" + items + tail)
    return "---\n# Source: chart/templates/before.yaml\n" + POD.format(99)[2:].replace("\n  ", "\n") + text.replace("\n", eol)


def typed_list(count: int = 12) -> str:
    """As ``kubectl get pods -o yaml`` prints a typed List: a PodList whose items leave out kind and apiVersion."""
    items = "".join(POD.format(i).replace("- apiVersion: v1\n  kind: Pod\n  metadata:", "- metadata:") for i in range(count))
    return "---\n# Source: chart/templates/pods.yaml\napiVersion: v1\nitems:\n" + items + 'kind: PodList\nmetadata:\n  resourceVersion: ""\n'


def json_list(count: int = 12) -> str:
    """As ``kubectl get -o json`` prints a List (4-space indentation), items of several kinds."""
    import json

    import yaml

    items = yaml.safe_load("items:\n" + "".join(POD.format(i) + (OTHERS.format(i) if i % 4 == 0 else "") for i in range(count)))
    listing = {"apiVersion": "v1", "items": items["items"], "kind": "List",
               "metadata": {"resourceVersion": "", "annotations": {"sidecar": "quay.io/in/list-annotation:1"}}}
    return json.dumps(listing, indent=4, ensure_ascii=False) + "\n"


VARIANTS = {
    "json": json_list(),
    "json-after-a-document": "---\n# Source: chart/templates/before.yaml\n" + POD.format(99)[2:].replace("\n  ", "\n")
                             + "---\n# Source: chart/templates/list.json\n" + json_list(),
    "kubectl": kubectl_list(),
    "indented": kubectl_list(indent="  "),
    "crlf": kubectl_list(eol="\r\n"),
    "items-last": kubectl_list(head_first=True),
    "fixture": (ROOT / "fixtures" / "kubectl-list.yaml").read_text(encoding="utf-8"),
    "typed": typed_list(),  # items read as the List's kind (Pod), streamed or whole
}


@contextmanager
def streamed(on: bool) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(liststream, "STREAM_FROM", 0 if on else 1 << 62)
        yield


def outcomes(text: str) -> dict[str, Any]:
    result = render(text, **SETTINGS)
    out = Outcome()
    check_stream(text, "s", Settings(**SETTINGS), load_rules(), out)
    findings, _ = pipeline.read_stream(text.encode(), load_rules(), keep_text=False)
    return {"output": result.output, "warnings": result.warnings, "list": result.image_list(Settings(**SETTINGS)),
            "check": (out.problems, out.warnings, out.images, out.pod_specs),
            "images": [(str(s.where()), s.text, s.rule, s.location, s.candidate) for s in findings.sites]}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_streamed_list_reads_as_the_whole_list(name: str) -> None:
    text = VARIANTS[name]
    with streamed(True):
        parts = [piece for piece in split(text.encode()) if pipeline.list_layout(
            text.encode()[piece.start:piece.end].decode(), text.encode()[piece.start:piece.end], load_rules()) is not None]
        assert parts, "the List is read item by item"
        after = outcomes(text)
    with streamed(False):
        before = outcomes(text)
    assert after == before
    assert after["output"] != text and "regcred" in after["output"]


def test_items_are_cut_at_their_dashes() -> None:
    text = "apiVersion: v1\nitems:\n- a: 1\n  b: 2\n# c\n-   d: 3\n-\n  e: 4\nkind: List\n"
    with streamed(True):
        found = liststream.layout(text)
    assert found is not None
    assert [text[i.start:i.end] for i in found.items] == ["- a: 1\n  b: 2\n# c\n", "-   d: 3\n", "-\n  e: 4\n"]
    assert liststream.proven(text.encode(), text, found)
    reader = found.blanked(text)
    blank = "".join(iter(lambda: reader.read(5), ""))
    assert blank == "apiVersion: v1\nitems:\n" + " " * 30 + "\n" * 6 + "kind: List\n" and len(blank) == len(text)


def test_json_items_are_cut_at_their_lines() -> None:
    text = '{\n  "apiVersion": "v1",\n  "items": [\n    {"a": 1},\n    {\n      "b": [2]\n    }\n  ],\n  "kind": "List"\n}\n'
    with streamed(True):
        found = liststream.json_layout(text)
    assert found is not None
    layout, kind, version = found
    assert (kind, version) == ("List", "v1")
    assert [text[i.start:i.end] for i in layout.items] == ['    {"a": 1}', '    {\n      "b": [2]\n    }']
    assert liststream.proven(text.encode(), text, layout)


@pytest.mark.parametrize("text", [
    '{"apiVersion": "v1", "kind": "List", "items": [{"a": 1}, {"b": 2}]}\n',  # JSON items on one line: composed whole
    '{"apiVersion": "v1", "kind": "List", "items": [\n{"a": 1}], "items": [\n{"b": 2}]}\n',  # duplicate key
    '{"apiVersion": "v1", "kind": "List", "items": [\n{"a": 1}]} {"x": 1}\n',  # something after it
    "apiVersion: v1\nkind: List\nitems: [{a: 1}, {b: 2}]\n",  # flow
    "apiVersion: v1\nkind: List\nitems:\n- &a {x: 1}\n- *a\n",  # aliases
    "apiVersion: v1\nkind: List\nitems:\n- a: 1\nitems:\n- b: 2\n",  # the last of duplicate keys wins
    'apiVersion: v1\nkind: List\n"items":\n- a: 1\n',  # a key written another way
    "apiVersion: v1\nkind: List\nitems:\n- a: 1\n---\nkind: Pod\n",  # another document in the piece
    "apiVersion: v1\nkind: List\nitems:\n- a: 1\r- b: 2\n",  # a lone CR
])
def test_other_layouts_are_not_cut(text: str) -> None:
    with streamed(True):
        assert pipeline.list_layout(text, text.encode(), load_rules()) is None


@pytest.mark.parametrize("text", [
    'apiVersion: v1\nkind: List\nitems:\n- a: "x\n- b: y"\n',  # a "- " line inside a quoted string
    "apiVersion: v1\nkind: List\nitems:\n- a: [1,\n- 2]\n",  # inside a flow collection
])
def test_a_cut_inside_a_multi_line_value_is_not_proven(text: str) -> None:
    with streamed(True):
        found = liststream.layout(text)
        assert found is None or not liststream.proven(text.encode(), text, found)
        with streamed(False):
            try:
                expected: Any = render(text, **SETTINGS).output
            except Exception as exc:  # noqa: BLE001 - the same error either way
                expected = str(exc)
        try:
            got: Any = render(text, **SETTINGS).output
        except Exception as exc:  # noqa: BLE001
            got = str(exc)
    assert got == expected


def test_a_large_list_is_streamed_by_default() -> None:
    text = kubectl_list(2000)
    assert len(text) > liststream.STREAM_FROM
    piece = split(text.encode())[-1]
    raw = text.encode()[piece.start:piece.end]
    assert pipeline.list_layout(raw.decode(), raw, load_rules()) is not None


def test_a_list_that_would_not_fit_whole_is_streamed() -> None:
    """An 843 KB List of 3,500 Deployments needed 69 MiB read whole against a 62 MiB bound, and was
    refused while a 1 MB one was streamed (found in review): Lists from 256 KiB on are read item by item."""
    assert liststream.STREAM_FROM <= 256 * 1024
    text = kubectl_list(1000)
    assert 256 * 1024 < len(text) < 1 << 20, len(text)
    piece = split(text.encode())[-1]
    raw = text.encode()[piece.start:piece.end]
    assert pipeline.list_layout(raw.decode(), raw, load_rules()) is not None
