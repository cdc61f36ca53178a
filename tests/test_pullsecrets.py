"""Pull secrets: exact bytes inserted for every shape a pod spec (or CR field) can have."""
from __future__ import annotations

import pytest

from postrender.testing import render

POD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n{spec}"
TENANT = "apiVersion: minio.min.io/v2\nkind: Tenant\nmetadata:\n  name: t\nspec:\n{spec}"
VMI = "apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata:\n  name: v\nspec:\n  volumes:\n  - name: d\n    containerDisk:\n{spec}"

CASES = [
    ("missing, indented style", POD, "  containers:\n    - name: a\n      image: r.example/a:1\n",
     "  imagePullSecrets:\n    - name: regcred\n    - name: backup\n  containers:\n    - name: a\n      image: r.example/a:1\n"),
    ("missing, indentless style", POD, "  containers:\n  - name: a\n    image: r.example/a:1\n",
     "  imagePullSecrets:\n  - name: regcred\n  - name: backup\n  containers:\n  - name: a\n    image: r.example/a:1\n"),
    ("existing list, one present", POD, "  imagePullSecrets:\n  - name: backup  # kept\n  containers: []\n",
     "  imagePullSecrets:\n  - name: backup  # kept\n  - name: regcred\n  containers: []\n"),
    ("existing list last in a nested item", "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Pod\n    metadata: {{name: p}}\n    spec:\n{spec}  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {{name: c}}\n",
     "      containers: []\n      imagePullSecrets:\n      - name: old\n",
     "      containers: []\n      imagePullSecrets:\n      - name: old\n      - name: regcred\n      - name: backup\n"),
    ("flow list", POD, "  imagePullSecrets: [{name: backup}]\n  containers: []\n",
     "  imagePullSecrets: [{name: backup}, {name: regcred}]\n  containers: []\n"),
    ("empty flow list", POD, "  imagePullSecrets: []\n  containers: []\n",
     "  imagePullSecrets: [{name: regcred}, {name: backup}]\n  containers: []\n"),
    ("null", POD, "  imagePullSecrets:\n  containers: []\n",
     "  imagePullSecrets: [{name: regcred}, {name: backup}]\n  containers: []\n"),
    ("tilde", POD, "  imagePullSecrets: ~\n  containers: []\n",
     "  imagePullSecrets: [{name: regcred}, {name: backup}]\n  containers: []\n"),
    ("all present: no change", POD, "  imagePullSecrets:\n    - name: regcred\n    - name: backup\n  containers: []\n",
     "  imagePullSecrets:\n    - name: regcred\n    - name: backup\n  containers: []\n"),
    ("single-secret field missing", TENANT, "  image: r.example/m:1\n",
     "  imagePullSecret:\n    name: regcred\n  image: r.example/m:1\n"),
    ("single-secret field empty", TENANT, "  imagePullSecret: {}\n  image: r.example/m:1\n",
     "  imagePullSecret: {name: regcred}\n  image: r.example/m:1\n"),
    ("single-secret field set", TENANT, "  imagePullSecret:\n    name: mine\n  image: r.example/m:1\n",
     "  imagePullSecret:\n    name: mine\n  image: r.example/m:1\n"),
    # one name as a string (KubeVirt's containerDisk.imagePullSecret): only the first secret fits
    ("one-name field missing", VMI, "      image: r.example/d:1\n",
     "      imagePullSecret: regcred\n      image: r.example/d:1\n"),
    ("one-name field empty string", VMI, "      imagePullSecret: ''\n      image: r.example/d:1\n",
     "      imagePullSecret: regcred\n      image: r.example/d:1\n"),
    ("one-name field null", VMI, "      imagePullSecret:\n      image: r.example/d:1\n",
     "      imagePullSecret: regcred\n      image: r.example/d:1\n"),
    ("one-name field set", VMI, "      imagePullSecret: mine\n      image: r.example/d:1\n",
     "      imagePullSecret: mine\n      image: r.example/d:1\n"),
    ("one-name field, flow mapping", VMI, "      {image: r.example/d:1}\n",
     "      {imagePullSecret: regcred, image: r.example/d:1}\n"),
    ("one-name field by a merge key", VMI, "      <<: {imagePullSecret: ''}\n      image: r.example/d:1\n",
     "      <<: {imagePullSecret: ''}\n      imagePullSecret: regcred\n      image: r.example/d:1\n"),
    # shared lists are never edited where they are written: a new list holds their entries and ours
    ("aliased list", POD, "  volumes: &v\n  - name: backup\n  imagePullSecrets: *v\n  containers: []\n",
     "  volumes: &v\n  - name: backup\n  imagePullSecrets: [{name: backup}, {name: regcred}]\n  containers: []\n"),
    ("list brought by a merge key", POD, "  <<: {imagePullSecrets: [{name: shared}]}\n  containers: []\n",
     "  <<: {imagePullSecrets: [{name: shared}]}\n  imagePullSecrets: [{name: shared}, {name: regcred}, {name: backup}]\n  containers: []\n"),
    ("merged single-secret field empty", TENANT, "  <<: {imagePullSecret: {}}\n  image: r.example/m:1\n",
     "  <<: {imagePullSecret: {}}\n  imagePullSecret: {name: regcred}\n  image: r.example/m:1\n"),
    # line breaks YAML 1.1 reads besides \n: the new entries go after the list's last line
    ("after a lone CR", POD, "  imagePullSecrets:\n  - name: backup\r  containers: []\n",
     "  imagePullSecrets:\n  - name: backup\r  - name: regcred\n  containers: []\n"),
    ("after U+2028", POD, "  imagePullSecrets:\n  - name: backup\u2028  containers: []\n",
     "  imagePullSecrets:\n  - name: backup\u2028  - name: regcred\n  containers: []\n"),
    ("flow list with a comment", POD, "  imagePullSecrets: [{name: backup}  # kept\n  ]\n  containers: []\n",
     "  imagePullSecrets: [{name: backup}, {name: regcred}  # kept\n  ]\n  containers: []\n"),
]


