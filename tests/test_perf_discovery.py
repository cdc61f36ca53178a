"""``discovery.may_find``: the text-level check that lets a long embedded config (a dashboard)
go unparsed must never hide a find.  Differential: wherever it says "nothing", the full search
(parse, walk, heuristics) of the same text under the same key reports nothing either, on every
string the fixtures and the corpus give the search and on generated texts that hide a find
behind escapes, nesting and escaped line breaks."""
from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postrender import discovery
from postrender.finder import DocContext
from postrender.rules import load_rules
from postrender.testing import render

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
RULES = load_rules()
DOC = DocContext(index=0, template="t.yaml", kind="ConfigMap", name="c", namespace=None, api_version="v1", hook=None)


class Recorder:
    """A sink that keeps every call: finds, registry settings, what is left public, pull secrets."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def found(self, found: discovery.Found) -> None:
        self.calls.append(("found", found))

    def registry_setting(self, found: discovery.Found) -> None:
        self.calls.append(("registry", found))

    def left_public(self, path: str, ref: str, why: str) -> None:
        self.calls.append(("left", path, ref, why))

    def embedded_secrets(self, text: str, findings: Any, to_outer: Callable[[int], int | None]) -> None:
        self.calls.append(("secrets", len(findings.secrets)))


def search(text: str, key: str, image_context: bool = False, embedded_only: bool = False) -> list[tuple[Any, ...]]:
    """Everything the search reports for ``text`` under ``key``."""
    sink = Recorder()
    found = discovery.Search(sink, RULES, DOC)
    if embedded_only:
        found.embedded_only(text, key, "p")
    else:
        found.string(text, key, "p", discovery.same_place, config_name=key, image_context=image_context)
    return sink.calls


def full_search(text: str, key: str, image_context: bool = False, embedded_only: bool = False) -> list[tuple[Any, ...]]:
    """The same with every text-level test off: each config parsed, each string searched, at every level."""
    saved = discovery.may_find, discovery.may_be_config
    discovery.may_find = lambda *args, **kwargs: True  # type: ignore[assignment]
    discovery.may_be_config = discovery.config_like
    try:
        return search(text, key, image_context, embedded_only)
    finally:
        discovery.may_find, discovery.may_be_config = saved  # type: ignore[assignment]


def assert_superset(text: str, key: str, image_context: bool = False, embedded_only: bool = False) -> bool:
    """The search reports exactly what it reports with the text-level tests off; returns whether it
    searched ``text`` at all (``search_plan``, or ``may_find`` for an annotation's config)."""
    assert search(text, key, image_context, embedded_only) == full_search(text, key, image_context, embedded_only), (key, text[:300])
    if embedded_only:
        return len(text) < discovery.SCAN_MIN or discovery.may_find(text, key)
    return discovery.search_plan(text, key, key, image_context, 0) is not None


# -- every string the search is given on the fixtures and the corpus -----------------------------
def searched_strings(paths: list[Path]) -> Iterator[tuple[str, str, bool, bool]]:
    """(text, key, image context, embedded only) of every search while these files are post-rendered."""
    seen: list[tuple[str, str, bool, bool]] = []
    string, embedded_only = discovery.Search.string, discovery.Search.embedded_only

    def spy_string(self: discovery.Search, text: str, key: str, path: str, to_outer: Any, config_name: str = "",
                   image_context: bool = False) -> None:
        if self.depth == 0:
            seen.append((text, key, image_context, False))
        string(self, text, key, path, to_outer, config_name, image_context)

    def spy_embedded(self: discovery.Search, text: str, key: str, path: str) -> None:
        if self.depth == 0:
            seen.append((text, key, False, True))
        embedded_only(self, text, key, path)

    discovery.Search.string, discovery.Search.embedded_only = spy_string, spy_embedded  # type: ignore[method-assign]
    try:
        for path in paths:
            try:
                render(path.read_bytes(), registry="registry.intern", folder="civitas", pull_secrets=("regcred",))
            except Exception:  # an input the post-renderer refuses: what it searched before still counts
                pass
    finally:
        discovery.Search.string, discovery.Search.embedded_only = string, embedded_only  # type: ignore[method-assign]
    return iter(seen)


def input_files() -> list[Path]:
    files = sorted(p for p in (ROOT / "fixtures").rglob("*.y*ml") if "charts" not in p.parts)
    if CORPUS.is_dir():
        files += sorted((CORPUS / "charts").glob("*.yaml")) + sorted((CORPUS / "crs").glob("*.yaml"))
    return files


def test_never_hides_a_find_in_the_fixtures_and_the_corpus() -> None:
    strings = list(searched_strings(input_files()))
    skipped = [text for text, key, context, only in strings if not assert_superset(text, key, context, only)]
    assert strings and len(skipped) < len(strings)
    if CORPUS.is_dir():  # the corpus's Grafana dashboards are what it is for
        assert sum(len(text) >= discovery.SCAN_MIN for text in skipped) >= 30


# -- generated: a find hidden in a long text ------------------------------------------------------
SEEDS: list[tuple[str, Any]] = [
    ("image", {"image": "nginx:1.25"}),
    ("image beside a query's label matcher", {"expr": "count(x{image!=\"\"})", "image": "nginx:1.25"}),
    ("qualified", {"sidecar": "quay.io/a/b:1"}),
    ("localhost", {"mirror": "localhost:5000/a/b:1"}),
    ("localhost bare", {"mirror": "localhost/a:1"}),
    ("list", {"sidecars": "quay.io/a/x:1 quay.io/a/y:2"}),
    ("flag", {"args": "--log=2 --helper-image=ghcr.io/a/h:3"}),
    ("flag, bare value", {"args": "-image nginx:1"}),
    ("mention", {"script": "docker pull ghcr.io/a/b:2 && echo done"}),
    ("version=image", {"versions": "1.0=quay.io/a/b:1\n2.0=quay.io/a/b:2"}),
    ("docker transport", {"src": "docker://nginx"}),
    ("oci transport", {"storageUri": "oci://ghcr.io/a/model:1"}),
    ("hub", {"x.hub": "quay.io"}),
    ("hub alone", {"hub": "docker.io/istio"}),
    ("container registry", {"containerRegistry": "quay.io"}),
    ("split", {"repository": "nginx", "tag": "1"}),
    ("split lines", {"settings": "[core]\nworker_container_repo = apache/airflow\nworker_container_tag = 2.9\n"}),
    ("split lines, upper case", {"env": "A=1\nWORKER_REPOSITORY=apache/airflow\nWORKER_TAG=2.9"}),
    ("split, digest", {"repository": "nginx", "digest": "sha256:" + "a" * 64}),
    ("split, named", {"name": "quay.io/a/b", "tag": "1"}),
    ("split, image key", {"worker": {"image": "a/b", "registry": "quay.io"}}),
    ("name under an image key", {"proxyImage": {"name": "a/b", "version": "1"}}),
    ("sibling tag", {"proxyImage": {"imageName": "a/b"}, "proxyVersion": "1"}),
    ("env", {"env": [{"name": "WORKER_IMAGE", "value": "nginx:1"}]}),
    ("pod template", {"spec": {"containers": [{"name": "a", "image": "nginx"}]}}),
    ("pod template, no image", {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "a"}]}}),
    ("object", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}]}}),
    ("sequence under an image key", {"images": ["nginx:1", "redis:7"]}),
]
FILLER = {"title": "Requests by pod", "expr": "sum(rate(http_requests_total{job=\"api\"}[5m])) by (pod)",
          "description": "Line one.\nLine two: a / b, c:d", "tags": ["a", "b"], "gridPos": {"h": "8", "w": "12"}}


