"""Images inside strings: env vars, args, image-like keys — found where they are, and decoys never."""
from __future__ import annotations

import pytest

from postrender import heuristics
from postrender.errors import InputError
from postrender.heuristics import in_args, in_text, in_value, is_candidate_key, keyed_lines
from postrender.settings import Settings
from postrender.testing import render


@pytest.mark.parametrize(
    ("name", "value", "found"),
    [
        ("OPERATOR_IMAGE_NAME", "ghcr.io/cloudnative-pg/cloudnative-pg:1.25.1", ["ghcr.io/cloudnative-pg/cloudnative-pg:1.25.1"]),
        ("RELATED_IMAGE_GRAFANA", "docker.io/grafana/grafana:11.5.2", ["docker.io/grafana/grafana:11.5.2"]),
        ("SIDECAR_IMAGE", "busybox:1.37", ["busybox:1.37"]),
        ("defaultImage", "bitnami/kubectl:1.32", ["bitnami/kubectl:1.32"]),
        ("KAFKA_IMAGES", "3.8.0=quay.io/strimzi/kafka:a\n3.9.0=quay.io/strimzi/kafka:b\n", ["quay.io/strimzi/kafka:a", "quay.io/strimzi/kafka:b"]),
        ("EXTRA_IMAGES", "quay.io/a/b:1, quay.io/a/c:2", ["quay.io/a/b:1", "quay.io/a/c:2"]),
        ("MAVEN_BUILDER", "quay.io/strimzi/maven-builder:0.45.0", ["quay.io/strimzi/maven-builder:0.45.0"]),  # qualified value
        ("HELPER", f"registry.k8s.io/pause@sha256:{'b' * 64}", [f"registry.k8s.io/pause@sha256:{'b' * 64}"]),
        # decoys
        ("IMAGE_PULL_POLICY", "IfNotPresent", []),
        ("IMAGE_PULL_SECRET", "regcred", []),
        ("IMAGE_TAG", "1.2.3", []),
        ("IMAGE_REGISTRY", "ghcr.io", []),
        ("IMAGE_REPOSITORY", "bitnami/redis", []),
        ("DEFAULT_IMAGE", "redis", []),  # a bare word is too ambiguous
        ("SERVICE_HOST", "api.example.com:443", []),
        ("WEBHOOK_URL", "https://hooks.example.com/x:1", []),
        ("CONTROLLER_CLASS", "k8s.io/ingress-nginx", []),
        ("POD_CIDR", "10.42.0.0/16", []),
        ("SOME_IMAGE", "$(params.IMAGE)", []),
    ],
)
def test_env_values(name: str, value: str, found: list[str]) -> None:
    hits = in_value(value, name)
    assert [text for _, text, _ in hits] == found
    for offset, text, _ in hits:
        assert value[offset:offset + len(text)] == text


@pytest.mark.parametrize(
    ("args", "found"),
    [
        (["--acme-http01-solver-image=quay.io/jetstack/cert-manager-acmesolver:v1.17.1"], [(0, "quay.io/jetstack/cert-manager-acmesolver:v1.17.1")]),
        (["--default-image=nginx:1.27"], [(0, "nginx:1.27")]),
        (["-image=ghcr.io/x/y:1"], [(0, "ghcr.io/x/y:1")]),
        (["--sidecar-image", "quay.io/x/sidecar:2"], [(1, "quay.io/x/sidecar:2")]),
        (["--prometheus-config-reloader=quay.io/p/reloader:v0.80.0"], [(0, "quay.io/p/reloader:v0.80.0")]),
        (["--executor-image", "--verbose"], []),
        (["--image-pull-policy=Always", "--image-pull-secret=regcred"], []),
        (["--controller-class=k8s.io/ingress-nginx", "--publish-service=ingress/controller"], []),
        (["--field-selector=type!=kubernetes.io/service-account-token"], []),
        (["--cluster-cidr=10.0.0.0/16", "--api=https://kube.example:6443/api"], []),
        (["sh", "-c", "exec app --image=busybox:1.37"], []),  # inside a shell string: not an arg of the container
    ],
)
def test_args(args: list[str], found: list[tuple[int, str]]) -> None:
    assert [(index, text) for index, _, text, _ in in_args(args)] == found


@pytest.mark.parametrize(
    ("key", "candidate"),
    [("image", True), ("proxyImage", True), ("docker_image", True), ("imageName", True), ("baseImageName", True),
     ("imagePullPolicy", False), ("imagePullSecrets", False), ("images", False), ("imageTag", False),
     ("image_pull_secret", False), ("imageRegistry", False), ("name", False)],
)
def test_candidate_keys(key: str, candidate: bool) -> None:
    assert is_candidate_key(key) is candidate


