"""The memory bound (postrender/bounds.py): a document whose nodes would not fit, or a stream
naming images at more places than fit, is refused early with a clear exit-1 "too large" error
naming where and how to go past it; normal charts never meet it.  Decisions only, on small
inputs with a lowered bound: memory itself is measured by ``benchmarks/run.py --worst-cases``."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import CORPUS, ROOT
from postrender import bounds, pipeline
from postrender.bounds import ENV, MIB, TooLarge
from postrender.errors import ConfigError, PostrenderError
from postrender.rules import load_rules
from postrender.testing import render
from test_hostile_inputs import POD as HOSTILE_POD
from test_hostile_inputs import REGISTRY, run_bounded



def config_map(keys: int, source: str = "chart/templates/big.yaml") -> str:
    lines = ["---", f"# Source: {source}", "apiVersion: v1", "kind: ConfigMap", "metadata:", "  name: big", "data:"]
    lines += [f'  key{i}: "value number {i}"' for i in range(keys)]
    return "\n".join(lines) + "\n"


POD = "---\n# Source: chart/templates/pod.yaml\n" + HOSTILE_POD.replace("  - name: a\n    image: busybox:1.36\n", "  - &c\n    name: a\n    image: &i busybox:1.36\n")


@pytest.mark.parametrize(("value", "size", "limit"), [
    (None, 0, 60 * MIB),
    (None, 10 * MIB, 80 * MIB),
    ("200", 10 * MIB, 200 * MIB),
    ("0.5", 0, MIB // 2),
    ("unlimited", 10 * MIB, None),
    ("Unlimited", 0, None),
])
def test_limit(monkeypatch: pytest.MonkeyPatch, value: str | None, size: int, limit: int | None) -> None:
    if value is None:
        monkeypatch.delenv(ENV, raising=False)
    else:
        monkeypatch.setenv(ENV, value)
    assert bounds.limit_for(size) == limit


@pytest.mark.parametrize("value", ["lots", "-5", "0", "nan", "inf", "1e999"])
def test_bad_limit_is_a_config_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(ENV, value)
    with pytest.raises(ConfigError, match=ENV):
        bounds.limit_for(1)


def test_large_document_is_refused_before_it_is_composed(monkeypatch: pytest.MonkeyPatch) -> None:
    text = config_map(20_000)  # 40k nodes: about 16 MiB of nodes
    monkeypatch.setenv(ENV, "34")

    def never(*args: object, **kwargs: object) -> object:
        raise AssertionError("composed although refused")

    monkeypatch.setattr(pipeline, "documents", never)
    with pytest.raises(TooLarge) as caught:
        render(text, registry=REGISTRY)
    message = str(caught.value)
    for part in ("document 0", "(chart/templates/big.yaml)", "ConfigMap/big", "line 3", "too large", "40,0",
                 "YAML nodes", f"{ENV}=", f"{ENV}=unlimited"):
        assert part in message, (part, message)


def test_the_suggested_bound_lets_it_through(monkeypatch: pytest.MonkeyPatch) -> None:
    text = config_map(20_000)
    monkeypatch.setenv(ENV, "34")
    with pytest.raises(TooLarge) as caught:
        render(text, registry=REGISTRY)
    suggested = str(caught.value).split(f"{ENV}=")[1].split(" ")[0]
    monkeypatch.setenv(ENV, suggested)
    assert render(text, registry=REGISTRY).output == text


def test_same_document_passes_under_the_default_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    text = config_map(20_000)
    assert render(text, registry=REGISTRY).output == text


def test_a_later_document_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "34")
    text = POD + config_map(20_000, "chart/templates/second.yaml")
    with pytest.raises(TooLarge, match=r"document 1 \(chart/templates/second.yaml\) ConfigMap/big line 14"):
        render(text, registry=REGISTRY)


def test_document_in_a_stream_read_whole_is_named_by_its_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "34")  # "..." lines: the stream is one piece, its documents counted one by one
    text = POD + "...\n" + config_map(20_000)
    with pytest.raises(TooLarge, match=r"document 1 \(chart/templates/big.yaml\) ConfigMap/big line 15"):
        render(text, registry=REGISTRY)


def test_many_small_documents_are_not_refused_for_their_sum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "34")  # each document is composed and freed before the next
    text = "".join(config_map(2_000).replace("name: big", f"name: big{i}") for i in range(12))
    assert render(text, registry=REGISTRY).output == text


def image_aliases(width: int) -> str:
    """One image aliased as the image of thousands of containers: each alias is an image place
    (a few bytes of input each, kilobytes to keep until the output is written)."""
    return POD + "".join(f"  - {{name: c{k}, image: *i}}\n" for k in range(width))


def container_aliases(width: int) -> str:
    """One container aliased thousands of times: one image place once merged."""
    return POD + "  initContainers: [" + ", ".join(["*c"] * width) + "]\n"


@pytest.mark.parametrize(("text", "reason"), [
    # 20 documents of 400 aliased images each: refused once the places kept pass the bound
    ("".join(image_aliases(400).replace("name: p\n", f"name: p{d}\n") for d in range(20)),
     r"(the image places \([\d,]+, each kept about \d+ bytes\)|after the input and the [1-9][\d,]+ image places found so far)"),
    (container_aliases(20_000), r"its 20,0\d\d YAML nodes"),  # refused before it is composed (an alias counts as a node)
])
def test_alias_amplification_is_refused(monkeypatch: pytest.MonkeyPatch, text: str, reason: str) -> None:
    monkeypatch.setenv(ENV, "28")
    with pytest.raises(TooLarge, match=r"document \d+ \(chart/templates/pod.yaml\) Pod/p\d* line \d+.*: too large .*" + reason):
        render(text, registry=REGISTRY, pull_secrets=("regcred",))
    monkeypatch.setenv(ENV, "200")
    assert "regcred" in render(text, registry=REGISTRY, pull_secrets=("regcred",)).output


def test_places_merged_after_reading_are_not_counted_as_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "28")  # 8,000 places found through aliases of one container, merged into one
    assert "regcred" in render(container_aliases(8_000), registry=REGISTRY, pull_secrets=("regcred",)).output


def test_command_exits_with_one_clear_line_and_nothing_on_stdout() -> None:
    data = config_map(20_000).encode()
    for args, code in ((["--registry", REGISTRY], 1), (["images", "-"], 1), (["check", "--registry", REGISTRY, "-"], 2)):
        done = run_bounded(args, data, env={ENV: "34"})
        assert done.returncode == code, done.stderr  # check: 2, "could not check"
        assert done.stdout == b""
        assert b"too large to process within the memory bound" in done.stderr
        assert b"MemoryError" not in done.stderr and b"Traceback" not in done.stderr


def _normal_inputs() -> list[Path]:
    found = sorted(p for p in (ROOT / "fixtures").rglob("*") if p.suffix in (".yaml", ".yml", ".json")
                   and "hostile" not in p.parts and "mirror" not in p.parts)
    if CORPUS.is_dir():
        found += sorted(p for p in CORPUS.rglob("*") if p.suffix in (".yaml", ".json"))
    return found


def test_fixtures_and_corpus_never_meet_the_default_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    rules = load_rules()
    for path in _normal_inputs():
        data = path.read_bytes()
        try:
            pipeline.read_stream(data, rules, ("regcred",))
        except TooLarge as exc:  # pragma: no cover - the failure message
            pytest.fail(f"{path}: {exc}")
        except Exception:
            continue  # inputs that are not streams, or invalid ones: other tests own them


def test_a_large_dashboard_and_a_large_crd_never_meet_the_default_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """Grafana dashboards of 1-2 MB in a ConfigMap, a CRD of 1.5 MB with image defaults: normal."""
    import json

    monkeypatch.delenv(ENV, raising=False)
    panels = [{"id": i, "type": "graph", "title": f"panel {i}", "targets": [{"expr": f"rate(x_{i}[5m])", "refId": "A"}],
               "gridPos": {"h": 8, "w": 12, "x": 0, "y": i}} for i in range(6_000)]
    dashboard = json.dumps({"title": "big", "panels": panels}, indent=2)
    body = "\n".join("    " + line for line in dashboard.splitlines())
    cm = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dash\ndata:\n  big.json: |\n{body}\n"
    assert len(cm) > 1_500_000
    props = "".join(f"              field{i}:\n                type: string\n                description: field {i} of the "
                    "thing; as real CRDs do, a sentence or two on what it sets, its default and when it applies\n"
                    for i in range(12_000))
    crd = ("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: things.example.com\n"
           "spec:\n  group: example.com\n  names: {kind: Thing, plural: things}\n  scope: Namespaced\n  versions:\n"
           "  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n"
           "        properties:\n          spec:\n            properties:\n              image:\n                type: string\n"
           "                default: quay.io/example/thing:1.0\n" + props)
    assert len(crd) > 1_500_000
    for text in (cm, crd, cm + "---\n" + crd):
        render(text, registry=REGISTRY)  # no TooLarge


# -- found in review: three ways past the bound -------------------------------------------------
def test_a_merge_bomb_is_refused_before_it_is_copied() -> None:
    """1,100 keys merged into 1,000 mappings: 1.1M pairs copied (a 10k x 10k one, 348 KB, took 808 MiB)."""
    keys = "\n".join(f"      k{i}: v" for i in range(1100))
    merges = "\n".join(f"    m{i}: {{<<: *b}}" for i in range(1000))
    stream = (f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    base: &b\n{keys}\n"
              f"spec:\n  containers:\n  - name: c\n    image: nginx:1.25\n  m:\n{merges}\n")
    with pytest.raises(PostrenderError, match=r"merge keys \(<<\) copy more than 1,000,000 key-value pairs"):
        render(stream, registry=REGISTRY)
    assert render(stream.replace(merges, merges.split("\n", 1)[0]), registry=REGISTRY).output  # one merge: fine


def test_an_embedded_config_of_too_many_nodes_is_read_as_text() -> None:
    """'[[],[],...]' of 3 MB composed to 1M nodes (573 MiB); now counted first, and what looks like a
    reference in it is reported, not searched (never silent)."""
    text = '["quay.io/acme/app:1.0", ' + "[]," * 110_000 + "[]]"
    stream = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  images.json: '{text}'\n"
    result = render(stream, registry=REGISTRY)
    assert result.output == stream
    assert [m.split(": ", 1)[1] for m in result.findings.left_public] == [
        "'quay.io/acme/app:1.0' left as is: the embedded config is too large to search within the memory bound"]


def test_a_very_long_text_is_searched_for_mentions_without_a_list_of_its_words() -> None:
    filler = "word " * 250_000  # 1.25 MB of words: a list of them cost about 100 MB
    text = f"echo start\n{filler}\ndocker pull quay.io/acme/tool:2.0\nimage: busybox:1.36\n"
    from postrender import heuristics

    images, mentions = heuristics.in_text(text, "script")
    assert images == []
    assert [(text[o:o + len(r)], label) for o, r, label in mentions] == [
        ("quay.io/acme/tool:2.0", "in text"), ("busybox:1.36", "after image")]