def padded(seed: Any, copies: int) -> dict[str, Any]:
    """The seed among filler panels, as a dashboard holds one odd value among many plain ones
    (an object or pod template stays the root, with the panels beside its fields)."""
    if "spec" in seed:
        return {**seed, "panels": [FILLER] * copies * 2}
    return {"panels": [FILLER] * copies + [seed] + [FILLER] * copies}


def escape_tokens(text: str, rng: random.Random, share: float) -> list[str]:
    """A JSON/YAML double-quoted string body for ``text``, one token per character (an escape or
    the character), some characters written as escapes."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif rng.random() < share:
            out.append("\\/" if char == "/" and rng.random() < 0.5 else f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return out


def escape_some(text: str, rng: random.Random, share: float) -> str:
    return "".join(escape_tokens(text, rng, share))


def json_text(value: Any, rng: random.Random, share: float) -> str:
    """``value`` as JSON whose strings (keys included) have some characters escaped."""
    if isinstance(value, dict):
        return "{" + ", ".join(f'"{escape_some(k, rng, share)}": {json_text(v, rng, share)}' for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(json_text(v, rng, share) for v in value) + "]"
    return '"' + escape_some(str(value), rng, share) + '"'


def yaml_double_quoted(text: str, rng: random.Random, share: float) -> str:
    """A YAML document holding ``text`` as one double-quoted value, its lines broken by escaped
    line breaks (the break and the next line's indentation are no part of the value)."""
    tokens = escape_tokens(text, rng, share)
    for at in range(40, len(tokens), 40):
        if tokens[at] in (" ", "\t"):  # a next line's leading white space is no part of the value: escaped
            tokens[at] = "\\x20" if tokens[at] == " " else "\\t"
    pieces = ["".join(tokens[at:at + 40]) for at in range(0, len(tokens), 40)]
    return 'config: "' + "\\\n    ".join(pieces) + '"\n'


def hidden(seed: Any, rng: random.Random, share: float | None = None) -> str:
    share = rng.choice([0.0, 0.3, 1.0]) if share is None else share
    text = json_text(padded(seed, rng.randint(3, 8)), rng, share)
    for _ in range(rng.randint(0, 2)):  # embedded again: a config as a string of a config
        text = rng.choice([json_text({"inner": text}, rng, share), yaml_double_quoted(text, rng, share)])
    return text


@pytest.mark.parametrize(("name", "seed"), SEEDS, ids=[name for name, _ in SEEDS])
def test_every_seed_is_a_find_and_is_seen(name: str, seed: Any) -> None:
    """The generator writes what it means, and each seed gives the full search something to report (else the property test proves nothing),
    and the check sees it plainly written, escaped and embedded."""
    import yaml

    for variant in range(20):
        rng = random.Random(variant)
        inner = json_text(padded(seed, 2), rng, 0.5)
        assert yaml.safe_load(yaml_double_quoted(inner, rng, 0.5))["config"] == inner
        assert json.loads(json_text({"inner": inner}, rng, 0.5))["inner"] == inner
        assert json.loads(inner) == padded(seed, 2)
        plain = json_text(padded(seed, 3), rng, 0.0)
        for _ in range(variant % 3):  # as written in a string of a config: its quotes escaped
            plain = json_text({"inner": plain}, rng, 0.0)
        assert full_search(plain, "dashboard.json"), (name, plain[:300])  # escaped, a value may not be editable
        text = hidden(seed, random.Random(variant))
        assert discovery.may_find(plain, "dashboard.json") and discovery.may_find(text, "dashboard.json"), (name, text[:300])
        assert search(plain, "dashboard.json") == full_search(plain, "dashboard.json")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example])
