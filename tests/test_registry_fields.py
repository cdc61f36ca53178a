"""Rule field ``registries``: a registry an operator prefixes the images it derives with (Tigera's
``Installation.spec.registry``): rewritten where set, the mirror's prefix inserted where not."""
from __future__ import annotations

from pathlib import Path

import pytest

from postrender.commands.check import Outcome, check_stream
from postrender.errors import ConfigError
from postrender.rules import load_rule_file, load_rules
from postrender.settings import Settings
from postrender.testing import render

HEAD = "apiVersion: operator.tigera.io/v1\nkind: Installation\nmetadata:\n  name: default\n"
FOLDER = {"registry": "registry.intern", "folder": "civitas"}

CASES = [
    ("absent: the mirror's prefix for the operator's registry is inserted",
     "spec:\n  variant: Calico\n", "spec:\n  registry: registry.intern/civitas/\n  variant: Calico\n"),
    ("set: rewritten, the slash kept", "spec:\n  registry: quay.io/\n  imagePath: calico\n",
     "spec:\n  registry: registry.intern/civitas/\n  imagePath: calico\n"),
    ("set without a slash", "spec:\n  registry: 'docker.io'\n", "spec:\n  registry: 'registry.intern/civitas'\n"),
    ("set to a registry with a port and a path", "spec:\n  registry: mirror.example:5000/calico-images/\n",
     "spec:\n  registry: registry.intern/civitas/calico-images/\n"),
    ("already the mirror: left alone", "spec:\n  registry: registry.intern/civitas/\n", "spec:\n  registry: registry.intern/civitas/\n"),
    ("flow mapping", "spec: {variant: Calico}\n", "spec: {registry: registry.intern/civitas/, variant: Calico}\n"),
    ("empty flow mapping: JSON, as the pull secrets", "spec: {}\n", 'spec: {"registry": "registry.intern/civitas/"}\n'),
    ("CRLF", "spec:\r\n  variant: Calico\r\n", "spec:\r\n  registry: registry.intern/civitas/\r\n  variant: Calico\r\n"),
]


@pytest.mark.parametrize(("case", "spec", "expected"), CASES, ids=[c[0] for c in CASES])
def test_registry_field(case: str, spec: str, expected: str) -> None:
    result = render(HEAD + spec, **FOLDER)
    assert result.output == HEAD + expected
    assert render(result.output, **FOLDER).output == result.output  # idempotent


def test_an_implied_registry_is_said_and_fails_check_until_post_rendered() -> None:
    stream = HEAD + "spec:\n  variant: Calico\n"
    result = render(stream, **FOLDER)
    assert any("the operator pulls the images it derives from quay.io (no spec.registry is set)" in w for w in result.warnings)
    settings = Settings(**FOLDER)
    rules = load_rules()
    before, after = Outcome(), Outcome()
    check_stream(stream, "s.yaml", settings, rules, before)
    assert [p.message for p in before.problems] == [
        "registry setting quay.io is not registry.intern (post-render makes it registry.intern/civitas)"]
    check_stream(result.output, "s.yaml", settings, rules, after)
    assert after.problems == []


@pytest.mark.parametrize(("spec", "reported"), [
    ("spec:\n  registry: ''\n", "and it is empty; set spec.registry to the mirror"),
    ("spec:\n  registry:\n  variant: Calico\n", "and it is empty; set spec.registry to the mirror"),
    ("spec:\n  registry: not a registry\n", "'not a registry' is no registry"),
    ("spec:\n  registry: UseDefault\n", "'UseDefault' is no registry (the operator's own is used, or none)"),
    ("status: {}\n", "from its own registry (quay.io/): there is no spec.registry to set"),
])
def test_what_leaves_the_operator_on_its_own_registry_is_left_public(spec: str, reported: str) -> None:
    """Reported, counted, fatal for --strict and check: never silent (an Installation without spec, or
    with Tigera's UseDefault, was silent or only a warning, and check said ok)."""
    result = render(HEAD + spec, **FOLDER)
    assert result.output == HEAD + spec
    assert [m for m in result.findings.left_public if reported in m], result.findings.left_public
    outcome = Outcome()
    check_stream(HEAD + spec, "s.yaml", Settings(**FOLDER), load_rules(), outcome)
    assert [p.left_public for p in outcome.problems] == [True]


@pytest.mark.parametrize(("entry", "problem"), [
    ("{field: $.spec.registry, default: quay.io/, other: 1}", "unknown key(s) other"),
    ("{field: '$.spec[0]', default: quay.io/}", "'field' must be a plain path ending in a key"),
    ("{field: $.spec.registry, default: 'not a registry'}", "'default' must be a registry"),
])
def test_rule_file_mistakes_are_named(tmp_path: Path, entry: str, problem: str) -> None:
    rule_file = tmp_path / "r.yaml"
    rule_file.write_text("rules:\n  - id: a/b\n    description: d\n    match: [{group: x.io, kinds: [K]}]\n"
                         f"    registries:\n      - {entry}\n")
    with pytest.raises(ConfigError, match="field 'registries'") as raised:
        load_rule_file(rule_file)
    assert problem in str(raised.value)


@pytest.mark.parametrize(("spec", "expected"), [
    ("spec: {}\n", 'spec: {"imagePullSecrets": [{"name": "regcred"}], "registry": "registry.intern/civitas/"}\n'),
    ("spec:\n  {}\n", 'spec:\n  {"imagePullSecrets": [{"name": "regcred"}], "registry": "registry.intern/civitas/"}\n'),
    ("spec: { }\n", 'spec: {"imagePullSecrets": [{"name": "regcred"}], "registry": "registry.intern/civitas/" }\n'),
])
def test_registry_and_pull_secrets_inserted_into_one_empty_flow_mapping(spec: str, expected: str) -> None:
    """Two insertions after one "{" (was: no comma between them, output that does not parse, exit 3)."""
    result = render(HEAD + spec, pull_secrets=("regcred",), **FOLDER)
    assert result.output == HEAD + expected
    assert render(result.output, pull_secrets=("regcred",), **FOLDER).output == result.output
