"""Images a resource implies (``implied`` in rule files): listed, made explicit, reported when
they cannot be determined (postrender/implied.py)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_cli
from postrender.errors import ConfigError, InputError
from postrender.rules import load_rule_file
from postrender.testing import render

REGISTRY = {"registry": "registry.intern", "folder": "civitas"}
KIBANA = "apiVersion: kibana.k8s.elastic.co/v1\nkind: Kibana\nmetadata:\n  name: kb\nspec:\n  version: 8.19.0\n  count: 1\n"
KAFKA = "apiVersion: kafka.strimzi.io/v1beta2\nkind: Kafka\nmetadata:\n  name: k\nspec:\n  kafka:\n    version: 4.1.0\n    replicas: 1\n"
OPERATOR = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: strimzi-cluster-operator
spec:
  template:
    spec:
      containers:
        - name: operator
          image: quay.io/strimzi/operator:0.48.0
          env:
            - name: STRIMZI_KAFKA_IMAGES
              value: |
                4.1.0=quay.io/strimzi/kafka:0.48.0-kafka-4.1.0
"""


def test_implied_image_is_written_into_its_field_and_listed() -> None:
    result = render(KIBANA, **REGISTRY)
    assert result.output == KIBANA.replace("spec:\n", "spec:\n  image: registry.intern/civitas/kibana/kibana:8.19.0\n")
    listed = result.image_list(result_settings())["images"]
    assert [(i["source"], i.get("implied")) for i in listed] == [("docker.elastic.co/kibana/kibana:8.19.0", True)]
    assert listed[0]["occurrences"][0]["implied"] is True
    assert render(result.output, **REGISTRY).output == result.output  # explicit now: nothing more to do


def result_settings() -> object:
    from postrender.settings import Settings

    return Settings(**REGISTRY)


@pytest.mark.parametrize("order", ["resource first", "operator first"])
def test_version_is_looked_up_in_the_operators_list_anywhere_in_the_stream(order: str) -> None:
    stream = KAFKA + "---\n" + OPERATOR if order == "resource first" else OPERATOR + "---\n" + KAFKA
    result = render(stream, **REGISTRY)
    assert "    image: registry.intern/civitas/strimzi/kafka:0.48.0-kafka-4.1.0\n    version: 4.1.0\n" in result.output
    assert not [w for w in result.warnings if "default" in w]


def test_without_the_operator_the_rules_default_is_used_and_reported() -> None:
    result = render(KAFKA, **REGISTRY)
    assert "    image: registry.intern/civitas/strimzi/kafka:1.2.0-kafka-4.1.0\n" in result.output
    assert any("is the rule's default" in w and "STRIMZI_KAFKA_IMAGES" in w and "line 7" in w for w in result.warnings)


def test_a_version_the_list_does_not_name_falls_back_to_the_default() -> None:
    result = render(KAFKA.replace("4.1.0", "3.9.0") + "---\n" + OPERATOR, **REGISTRY)
    assert "strimzi/kafka:1.2.0-kafka-3.9.0" in result.output
    assert any("naming version 3.9.0" in w for w in result.warnings)


def test_an_image_that_cannot_be_determined_is_left_public_and_fails_strict() -> None:
    stream = KIBANA.replace("  version: 8.19.0\n", "")
    result = render(stream, **REGISTRY)
    assert result.output == stream
    assert any("cannot be determined (it does not set spec.version)" in w for w in result.warnings)
    with pytest.raises(InputError, match="strict: .*cannot be determined"):
        render(stream, strict=True, **REGISTRY)


def test_an_empty_image_field_is_listed_but_not_written() -> None:
    stream = KIBANA.replace("spec:\n", "spec:\n  image: ''\n")
    result = render(stream, **REGISTRY)
    assert result.output == stream
    assert any("no place to write it" in w for w in result.warnings)
    listed = result.image_list(result_settings())["images"]
    assert [i["source"] for i in listed] == ["docker.elastic.co/kibana/kibana:8.19.0"]


def test_json_documents_get_json() -> None:
    stream = '{"apiVersion": "kibana.k8s.elastic.co/v1", "kind": "Kibana", "metadata": {"name": "kb"}, "spec": {"version": "8.19.0"}}\n'
    out = render(stream, **REGISTRY).output
    assert json.loads(out)["spec"] == {"image": "registry.intern/civitas/kibana/kibana:8.19.0", "version": "8.19.0"}


def test_images_and_check_see_implied_images(tmp_path: Path) -> None:
    stream = tmp_path / "kibana.yaml"
    stream.write_text(KIBANA)
    listed = run_cli(["images", "--registry", "registry.intern", str(stream)])
    assert listed.returncode == 0 and listed.stdout.decode().splitlines() == ["docker.elastic.co/kibana/kibana:8.19.0"]
    checked = run_cli(["check", "--registry", "registry.intern", str(stream)])
    assert checked.returncode == 1 and b"docker.elastic.co/kibana/kibana:8.19.0 is not served" in checked.stdout


@pytest.mark.parametrize(("entry", "problem"), [
    ('{field: "$.spec", template: "x:{$.v}"}', None),
    ('{field: "spec.image", template: "x"}', "plain path ending in a key"),
    ('{field: "$.spec.image"}', "give 'template', 'lookup'"),
    ('{field: "$.spec.image", lookup: X_IMAGES}', "go together"),
    ('{field: "$.spec.image", template: "x", color: red}', "unknown key"),
])
def test_rule_schema(tmp_path: Path, entry: str, problem: str | None) -> None:
    path = tmp_path / "rule.yaml"
    path.write_text(f"rules:\n  - id: a/b\n    description: d\n    match: [{{group: x.io, kinds: [X]}}]\n    implied:\n      - {entry}\n")
    if problem is None:
        assert load_rule_file(path)[0].implied[0].key == "spec"
    else:
        with pytest.raises(ConfigError, match=problem):
            load_rule_file(path)


def test_implied_image_goes_before_a_merge_key_never_into_the_merged_mapping() -> None:
    stream = KIBANA.replace("  version: 8.19.0\n  count: 1\n", "  <<: {version: 8.19.0, count: 1}\n  config: {}\n")
    out = render(stream, **REGISTRY).output
    assert "spec:\n  image: registry.intern/civitas/kibana/kibana:8.19.0\n  <<: {version: 8.19.0, count: 1}\n" in out