@given(st.sampled_from([seed for _, seed in SEEDS]), st.integers(0, 2**32),
       st.sampled_from(["dashboard.json", "config", "settings.toml", "x"]))
def test_never_hides_a_find_in_generated_texts(seed: Any, number: int, key: str) -> None:
    rng = random.Random(number)
    text = hidden(seed, rng)
    assert_superset(text, key)
    # mangled: a piece cut out or doubled, so the text may parse differently or not at all
    start, end = sorted(rng.sample(range(len(text)), 2))
    assert_superset(text[:start] + text[end:], key)
    assert_superset(text[:end] + text[start:], key)


LEAF_WORDS = ["--helper-image=ghcr.io/a/h:3", "-image", "--image", "nginx:1", "quay.io/a/b:1", "docker://nginx",
              "oci://x/y:1", "a=quay.io/x:1", "1.0=localhost:5000/a:2", "x/y", "http://a.b/c", "https://quay.io/a",
              "image", "IMAGE_TAG", "-workingdirinit-image", "--image-pull-policy=Always", "--registry=quay.io", "b.c/d",
              "localhost/a:1", "(quay.io/a:1)", "'ghcr.io/x:2'", "\"x.y/z@sha256:" + "a" * 64 + "\"", "-x", "--", "=", "k8s.gcr.io/pause:3.9",
              "image: nginx:1", "image:nginx:1", "IMAGE = quay.io/a:1", "- image: x/y:1", '"sidecarImage": "a/b:2",', "image!=x"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(LEAF_WORDS), min_size=1, max_size=6), st.lists(st.sampled_from([" ", ",", ";", "\t", "=", "", "\n", "\n  "]), min_size=6, max_size=6),
       st.sampled_from(["args", "command", "sidecars", "x", "url", "WORKER", "proxyImage", "hub", "description"]))