@pytest.mark.parametrize(("case", "template", "spec", "expected"), CASES, ids=[c[0] for c in CASES])
def test_pull_secrets(case: str, template: str, spec: str, expected: str) -> None:
    stream = template.format(spec=spec)
    result = render(stream, registry="r.example", pull_secrets=("regcred", "backup"))
    assert result.output == template.format(spec=expected)
    assert render(result.output, registry="r.example", pull_secrets=("regcred", "backup")).output == result.output


def test_json_document_stays_json() -> None:
    import json

    stream = '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},\n "spec": {"containers": [{"name": "a", "image": "nginx"}]}}\n'
    out = render(stream, registry="r.example", pull_secrets=("regcred",)).output
    assert json.loads(out)["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
    assert json.loads(out)["spec"]["containers"][0]["image"] == "r.example/library/nginx"


def test_crlf_inserted_lines() -> None:
    stream = POD.format(spec="  containers:\n  - name: a\n    image: r.example/a:1\n").replace("\n", "\r\n")
    out = render(stream, registry="r.example", pull_secrets=("regcred",)).output
    assert "  imagePullSecrets:\r\n  - name: regcred\r\n  containers:\r\n" in out
    assert "\n" not in out.replace("\r\n", "")


def test_names_yaml_would_misread_are_quoted() -> None:
    out = render(POD.format(spec="  containers: []\n"), registry="r.example", pull_secrets=("123", "true")).output
    assert '    - name: "123"\n    - name: "true"\n' in out


def test_strimzi_parents_created_once_for_two_rules() -> None:
    stream = ("apiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaConnect\nmetadata:\n  name: c\n"
              "spec:\n  image: quay.io/strimzi/kafka:1\n  template:\n    deployment: {}\n")
    out = render(stream, registry="r.example", pull_secrets=("regcred",)).output
    assert out == stream.replace("  template:\n", "  template:\n    pod:\n      imagePullSecrets:\n        - name: regcred\n").replace(
        "quay.io/strimzi", "r.example/strimzi")
