"""Recall and false rewrites per category (pod specs, custom resources, env/args, data, split,
embedded) over the real-world corpus (../shared/corpus, when present) and the project's own
data-discovery fixtures (fixtures/data, each with a hand-written ``.images.json`` answer key).

The target is every keyed reference rewritten and nothing else: any rewrite outside the keys
fails.  Run with ``-s`` to see the table.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from conftest import FIXTURES, corpus_streams
from postrender.documents import decode
from postrender.pipeline import post_render
from postrender.reference import parse_reference
from postrender.settings import Settings
from postrender.summary import CATEGORIES, category

SETTINGS = Settings(registry="registry.intern", folder="civitas", pull_secrets=("regcred",))
DATA_FIXTURES = sorted((FIXTURES / "data").glob("*.yaml"))
Entry = tuple[str, int, str, str]  # stream, document, normalised image, category


def _normal(image: str) -> str:
    ref = parse_reference(image)
    assert ref is not None, image
    return ref.normalized


def _rewritten(stream: Path) -> Counter[Entry]:
    """What post-render rewrites, one entry per image per place (a split reference's registry and
    repository settings are one place).  Images an operator implies are written nowhere in the
    stream, so no key names them: their insertion is checked by the operator snapshots."""
    result = post_render(decode(stream.read_bytes()), SETTINGS)
    places = {(site.doc.index, site.path.split(" (split: ")[0].rsplit(".", 1)[0] if site.part else site.path, site.text,
               category(site.location)) for site, _ in result.plan.rewrites if not site.implied}
    return Counter((stream.name, doc, _normal(image), cat) for doc, _, image, cat in places)


def _corpus_key(stream: Path) -> Counter[Entry]:
    key = json.loads(stream.with_name(stream.name[: -len(".yaml")] + ".images.json").read_text())
    return Counter((stream.name, e["doc_index"], _normal(e["image"]), category(e["location"]))
                   for e in key if e.get("pullable", True) is not False)


def _fixture_key(stream: Path) -> Counter[Entry]:
    key = json.loads(stream.with_suffix(".images.json").read_text())
    return Counter((stream.name, e["doc_index"], _normal(e["image"]), e["category"]) for e in key)


def _table(title: str, expected: Counter[Entry], found: Counter[Entry]) -> list[str]:
    lines = [title, f"{'category':<18}{'keyed':>7}{'found':>7}{'recall':>9}{'false rewrites':>16}"]
    for name in [c for c, _ in CATEGORIES] + ["all"]:
        def pick(counter: Counter[Entry]) -> Counter[Entry]:
            return Counter({e: n for e, n in counter.items() if name == "all" or e[3] == name})
        keyed, got = pick(expected), pick(found)
        hit = sum((keyed & got).values())
        false = sum((got - keyed).values())
        total = sum(keyed.values())
        recall = f"{100 * hit / total:.1f}%" if total else "-"
        lines.append(f"{name:<18}{total:>7}{hit:>7}{recall:>9}{false:>16}")
    return lines


def _check(title: str, expected: Counter[Entry], found: Counter[Entry]) -> None:
    print("\n" + "\n".join(_table(title, expected, found)))
    missed = sorted((expected - found).elements())
    extra = sorted((found - expected).elements())
    assert not missed, f"keyed references not rewritten (or in another category): {missed}"
    assert not extra, f"rewrites outside the answer keys: {extra}"


def test_data_fixtures_recall_and_precision() -> None:
    assert len(DATA_FIXTURES) >= 6
    expected: Counter[Entry] = Counter()
    found: Counter[Entry] = Counter()
    for stream in DATA_FIXTURES:
        expected += _fixture_key(stream)
        found += _rewritten(stream)
    _check("fixtures/data", expected, found)


@pytest.mark.skipif(not corpus_streams(), reason="corpus ../shared/corpus not present")
def test_corpus_recall_and_precision() -> None:
    expected: Counter[Entry] = Counter()
    found: Counter[Entry] = Counter()
    for stream in corpus_streams():
        expected += _corpus_key(stream)
        found += _rewritten(stream)
    _check("../shared/corpus", expected, found)