def test_never_hides_a_find_in_strings_searched_as_they_are(words: list[str], separators: list[str], key: str) -> None:
    """A string that is no config: flags, lists, ``version=image`` lines, references after a transport."""
    text = "".join(word + separator for word, separator in zip(words, separators))
    assert_superset(text, key)


YAML_PIECES = ["a", "b c", ": ", ":", "-", "- ", "?", "? ", "{", "}", "[", "]", ",", "!", "!!map ", "&x ", "*x", "#c", "|", ">",
               "---", "...", "%YAML 1.1", "\"q\"", "'q'", "\n", "\n  ", "\r\n", "\t", " ", "\x85", "\u2028", "\u2029", "\r",
               "\ufeff", "\ufeff\ufeff", "x:y", "http://a", "\x00", "\\"]


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(YAML_PIECES), max_size=12))
def test_a_text_without_a_collection_start_composes_to_scalars(pieces: list[str]) -> None:
    """``may_be_config`` lets a text go unparsed when no mapping or sequence can start in it: then
    libyaml composes it to scalars only, or fails (either way the search reads it as a string)."""
    import yaml

    text = "".join(pieces)
    if discovery._COLLECTION.search(text):
        return
    try:
        roots = list(yaml.compose_all(text, Loader=yaml.CSafeLoader))
    except (yaml.YAMLError, ValueError):
        return
    assert all(isinstance(root, yaml.ScalarNode) for root in roots), repr(text)


@pytest.mark.parametrize("text", ["\x85\ufeff-", "\ufeff[1]", "\ufeff\ufeff-", "\ufeff\ufeff? a", "---\n\ufeff- a"])
def test_a_byte_order_mark_starts_a_line_too(text: str) -> None:
    """Found by the property test: libyaml skips a BOM first on any line (two at the start), not
    only at the start of the text."""
    import yaml

    assert discovery._COLLECTION.search(text)
    assert any(not isinstance(root, yaml.ScalarNode) for root in yaml.compose_all(text, Loader=yaml.CSafeLoader))


@pytest.mark.parametrize(("text", "key"), [
    ("--log=2 --helper-image=ghcr.io/a/h:3", "args"), ("-image nginx:1", "args"), ("quay.io/a/b:1", "x"),
    ("docker://nginx", "src"), ("1.0=localhost:5000/a:2 2.0=localhost:5000/a:3", "versions"),
    ("echo start\nimage:nginx:1.25\necho done", "script"), ("x\n  IMAGE = quay.io/a:1\n", "settings"),
])
def test_strings_searched_as_they_are_are_seen(text: str, key: str) -> None:
    assert full_search(text, key) and search(text, key) == full_search(text, key)
    assert discovery.search_plan(text, key, key, False, 0) is not None


