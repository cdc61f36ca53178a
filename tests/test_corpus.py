"""The real-world corpus (../shared/corpus): conformance with the hand-reviewed answer keys,
and byte fidelity (a line diff touches only image values and inserted pull-secret lines)."""
from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

import pytest
import yaml

from conftest import corpus_streams
from postrender.documents import decode
from postrender.pipeline import post_render
from postrender.settings import Settings

STREAMS = corpus_streams()
pytestmark = pytest.mark.skipif(not STREAMS, reason="corpus ../shared/corpus not present")

SCHEMES = {
    "flat": Settings(registry="registry.intern", pull_secrets=("regcred",)),
    "folder": Settings(registry="registry.intern", folder="civitas/mirror", pull_secrets=("regcred",)),
}
# Lines the pull-secret insertion may add (field, parents created for Strimzi, entries).
INSERTED = re.compile(r"\s*(?:- )?(?:imagePullSecrets?:|template:|pod:|name: regcred|- name: regcred)\s*")


def _key(stream: Path) -> list[dict]:
    return json.loads(stream.parent.joinpath(stream.name[: -len(".yaml")] + ".images.json").read_text())


@pytest.mark.parametrize("stream", STREAMS, ids=lambda p: p.name)
def test_conformance(stream: Path) -> None:
    """Every pullable answer-key entry is found and rewritten; nothing outside the key is."""
    key = _key(stream)
    expected = {(e["doc_index"], e["path"], e["image"]) for e in key if e.get("pullable", True) is not False}
    known = {(e["doc_index"], e["path"], e["image"]) for e in key}
    result = post_render(decode(stream.read_bytes()), SCHEMES["folder"])
    # an image an operator implies is written nowhere, so no key names it (the snapshots check it)
    rewritten = {(site.doc.index, site.path, site.text) for site, _ in result.plan.rewrites if not site.implied}
    assert expected - rewritten == set(), "answer-key images not rewritten"
    assert rewritten - known == set(), "values rewritten that the answer key does not list"
    for site, target in result.plan.rewrites:
        assert target.startswith("registry.intern/civitas/mirror/")


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
@pytest.mark.parametrize("stream", STREAMS, ids=lambda p: p.name)
def test_fidelity(stream: Path, scheme: str) -> None:
    settings = SCHEMES[scheme]
    data = stream.read_bytes()
    result = post_render(decode(data), settings)
    before = data.decode("utf-8").splitlines(keepends=True)
    after = result.output.splitlines(keepends=True)
    removed, added = [], []
    for line in difflib.ndiff(before, after):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    images = {site.text: target for site, target in result.plan.rewrites if not site.implied}
    implied = {(site.doc.index, site.path.removesuffix(" (implied)")): target for site, target in result.plan.rewrites if site.implied}
    # each removed line comes back with only its image references replaced
    expected_changed = []
    for line in removed:
        new = line
        for source, target in images.items():  # whole references only: a tag may prefix another
            new = re.sub(rf"(?<![\w./:@-]){re.escape(source)}(?![\w./:@-])", target, new)
        if new == line and "imagePullSecret" in line:  # a pull-secret field filled in place ({ } -> {name: regcred })
            expected_changed.append(next(a for a in added if a.startswith(line.split(":")[0]) and "regcred" in a))
            continue
        assert new != line, f"a line changed that holds no image: {line!r}"
        expected_changed.append(new)
    leftover = list(added)
    for line in expected_changed:
        assert line in leftover, f"changed line not found in output: {line!r}"
        leftover.remove(line)
    for line in leftover:
        assert INSERTED.fullmatch(line) or any(line.strip() == f"{path.rsplit('.', 1)[-1]}: {target}"
                                               for (_, path), target in implied.items()), f"unexpected added line: {line!r}"
    # structurally: loading the output equals loading the input with the images mapped and the
    # pull secrets taken out (a line diff alone would not see a line inserted into the wrong list)
    def mapped(text: str) -> list[object]:
        for source, target in images.items():
            text = re.sub(rf"(?<![\w./:@-]){re.escape(source)}(?![\w./:@-])", target, text)
        return [_without_secrets(doc) for doc in yaml.load_all(text, Loader=_Loader)]

    output = list(yaml.load_all(result.output, Loader=_Loader))
    for (index, path), target in implied.items():  # the implied field, inserted: taken out again
        *parents, last = path.split(".")
        parent = output[index]
        for key in parents:
            parent = parent[key]
        assert parent.pop(last) == target
    assert [_without_secrets(d) for d in output] == mapped(data.decode("utf-8"))
    # running on its own output changes nothing
    assert post_render(decode(result.output.encode()), settings).output == result.output


class _Loader(yaml.CSafeLoader):
    """A bare ``=`` resolves to YAML 1.1's value tag, which the safe constructor cannot build."""


_Loader.add_constructor("tag:yaml.org,2002:value", yaml.constructor.SafeConstructor.construct_yaml_str)


def _without_secrets(node: object) -> object:
    """Drop pull-secret fields, then mappings left empty (Strimzi's created template.pod)."""
    if isinstance(node, dict):
        out = {k: _without_secrets(v) for k, v in node.items() if k not in ("imagePullSecrets", "imagePullSecret")}
        return {k: v for k, v in out.items() if v != {}}
    if isinstance(node, list):
        return [_without_secrets(item) for item in node]
    return node


def test_corpus_totals(corpus: Path) -> None:
    """The whole corpus at once: how many answer-key entries, all rewritten."""
    total = found = 0
    for stream in STREAMS:
        key = [e for e in _key(stream) if e.get("pullable", True) is not False]
        result = post_render(decode(stream.read_bytes()), SCHEMES["flat"])
        rewritten = {(site.doc.index, site.path, site.text) for site, _ in result.plan.rewrites}
        total += len(key)
        found += sum((e["doc_index"], e["path"], e["image"]) in rewritten for e in key)
    assert total >= 160 and found == total