OTHER_OPERATOR = """\
# Source: other-operator/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: other-operator
  labels:
    app.kubernetes.io/name: other-operator
  annotations:
    example.io/default-image: quay.io/not/an-image-field:1
spec:
  template:
    spec:
      containers:
        - name: manager
          image: ghcr.io/other/operator:2.4.0
          args:
            - --leader-elect
            - --default-sidecar-image=docker.io/envoyproxy/envoy:v1.33.0
            - --backup-image
            - ghcr.io/other/backup:2.4.0
            - --controller-class=k8s.io/other
            - --metrics-bind-address=:8080
          env:
            - name: RELATED_IMAGE_DATABASE
              value: "docker.io/library/postgres:17.4"
            - name: WORKER_IMAGES
              value: |
                v1=ghcr.io/other/worker:1.0
                v2=ghcr.io/other/worker:2.0
            - name: IMAGE_PULL_POLICY
              value: IfNotPresent
            - name: TZ
              value: Europe/Berlin
---
# Source: other-operator/templates/config.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: other-config
data:
  defaultImage: ghcr.io/other/default:1
  config.yaml: |
    image: ghcr.io/other/embedded:1
"""


def test_other_spellings_end_to_end() -> None:
    result = render(OTHER_OPERATOR, registry="registry.intern")
    found = sorted((site.path, site.text) for site, _ in result.plan.rewrites)
    assert found == [
        ("data.config.yaml > image", "ghcr.io/other/embedded:1"),  # ConfigMap data is searched by shape
        ("data.defaultImage", "ghcr.io/other/default:1"),
        ("spec.template.spec.containers[0].args[1] (after --default-sidecar-image=)", "docker.io/envoyproxy/envoy:v1.33.0"),
        ("spec.template.spec.containers[0].args[3] (value of preceding arg --backup-image)", "ghcr.io/other/backup:2.4.0"),
        ("spec.template.spec.containers[0].env[0].value", "docker.io/library/postgres:17.4"),
        ("spec.template.spec.containers[0].env[1].value (after v1=)", "ghcr.io/other/worker:1.0"),
        ("spec.template.spec.containers[0].env[1].value (after v2=)", "ghcr.io/other/worker:2.0"),
        ("spec.template.spec.containers[0].image", "ghcr.io/other/operator:2.4.0"),
    ]
    out = result.output
    assert "- --default-sidecar-image=registry.intern/envoyproxy/envoy:v1.33.0\n" in out
    assert "v1=registry.intern/other/worker:1.0\n                v2=registry.intern/other/worker:2.0\n" in out
    # decoys untouched, byte for byte
    assert "  defaultImage: registry.intern/other/default:1\n  config.yaml: |\n    image: registry.intern/other/embedded:1\n" in out
    for decoy in ("app.kubernetes.io/name: other-operator", "example.io/default-image: quay.io/not/an-image-field:1",
                  "--controller-class=k8s.io/other", "value: IfNotPresent", "value: Europe/Berlin"):
        assert decoy in out


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("containers:\n  - name: jnlp\n    image: \"jenkins/inbound-agent:3206\"\n", ["jenkins/inbound-agent:3206"]),
        ("- image: node:12.6.0  # pinned\n", ["node:12.6.0"]),
        ('{"sidecarImage": "acme/sidecar:1.2",\n "x": 1}', ["acme/sidecar:1.2"]),
        ("helper_image = 'gitlab/helper:x86_64-v16'\n", ["gitlab/helper:x86_64-v16"]),
        # decoys: about images, not an image; a bare word; a template; more on the line
        ("imagePullPolicy: Always\nimage_tag: 1.2.3\nimage: busybox\n", []),
        ("image: ${IMAGE}\nimage: {{ .Values.image }}\nimage: <your-image>\n", []),
        ("echo image: acme/x:1 is used\n", []),
    ],
)
def test_keyed_lines(text: str, found: list[str]) -> None:
    hits = keyed_lines(text)
    assert [ref for _, ref, _ in hits] == found
    for offset, ref, _ in hits:
        assert text[offset:offset + len(ref)] == ref


BROKEN_CASC = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: casc
data:
  casc.yaml: |
    jenkins:
      clouds:
        - kubernetes:
            templates:
              - containers:
                  - name: jnlp
                    image: "acme/agent:4.1"
    jobs:
      - script: >
        pipelineJob('x') {
        }
"""


def test_image_line_in_a_config_that_does_not_parse_is_reported() -> None:
    """The config does not parse (a folded script indented too little): the image on its
    ``image:`` line is reported as left public, counted, and fatal with --strict (was silent)."""
    result = render(BROKEN_CASC, registry="registry.intern")
    assert result.output == BROKEN_CASC
    assert any("'acme/agent:4.1'" in line and "does not parse" in line for line in result.findings.left_public)


def test_one_line_message_is_not_a_keyed_line() -> None:
    """``MESSAGE: "image: nginx:1.25"`` is a message; the same line among a config's lines is a mention."""
    assert in_text("image: nginx:1.25", "MESSAGE") == ([], [])
    assert [ref for _, ref, _ in in_text("kind: agent\nimage: nginx:1.25\n", "MESSAGE")[1]] == ["nginx:1.25"]


INI_SPLIT = """\
[core]
executor = KubernetesExecutor
[kubernetes_executor]
namespace = jobs
worker_container_repository = example/worker
worker_container_tag = 2.9.3
delete_worker_pods = True
"""