@pytest.mark.parametrize(("text", "key"), [
    (json.dumps(padded({"expr": "count(kube_pod_container_info{image!=\"\"})"}, 5)), "dashboard.json"),
    ('{"a": "see https://grafana.com/docs/x and github.com"}' + " " * 600, "dashboard.json"),
    ('{"rate": "sum(x_containers_total) / y", "kinds": "github_hub"}' + " " * 600, "x.json"),
    ('{"a": "see the report\nrepositories: 3"}' + " " * 600, "x.json"),
    # a matcher with a non-empty string: once its escapes are read (quotes blank) it is not told apart
    (json.dumps(padded({"expr": "x{image=~\"nginx.*\"} or y{IMAGE !~ \"a\"}"}, 5)), "dashboard.json"),
])
def test_plain_dashboards_are_not_parsed(text: str, key: str) -> None:
    """Words that look alike are no find: the check may still say "maybe", but the full search
    agrees with it wherever it says no."""
    assert_superset(text, key)


@pytest.mark.parametrize("text", [
    json.dumps(padded({"title": "x"}, 6)),
    json.dumps(padded({"link": "https://grafana.com/d/abc/kubelet"}, 6)),
    json.dumps(padded({"expr": "sum(kubelet_running_containers{job=\"kubelet\"})"}, 6)),
    json.dumps(padded({"url": "https://github.com/x"}, 6)),
    # Grafana's Kubernetes dashboards: "image" only in PromQL label matchers
    json.dumps(padded({"expr": "sum(container_memory{container!=\"\", image!=\"\"}) by (pod)"}, 6)),
    json.dumps(padded({"expr": "x{image=~\"\"} or y{IMAGE !~ \"\"}, z{image != ''}"}, 6)),
])
def test_dashboards_without_any_shape_are_skipped(text: str) -> None:
    assert len(text) >= discovery.SCAN_MIN and not discovery.may_find(text, "dashboard.json")
    assert discovery.search_plan(text, "dashboard.json", "dashboard.json", False, 0) is None
    assert full_search(text, "dashboard.json") == []


def _reference_unescape(text: str) -> str:
    """Escapes read one by one, as written before the fast paths."""
    def one(match: Any) -> str:
        code = match.group(1) or match.group(2) or match.group(3)
        if code:
            return chr(int(code, 16)) if int(code, 16) <= 0x10FFFF else " "
        return discovery._KEPT.get(match.group(4), " ")
    return discovery._ESCAPE.sub(one, text)


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(["\\", '"', "\\\\", '\\"', "\\u0041", "\\U0010FFFF", "\\U00110000", "\\x2f", "\\/", "\\n",
                                 "\\t", "\\\t", "u00", "a", "/", " ", "\n", "\\N", "\\_", "x", "\\u00e9", "\\r", "\\0",
                                 "\\ ", "\\\n", "\\L", "n", "\\a", "\\u", "\\x", "\\U"]), max_size=12))
def test_escapes_are_read_as_before(pieces: list[str]) -> None:
    """``_unescaped`` (``str.replace`` per kind of escape when all are one character) reads as the pattern did."""
    text = "".join(pieces)
    assert discovery._unescaped(text) == _reference_unescape(text)


_MATCHER_LOOKBEHIND_FIRST = re.compile(discovery._IMAGE_MATCHER.pattern.replace("image(?<![\\w-]image)", "(?<![\\w-])image", 1))


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(["image", "-image", "ximage", "_", "!=", "=~", "!~", " ", "\t", '"', "'", "`", "\\", "}",
                                 ",", ")", "a", "\n", "é", "IMAGE"]), max_size=14))
