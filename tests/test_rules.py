"""Rule files: the schema check, user rules for new CRDs, matching by group and kind."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_cli
from postrender.errors import ConfigError
from postrender.rules import builtin_rules_dir, load_rule_file, load_rules
from postrender.testing import render

GATEWAY = """\
apiVersion: gateway.example.io/v1
kind: Gateway
metadata:
  name: edge
spec:
  proxy:
    image: quay.io/example/proxy:2.0
  sidecars:
    - name: logs
      image: fluent/fluent-bit:3.2
      env:
        - name: HELPER_IMAGE
          value: quay.io/example/helper:1.1
"""
GATEWAY_RULE = """\
rules:
  - id: example/gateway
    description: Gateway runs spec.proxy.image and sidecars
    match:
      - {group: gateway.example.io, kinds: [Gateway]}
    images: ["$.spec.proxy.image"]
    containers: ["$.spec.sidecars[*]"]
    pullSecrets:
      - {anchor: "$.spec", field: podTemplate.spec.imagePullSecrets}
"""


def test_builtin_rules_load_and_are_shipped() -> None:
    rules = load_rules()
    assert len(rules.rules) >= 25
    assert {Path(r.source).parent for r in rules.rules} == {builtin_rules_dir()}
    # built-in paths compile lazily (start-up time): make sure every one of them compiles
    for rule in rules.rules:
        paths = [*rule.pod_specs, *rule.containers, *rule.images, *rule.schema_defaults, *rule.items,
                 *(n.path for n in rule.named_values), *(p.anchor for p in rule.pull_secrets)]
        for path in paths:
            assert callable(path.evaluate), (rule.id, path.text)


def test_user_rule_turns_candidates_into_images(tmp_path: Path) -> None:
    without = render(GATEWAY, registry="registry.intern")
    # unruled: fully qualified references under image keys are rewritten, a bare name is reported
    assert without.output == GATEWAY.replace("quay.io/example/", "registry.intern/example/")
    assert {s.path for s in without.plan.candidates_left} == {"spec.sidecars[0].image"}
    rule_file = tmp_path / "gateway.yaml"
    rule_file.write_text(GATEWAY_RULE)
    result = render(GATEWAY, registry="registry.intern", pull_secrets=["regcred"], rules=[rule_file])
    assert result.output == GATEWAY.replace("spec:\n", "spec:\n  podTemplate:\n    spec:\n      imagePullSecrets:\n        - name: regcred\n").replace(
        "quay.io/example/proxy", "registry.intern/example/proxy").replace(
        "fluent/fluent-bit", "registry.intern/fluent/fluent-bit").replace(
        "quay.io/example/helper", "registry.intern/example/helper")
    assert {(s.path, s.rule) for s in result.findings.sites} == {
        ("spec.proxy.image", "example/gateway"), ("spec.sidecars[0].image", "example/gateway"),
        ("spec.sidecars[0].env[0].value", "example/gateway")}


def test_user_rule_through_the_cli(tmp_path: Path) -> None:
    rule_file = tmp_path / "gateway.yaml"
    rule_file.write_text(GATEWAY_RULE)
    result = run_cli(["--registry", "registry.intern", "--rules", str(rule_file)], GATEWAY)
    assert result.returncode == 0 and b"registry.intern/example/proxy:2.0" in result.stdout


def test_group_must_match(tmp_path: Path) -> None:
    stream = GATEWAY.replace("gateway.example.io/v1", "other.example.io/v1")
    rule_file = tmp_path / "gateway.yaml"
    rule_file.write_text(GATEWAY_RULE)
    result = render(stream, registry="registry.intern", rules=[rule_file])
    assert {s.rule for s in result.findings.sites} == {"heuristic/image-key"}  # only the unruled heuristics
    assert "fluent/fluent-bit:3.2" in result.output


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        ("rules: {}\n", ["expected a mapping with a 'rules:' list"]),
        ("rules:\n  - id: a/b\n    description: x\n    match: []\n", ["rule 'a/b'", "'match'", "at least one"]),
        ("rules:\n  - id: a/b\n    description: x\n    match: [{group: x, kinds: [K]}]\n    imagez: []\n", ["rule 'a/b'", "'imagez'", "unknown field"]),
        ("rules:\n  - id: a/b\n    description: x\n    match: [{group: x, kinds: [K]}]\n    images: ['$.spec[?(@.a']\n", ["rule 'a/b'", "'images'", "invalid path"]),
        ("rules:\n  - id: a/b\n    description: x\n    match: [{group: x, kinds: [K]}]\n    images: '$.spec.image'\n", ["'images'", "expected a list of strings"]),
        ("rules:\n  - description: x\n    match: [{group: x, kinds: [K]}]\n", ["rule #1", "'id'"]),
        ("rules:\n  - id: a/b\n    description: x\n    match: [{group: x, kinds: [K]}]\n    pullSecrets: [{anchor: $, field: a, style: list}]\n", ["'pullSecrets'", "style must be one of"]),
        ("rules:\n  - id: a/b\n    description: x\n    match: [{group: x, kinds: [K]}]\n    imageLocation: nowhere\n", ["'imageLocation'", "expected one of"]),
        ("rules:\n  - id: a/b\n    description: x\n    match: [{group: x}]\n", ["'match'", "'kinds'"]),
        ("rules: [\n", ["invalid YAML", "line"]),
    ],
)
def test_schema_errors_name_file_rule_and_field(tmp_path: Path, content: str, fragments: list[str]) -> None:
    rule_file = tmp_path / "bad-rules.yaml"
    rule_file.write_text(content)
    with pytest.raises(ConfigError) as error:
        load_rule_file(rule_file)
    message = str(error.value)
    assert str(rule_file) in message
    for fragment in fragments:
        assert fragment in message


def test_duplicate_rule_id_is_rejected(tmp_path: Path) -> None:
    rule_file = tmp_path / "dup.yaml"
    rule_file.write_text("rules:\n  - id: kubernetes/pod\n    description: x\n    match: [{group: '', kinds: [Pod]}]\n")
    with pytest.raises(ConfigError, match="already defined"):
        load_rules((rule_file,))


def test_unreadable_rule_file_exits_1(tmp_path: Path) -> None:
    result = run_cli(["--registry", "registry.intern", "--rules", str(tmp_path / "missing.yaml")], GATEWAY)
    assert result.returncode == 1 and result.stdout == b"" and b"missing.yaml: cannot read it" in result.stderr


def test_plain_paths_evaluate_as_jsonpath_ng_compiles_them() -> None:
    """Built-in paths skip jsonpath-ng's parser (start-up time); on every fixture document
    both must find the very same nodes at the very same paths."""
    import yaml

    from conftest import FIXTURES
    from postrender.paths import _compile_simple, compile_with_jsonpath

    rules = load_rules()
    texts = set()
    for rule in rules.rules:
        for path in [*rule.pod_specs, *rule.containers, *rule.images, *rule.schema_defaults, *rule.items,
                     *(n.path for n in rule.named_values), *(p.anchor for p in rule.pull_secrets)]:
            texts.add(path.text)
    texts |= {"$.spec['template'].spec", "$.items[0]", "$.*", "$..image"}
    streams = [p for p in sorted(FIXTURES.rglob("*.yaml")) if "charts" not in p.relative_to(FIXTURES).parts]  # chart sources are templates
    documents = [doc for stream in streams
                 for doc in yaml.compose_all(stream.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
                 if isinstance(doc, yaml.MappingNode)]
    assert len(documents) > 40
    for text in sorted(texts):
        simple = _compile_simple(text)
        assert simple is not None, text  # every built-in path is a plain one
        full = compile_with_jsonpath(text)
        for doc in documents:
            assert [(id(n), p) for n, p in simple(doc, ())] == [(id(n), p) for n, p in full(doc, ())], text


def test_the_fast_path_never_skips_a_kind_whose_rules_look_somewhere() -> None:
    """read_or_check reads a document's kind from its text and skips documents whose rules
    look nowhere; every rule that looks anywhere but at schema defaults must keep its kinds read
    (a rule field added later and forgotten there would silently skip its kinds)."""
    from conftest import cannot_hold_images

    rules = load_rules()
    checked = 0
    for rule in rules.rules:
        if not rule.looks_past_schema_defaults:
            continue
        for match in rule.match:
            for kind in match.kinds:
                if "*" in kind or match.group == "*":
                    continue
                api_version = f"{match.group}/v1" if match.group else "v1"
                text = f"apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: x\nspec: {{}}\n"
                assert not cannot_hold_images(text, rules), (rule.id, kind)
                checked += 1
    assert checked > 80


def test_every_place_a_rule_can_look_counts_for_the_fast_path() -> None:
    """Each Rule field that names places to look makes looks_past_schema_defaults true on its own."""
    import dataclasses

    from postrender.rules import Rule

    plain = {"id", "description", "source", "match", "image_location", "container_location", "schema_defaults"}
    for field in dataclasses.fields(Rule):
        if field.name in plain:
            continue
        rule = Rule(id="a/b", description="d", source="s", match=(), **{field.name: (object(),)})  # type: ignore[arg-type]
        assert rule.looks_past_schema_defaults, field.name


def test_a_match_may_name_api_versions(tmp_path: Path) -> None:
    rule_file = tmp_path / "versions.yaml"
    rule_file.write_text("rules:\n  - id: a/v1\n    description: d\n    match: [{group: x.io, kinds: [K], versions: [v1]}]\n"
                         "    images: [$.spec.image]\n  - id: a/any\n    description: d\n    match: [{group: x.io, kinds: [K]}]\n"
                         "    images: [$.spec.other]\n")
    rules = load_rules((rule_file,))
    assert [r.id for r in rules.for_kind("x.io/v1", "K")] == ["a/v1", "a/any"]
    assert [r.id for r in rules.for_kind("x.io/v1beta1", "K")] == ["a/any"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - id: a/b\n    description: d\n    match: [{group: x.io, kinds: [K], versions: v1}]\n")
    with pytest.raises(ConfigError, match="versions"):
        load_rules((bad,))