@pytest.mark.parametrize("text, expected", [
    (INI_SPLIT, [("example/worker", "split: name of docker.io/example/worker:2.9.3")]),
    ("runner.image.registry: quay.io\nrunner.image.repository: example/runner\nrunner.image.tag: v1\n",
     [("quay.io", "split: registry of quay.io/example/runner:v1"), ("example/runner", "split: path of quay.io/example/runner:v1")]),
    ("git_repo = https://github.com/example/app.git\ngit_tag = v1.0\n", []),  # a URL is no repository of an image
    ("chart_repository = ${CHART_REPO}\nchart_tag = 1.2.3\n", []),  # a placeholder is not searched
    ("worker_container_repository = example/worker\n", []),  # no tag beside it: nothing joined
])
def test_split_lines(text: str, expected: list[tuple[str, str]]) -> None:
    """``X_repository = R`` + ``X_tag = T`` lines of a config kept as text: the repository value
    with the joined reference in its label (was silent: no key said image, no part is qualified)."""
    found = heuristics.split_lines(text)
    assert [(ref, label) for _, ref, label in found] == expected
    for offset, ref, _ in found:
        assert text[offset:offset + len(ref)] == ref


def test_ini_split_in_a_config_map_is_reported() -> None:
    """Airflow-style airflow.cfg in ConfigMap data: the worker image is reported (counted,
    --strict fails), never silent; nothing in the text is changed."""
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  airflow.cfg: |\n" + "".join(
        f"    {line}\n" for line in INI_SPLIT.splitlines())
    result = render(manifest, registry="registry.intern", folder="civitas")
    assert result.output == manifest
    reported = result.findings.left_public + [s.text for s in result.plan.candidates_left]
    assert any("example/worker" in r for r in reported)
    with pytest.raises(InputError):
        render(manifest, registry="registry.intern", folder="civitas", strict=True)


def test_split_lines_in_plain_text_are_candidates() -> None:
    """The same lines in a text that parses as no config (one YAML scalar): a candidate naming the
    joined reference; --rewrite-candidates rewrites the repository to the target's path, the tag
    line stays (was skipped before any search: the leaf test knew no split lines)."""
    manifest = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  worker: |\n"
                "    worker_container_repository = example/worker\n    worker_container_tag = 2.9.3\n")
    result = render(manifest, registry="registry.intern", folder="civitas")
    assert result.output == manifest
    assert [s.path for s in result.plan.candidates_left] == ["data.worker (split: name of docker.io/example/worker:2.9.3)"]
    # the mirror list names the image with its tag (it held the repository alone)
    assert [(s.text, s.part) for s in result.plan.candidates_left] == [("docker.io/example/worker:2.9.3", "name")]
    listed = result.image_list(Settings(registry="registry.intern", folder="civitas"))["images"]
    assert [(i["source"], i["tag"]) for i in listed] == [("docker.io/example/worker:2.9.3", "2.9.3")]
    rewritten = render(manifest, registry="registry.intern", folder="civitas", rewrite_candidates=True)
    assert "worker_container_repository = registry.intern/civitas/example/worker\n    worker_container_tag = 2.9.3\n" in rewritten.output


def test_split_lines_of_a_config_that_does_not_parse_name_the_joined_reference() -> None:
    manifest = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  airflow.cfg: |\n    [kubernetes_executor]\n"
                "    worker_container_repository = example/worker\n    worker_container_tag = 2.9.3\n")
    result = render(manifest, registry="registry.intern", folder="civitas")
    assert result.output == manifest
    assert [m.split(": ", 1)[1] for m in result.findings.left_public] == [
        "'docker.io/example/worker:2.9.3' left as is: the embedded config does not parse, so it is not searched"]


@pytest.mark.parametrize(("value", "why"), [
    ("ghcr.io/Acme/App:1.0", "upper-case letters in the repository"),
    ("registry.intern:5000/Team/app", "upper-case letters in the repository"),
    ("Nginx:1.27", "upper-case letters in the repository"),
    ("nginx:" + "a" * 129, "a tag of 129 characters (Docker allows 128)"),
    ("quay.io/" + "a/" * 130 + "x:1", "a name of 269 characters (Docker allows 255)"),
    ("quay.io/a:b:c", "Docker does not accept it as a reference"),
    ("x@sha256:zz", "Docker does not accept it as a reference"),
    # no reference meant, or a valid one: None
    ("nginx:1.27", None), ("nginx:" + "a" * 128, None), ("ACME/app", None),  # Go reads an upper-case first part as a registry
    ("Always", None), ("1.2.3", None), ("v1.2", None), ("MyImage", None), ("image.png", None),
    ("/static/logo.png", None), ("./a/b:c", None), ("http://x/y:1", None), ("oci://ghcr.io/a/b:1", None),
    ("redis:6379", None), ("example.com:443", None), ("sha256:abc", None), ("data:image/png;base64,xx", None),
    ("C:/Images/a.png", None), ("urn:acme/Image:1", None), ("${IMAGE}", None), ("{{ .Values.image }}", None), ("a b:c", None), ("q" * 3000 + "/x:Y", None),
])
def test_malformed_reference(value: str, why: str | None) -> None:
    assert heuristics.malformed_reference(value) == why