def test_the_label_matcher_pattern_finds_what_its_lookbehind_first_form_finds(pieces: list[str]) -> None:
    """``_IMAGE_MATCHER`` starts with its literal (so it is searched for in C, 25x faster on a
    dashboard); the lookbehind after it says what one before it said."""
    text = "".join(pieces)
    assert _MATCHER_LOOKBEHIND_FIRST.pattern != discovery._IMAGE_MATCHER.pattern
    assert discovery._IMAGE_MATCHER.findall(text) == _MATCHER_LOOKBEHIND_FIRST.findall(text)
    assert [m.span() for m in discovery._IMAGE_MATCHER.finditer(text)] == [m.span() for m in _MATCHER_LOOKBEHIND_FIRST.finditer(text)]


# Each letter of "image" as the case-blind pattern or str.lower may read it, and near misses.
_LETTERS = [["i", "I", "\u0131", "\u0130", "j", "\u0307"], ["m", "M", "n"], ["a", "A", "\u00e5", "\u212b"],
            ["g", "G", "q"], ["e", "E", "\u00e9", "\u212a"]]


@settings(max_examples=3000, deadline=None)
@given(st.text(max_size=6), st.tuples(*(st.sampled_from(letters) for letters in _LETTERS)), st.text(max_size=6), st.booleans())
def test_says_image_finds_what_the_case_blind_pattern_finds(before: str, word: tuple[str, ...], after: str, ascii_only: bool) -> None:
    """``says_image`` (``str.lower``) agrees with ``re.IGNORECASE`` on every letter either folds
    (the dotless and dotted I above all), in ASCII texts and others."""
    text = before + "".join(word) + after
    if ascii_only:
        text = text.encode("ascii", "replace").decode()
    assert discovery.says_image(text) == bool(discovery._IMAGE_WORD.search(text))


_FLAG_LOOKBEHIND_FIRST = re.compile(r"(?<!\S)-[^\s=]*image", re.IGNORECASE)


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(["-", "--", "image", "IMAGE", "x", " ", "\t", "\n", "=", "a-", "\u0131mage", "\u00a0", "\x85"]),
                max_size=10))
def test_the_flag_pattern_finds_what_its_lookbehind_first_form_finds(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert [m.span() for m in discovery._FLAG_IMAGE.finditer(text)] == [m.span() for m in _FLAG_LOOKBEHIND_FIRST.finditer(text)]


# -- review (helper-22) --------------------------------------------------------------------------
@pytest.mark.parametrize("text", [
    "env:\n  IMAGE!=: nginx:1.2\n",
    "worker:\n  IMAGE =~: bitnami/redis:7.0\n",
    '{"a": {"image!~": "nginx:1.2"}}\n',
])
def test_a_key_that_looks_like_a_label_matcher_still_says_image(text: str) -> None:
    """The full search reads ``IMAGE!=`` as a key that says image, and finds its value."""
    long = text + "# " + "x" * discovery.SCAN_MIN + "\n"
    assert full_search(long, "config.yaml")  # a find ...
    assert search(long, "config.yaml") == full_search(long, "config.yaml")  # ... hidden by may_find


# -- review 2 (helper-23) ------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "key"), [
    ('image!="x": nginx\n', "config.yaml"),
    ("image!='x': busybox\n", "config.yaml"),
    ('image!="x"\t: nginx\n', "config.yaml"),
    ('? "image!="\n: nginx\n', "config.yaml"),
    ('[runner]\n"image!=" = "nginx"\n', "config.toml"),
])
def test_review2_a_key_that_holds_a_label_matcher_still_says_image(text: str, key: str) -> None:
    long = text + "# " + "x" * discovery.SCAN_MIN + "\n"
    assert full_search(long, key)  # a find ...
    assert search(long, key) == full_search(long, key)  # ... hidden by may_find


# -- review 3 (#15: literal-first patterns, escapes by str.replace, says_image) ----------------
# The forms before #15, copied as they were (393b252), not derived from the new ones.
_MATCHER_BEFORE = re.compile(r"""(?<![\w-])image\s*(?:!=|=~|!~)(?:\s*\\*(["'`])(?:(?!\1).)*?\\*\1|[ \t]*)\s*[,})]""")
_FLAG_BEFORE = re.compile(r"(?<!\S)-[^\s=]*image", re.IGNORECASE)


def _every_text(pieces: list[str], most: int) -> Iterator[str]:
    import itertools

    for length in range(most + 1):
        for combination in itertools.product(pieces, repeat=length):
            yield "".join(combination)


def _matches(pattern: re.Pattern[str], text: str) -> list[tuple[tuple[int, int], tuple[str | None, ...]]]:
    return [(match.span(), match.groups()) for match in pattern.finditer(text)]


def test_review3_the_literal_first_patterns_match_as_before_on_every_short_text() -> None:
    """Every text of up to 5 (matcher) or 6 (flag) pieces: the same matches, spans and groups."""
    matcher_pieces = ["image", "-", "a", " ", "!=", "=~", '"', "\\", "}", "é"]
    for text in _every_text(matcher_pieces, 5):
        assert _matches(discovery._IMAGE_MATCHER, text) == _matches(_MATCHER_BEFORE, text), text
    for text in _every_text(["-", "image", "IMAGE", " ", "x", "=", "\xa0", "\x85"], 6):
        assert _matches(discovery._FLAG_IMAGE, text) == _matches(_FLAG_BEFORE, text), text


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=st.sampled_from("imageIMAGE\u0130\u0131\u017f-_ x=!~\"'`\\},)\t\n\r\x85\xa0\u2028\u3000é0"), max_size=40))
def test_review3_the_literal_first_patterns_match_as_before(text: str) -> None:
    assert _matches(discovery._IMAGE_MATCHER, text) == _matches(_MATCHER_BEFORE, text)
    assert _matches(discovery._FLAG_IMAGE, text) == _matches(_FLAG_BEFORE, text)


def test_review3_says_image_reads_every_character_as_the_case_blind_pattern() -> None:
    """All of Unicode: the characters ``re.IGNORECASE`` matches to each letter of "image" are
    those ``says_image``'s fold and ``str.lower`` make it, and each is one character then (so
    that a text says "image" to one exactly when it does to the other)."""
    characters = [chr(code) for code in range(1, 0x110000)]  # (0 is the separator below)
    made = "\0".join(characters).translate(discovery._FOLD).lower().split("\0")
    assert len(made) == len(characters)
    assert not [c for c, m in zip(characters, made) if len(m) != 1 and set(m) & set("image")]
    every = "".join(characters)
    for letter in "image":
        assert set(re.findall(letter, every, re.IGNORECASE)) == {c for c, m in zip(characters, made) if m == letter}, letter
    variants = {c: m for c, m in zip(characters, made) if m in set("image")}
    assert set(variants) >= {"\u0130", "\u0131", "I", "e"}
    for position, letter in enumerate("image"):
        for character, made_letter in variants.items():
            for text in ("image"[:position] + character + "image"[position + 1:], "é-" + "image"[:position] + character + "image"[position + 1:]):
                assert discovery.says_image(text) == bool(discovery._IMAGE_WORD.search(text)) == (made_letter == letter), text
    for text in ("", "imag", "imagé", "i\u0307mage", "\u0130\u0307mage", "ima ge", "IMAG\u0130"):
        assert discovery.says_image(text) == bool(discovery._IMAGE_WORD.search(text)) is False, text


def test_review3_escapes_are_read_as_before_on_every_short_text() -> None:
    """Every text of up to 6 of these characters: ``_unescaped`` reads what the pattern did."""
    for text in _every_text(["\\", '"', "n", "u", "/", "0", "\t", "N"], 6):
        assert discovery._unescaped(text) == _reference_unescape(text), repr(text)
