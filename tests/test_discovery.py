"""Images found by their shape: ConfigMap/Secret data, split references, embedded configs,
custom-resource strings no rule names (postrender/discovery.py, split.py, value_edits.py)."""
from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from postrender.errors import InputError
from postrender.split import find_block, flat_blocks
from postrender.settings import Settings
from postrender.testing import render

REGISTRY = {"registry": "registry.intern", "folder": "civitas"}


def configmap(data: str) -> str:
    return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n" + data


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(("data", "expected"), [
    # whole references: any under an image-like key, fully qualified under any key
    ("  image: busybox\n", "  image: registry.intern/civitas/library/busybox\n"),
    ("  proxyImage: envoyproxy/envoy:v1.33.0\n", "  proxyImage: registry.intern/civitas/envoyproxy/envoy:v1.33.0\n"),
    ("  PLUGIN_IMAGE: 'ghcr.io/a/p:1'\n", "  PLUGIN_IMAGE: 'registry.intern/civitas/a/p:1'\n"),
    ("  defaults.image: quay.io/a/b@sha256:" + "a" * 64 + "\n", "  defaults.image: registry.intern/civitas/a/b@sha256:" + "a" * 64 + "\n"),
    ("  controller: localhost:5000/a/c:2\n", "  controller: registry.intern/civitas/a/c:2\n"),
    # lists, version=image lines, flags, transports
    ("  sidecars: quay.io/a/x:1 quay.io/a/y:2\n", "  sidecars: registry.intern/civitas/a/x:1 registry.intern/civitas/a/y:2\n"),
    ('  args: "--log=2 --helper-image=ghcr.io/a/h:3"\n', '  args: "--log=2 --helper-image=registry.intern/civitas/a/h:3"\n'),
    ("  src: docker://quay.io/containerdisks/fedora:41\n", "  src: docker://registry.intern/civitas/containerdisks/fedora:41\n"),
    # split keys: the repository moves, the tag stays
    ("  AGENT_REPOSITORY: ghcr.io/a/agent\n  AGENT_TAG: v2\n", "  AGENT_REPOSITORY: registry.intern/civitas/a/agent\n  AGENT_TAG: v2\n"),
    ("  agent.registry: ghcr.io\n  agent.repository: a/agent\n  agent.tag: v2\n",
     "  agent.registry: registry.intern\n  agent.repository: civitas/a/agent\n  agent.tag: v2\n"),
])
def test_data_values_are_rewritten(data: str, expected: str) -> None:
    assert render(configmap(data), **REGISTRY).output == configmap(expected)


@pytest.mark.parametrize("data", [
    "  url: https://quay.io/a/b:1\n",  # a URL
    "  registry: quay.io\n",  # a host without a path
    "  endpoint: redis-master.cache.svc:6379\n",  # host:port
    "  endpoint2: redis:6379\n",
    "  selector: app.kubernetes.io/name\n",  # a label key
    "  path: /var/lib/images/a:b\n",  # a file path
    "  image: logo.png\n",  # a file name under an image key
    "  image: Always\n",
    "  image: '1.2'\n",
    "  tpl: '{{ .Registry }}/a/b:{{ .Tag }}'\n",  # a Go template
    "  cert.pem: |\n    -----BEGIN CERTIFICATE-----\n    MIIBs+quay.io/x:1/abc\n    -----END CERTIFICATE-----\n",
    "  password: quay.io/looks/like:1\n",  # credentials are never searched
    "  schema.json: '{\"$id\": \"https://x.io/image.json\", \"properties\": {\"image\": {\"type\": \"string\"}}}'\n",
    "  AGENT_TAG: v2\n",  # a tag alone
    "  versions: 1.2.3 1.2.4\n",
])
def test_decoys_stay_byte_for_byte(data: str) -> None:
    result = render(configmap(data), **REGISTRY)
    assert result.output == configmap(data)
    assert not result.plan.candidates_left and not result.findings.left_public


@pytest.mark.parametrize(("data", "value"), [
    ("  image: registry.example.com:443\n", "registry.example.com:443"),
    ("  mirror.yaml: |\n    registry:\n      image: harbor.intern.example:5000\n", "harbor.intern.example:5000"),
    ('  settings.json: \'{"sidecarImage": "registry.local:5000"}\'\n', "registry.local:5000"),
])
def test_a_host_and_port_under_an_image_key_is_said_not_rewritten(data: str, value: str) -> None:
    """``registry.example.com:5000`` parses as an image tagged 5000 (docker.io/library/...), but
    in a config found by shape it is far more likely a registry's address: left as is, reported
    as a candidate (counted, failing --strict); --rewrite-candidates rewrites it as any candidate."""
    stream = configmap(data)
    result = render(stream, **REGISTRY)
    assert result.output == stream
    assert [s.text for s in result.plan.candidates_left] == [value]
    assert any("host:port" in w and repr(value) in w for w in result.warnings)
    with pytest.raises(InputError, match=f"strict: .*{value}"):
        render(stream, strict=True, **REGISTRY)
    assert f"registry.intern/civitas/library/{value}" in render(stream, rewrite_candidates=True, **REGISTRY).output


def test_a_reference_in_free_text_is_a_candidate_never_rewritten() -> None:
    stream = configmap("  run.sh: |\n    #!/bin/sh\n    docker pull quay.io/acme/tool:2.0\n")
    result = render(stream, **REGISTRY)
    assert result.output == stream
    assert [s.text for s in result.plan.candidates_left] == ["quay.io/acme/tool:2.0"]
    assert any("in free text" in w and "line 8" in w for w in result.warnings)
    with pytest.raises(InputError, match="strict: .*quay.io/acme/tool:2.0"):
        render(stream, strict=True, **REGISTRY)
    assert "registry.intern/civitas/acme/tool:2.0" in render(stream, rewrite_candidates=True, **REGISTRY).output


def test_secret_data_is_decoded_and_re_encoded_with_its_wrapping() -> None:
    long_list = ",".join(f"quay.io/acme/job-{i}:1.2.0" for i in range(6))
    encoded = b64(long_list)
    wrapped = "\n".join(encoded[i:i + 76] for i in range(0, len(encoded), 76))
    stream = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n"
              f"  JOB_IMAGES: |\n" + "".join(f"    {line}\n" for line in wrapped.splitlines())
              + f"  WORKER_IMAGE: {b64('ghcr.io/a/w:1')}\n  blob: AAECA//+/f8AAQID\n")
    result = render(stream, **REGISTRY)
    data = yaml.safe_load(result.output)["data"]
    assert base64.b64decode(data["JOB_IMAGES"]).decode() == long_list.replace("quay.io/", "registry.intern/civitas/")
    assert base64.b64decode(data["WORKER_IMAGE"]).decode() == "registry.intern/civitas/a/w:1"
    assert data["blob"] == "AAECA//+/f8AAQID"
    block = result.output.split("JOB_IMAGES: |\n")[1].split("  WORKER_IMAGE")[0]
    assert {len(line) for line in block.splitlines()[:-1]} == {4 + 76}  # wrapped as it was
    assert render(result.output, **REGISTRY).output == result.output  # a second run changes nothing


def test_secret_content_never_appears_in_messages() -> None:
    hidden = "token: hunter2\nconfig: {image: [unclosed\n"
    stream = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  app.yaml: |\n" + "".join(
        f"    {line}\n" for line in hidden.splitlines()) + "    sidecar: quay.io/a/s:1\n"
    result = render(stream, **REGISTRY)
    assert result.output == stream  # the embedded YAML does not parse: left alone
    assert result.findings.left_public and not any("hunter2" in w or "unclosed" in w for w in result.warnings)


def test_embedded_pod_template_gets_rules_and_pull_secrets_crlf() -> None:
    template = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: t\nspec:\n  containers:\n"
                "    - name: a\n      image: alpine:3.20\n      env:\n        - name: HELPER_IMAGE\n          value: quay.io/a/h:1\n")
    stream = configmap("  pod.yaml: |\n" + "".join(f"    {line}\n" for line in template.splitlines())).replace("\n", "\r\n")
    result = render(stream, pull_secrets=("regcred",), **REGISTRY)
    out = result.output
    assert "\r\n" in out and "\n" not in out.replace("\r\n", "")
    inner = yaml.safe_load(yaml.safe_load(out)["data"]["pod.yaml"])
    assert inner["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
    assert inner["spec"]["containers"][0]["image"] == "registry.intern/civitas/library/alpine:3.20"
    assert inner["spec"]["containers"][0]["env"][0]["value"] == "registry.intern/civitas/a/h:1"
    assert render(out, pull_secrets=("regcred",), **REGISTRY).output == out


def test_toml_values_are_spliced_and_ambiguous_ones_reported() -> None:
    toml = ('[runners.kubernetes]\nimage = "ubuntu:22.04"\nhelper_image = "registry.gitlab.com/g/runner-helper:v17"\n'
            'note = "ubuntu:22.04"\n')
    stream = configmap("  config.toml: |\n" + "".join(f"    {line}\n" for line in toml.splitlines()))
    result = render(stream, **REGISTRY)
    assert 'helper_image = "registry.intern/civitas/g/runner-helper:v17"' in result.output
    assert 'image = "ubuntu:22.04"' in result.output  # two quoted occurrences: not guessed ...
    assert any("ubuntu:22.04" in w and "cannot be located" in w for w in result.warnings)  # ... but reported


def test_json_list_of_sidecars_in_an_annotation() -> None:
    stream = ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n  annotations:\n"
              "    sidecars.example.io/inject: '[{\"name\": \"proxy\", \"image\": \"quay.io/a/proxy:1\"}]'\n"
              "    example.io/image: quay.io/not/a-field:1\n"
              "spec:\n  template:\n    spec:\n      containers:\n        - name: a\n          image: nginx:1.27\n")
    out = render(stream, **REGISTRY).output
    assert '"image": "registry.intern/civitas/a/proxy:1"' in out
    assert "example.io/image: quay.io/not/a-field:1" in out  # plain annotation values are not configs


@pytest.mark.parametrize(("spec", "rewritten", "candidate"), [
    ("  image: {repository: quay.io/a/b, tag: '1'}\n", "repository: registry.intern/civitas/a/b, tag: '1'", []),
    ("  image: {registry: ghcr.io, repository: a/b, tag: '1'}\n", "registry: registry.intern, repository: civitas/a/b", []),
    ("  image: {repository: a/b, tag: '1'}\n", None, ["docker.io/a/b:1"]),
    ("  source: docker://quay.io/a/disk:1\n", "docker://registry.intern/civitas/a/disk:1", []),
    ("  mirror: quay.io/a/m:1\n", None, ["quay.io/a/m:1"]),
    ("  env:\n  - {name: WORKER_IMAGE, value: quay.io/a/w:1}\n", "value: registry.intern/civitas/a/w:1", []),
])
def test_custom_resources_no_rule_covers(spec: str, rewritten: str | None, candidate: list[str]) -> None:
    stream = "apiVersion: x.example.io/v1\nkind: Thing\nmetadata:\n  name: t\nspec:\n" + spec
    result = render(stream, **REGISTRY)
    if rewritten is None:
        assert result.output == stream
    else:
        assert rewritten in result.output
    assert sorted(s.text for s in result.plan.candidates_left) == candidate


def test_a_field_a_rule_misses_is_a_candidate() -> None:
    """CloudNativePG's ImageCatalog rule names spec.images[*].image; another field is reported."""
    stream = ("apiVersion: postgresql.cnpg.io/v1\nkind: ImageCatalog\nmetadata:\n  name: c\nspec:\n"
              "  images:\n    - {major: 17, image: ghcr.io/cloudnative-pg/postgresql:17.4}\n"
              "  componentImages:\n    - {name: pgbouncer, image: ghcr.io/cloudnative-pg/pgbouncer:1.24.1}\n")
    result = render(stream, **REGISTRY)
    assert "registry.intern/civitas/cloudnative-pg/postgresql:17.4" in result.output
    assert [s.path for s in result.plan.candidates_left] == ["spec.componentImages[0].image"]


def test_a_candidate_is_judged_per_place() -> None:
    """The same image in a pod spec and in an unruled kind: the pod spec is rewritten, the other
    place stays a reported candidate (it used to be rewritten silently)."""
    stream = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: a\n      image: nginx:1.27\n"
              "---\napiVersion: x.example.io/v1\nkind: Thing\nmetadata:\n  name: t\nspec:\n  helperImage: nginx:1.27\n")
    result = render(stream, **REGISTRY)
    assert result.output.count("registry.intern/civitas/library/nginx:1.27") == 1
    assert [s.path for s in result.plan.candidates_left] == ["spec.helperImage"]


def test_split_shapes() -> None:
    assert find_block({"repository": "a/b", "tag": "1"}, False) is not None
    assert find_block({"name": "a/b", "tag": "1"}, False) is None  # {name, tag} only where the key says image
    assert find_block({"name": "a/b", "tag": "1"}, True) is not None
    assert find_block({"name": "quay.io/a/b", "tag": "1"}, False) is not None  # ... or the name has a registry
    assert find_block({"image": "a/b", "pullPolicy": "Always"}, True) is None
    block = find_block({"registry": "ghcr.io", "repository": "a/b", "digest": "sha256:" + "b" * 64}, False)
    assert block is not None and block.ref.normalized == "ghcr.io/a/b@sha256:" + "b" * 64
    pairs = flat_blocks({"X_REPOSITORY": "a/x", "X_TAG": "1", "Y_REPOSITORY": "a/y", "Z.repository": "q.io/z", "Z.tag": "2"})
    assert sorted(block.ref.normalized for _, block in pairs) == ["docker.io/a/x:1", "q.io/z:2"]


@pytest.mark.parametrize(("name", "says"), [
    # names that hold an "about" word only inside another word name images (Longhorn's CSI env vars)
    ("CSI_NODE_DRIVER_REGISTRAR_IMAGE", True), ("CSI_RESIZER_IMAGE", True), ("RELATED_IMAGE_DB", True),
    ("IMAGE_PULL_POLICY", False), ("imagePullSecrets", False), ("imagepullpolicy", False), ("IMAGE_TAG", False),
    ("imageRegistry", False), ("baseImageVersion", False), ("imageSize", False),
])
def test_names_are_judged_word_by_word(name: str, says: bool) -> None:
    from postrender.heuristics import name_says_image

    assert name_says_image(name) is says


def test_split_with_an_image_version_key() -> None:
    """KServe keeps an explainer's image and tag as "image" and "defaultImageVersion"."""
    stream = configmap('  explainers: |-\n    {"art": {"image": "kserve/art-explainer", "defaultImageVersion": "v0.14.0"}}\n')
    result = render(stream, **REGISTRY)
    assert '"image": "registry.intern/civitas/kserve/art-explainer", "defaultImageVersion": "v0.14.0"' in result.output
    assert [(s.text, s.location) for s, _ in result.plan.rewrites] == [("docker.io/kserve/art-explainer:v0.14.0", "split")]


def test_registry_settings_paired_with_an_image_setting() -> None:
    """An operator that prefixes PROXY_IMAGE with PROXY_REGISTRY: the registry setting moves to
    where the mirror puts what it prefixes; the image setting stays (rewriting it whole would
    give registry/registry.intern/...)."""
    env = ("            - name: PROXY_REGISTRY\n              value: docker.io/istio\n"
           "            - name: PROXY_IMAGE\n              value: proxyv2:1.20.0\n")
    stream = ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  template:\n    spec:\n      containers:\n"
              "        - name: a\n          image: quay.io/acme/injector:1.0\n          env:\n" + env)
    result = render(stream, **REGISTRY)
    assert "value: registry.intern/civitas/istio\n            - name: PROXY_IMAGE\n              value: proxyv2:1.20.0\n" in result.output
    assert "docker.io/istio/proxyv2:1.20.0" in {s.text for s, _ in result.plan.rewrites}
    data = configmap("  IMAGE_REGISTRY: ghcr.io\n  IMAGE_NAME: acme/app:2\n")
    assert render(data, **REGISTRY).output == configmap("  IMAGE_REGISTRY: registry.intern/civitas\n  IMAGE_NAME: acme/app:2\n")
    flat = render(data, registry="registry.intern").output
    assert flat == configmap("  IMAGE_REGISTRY: registry.intern\n  IMAGE_NAME: acme/app:2\n")


@pytest.mark.parametrize(("scheme", "expected"), [
    ({"registry": "registry.intern", "folder": "civitas"}, "registry.intern/civitas"),
    ({"registry": "registry.intern"}, "registry.intern"),
])
def test_registry_settings_become_the_mirrors_prefix(scheme: dict[str, str], expected: str) -> None:
    stream = configmap("  eck.yaml: |-\n    container-registry: docker.elastic.co\n    registry: quay.io\n")
    result = render(stream, **scheme)
    assert result.output == stream.replace("container-registry: docker.elastic.co", f"container-registry: {expected}")
    assert render(result.output, **scheme).output == result.output
    hub = "apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nmetadata:\n  name: m\nspec:\n  hub: docker.io/istio\n  tag: 1.24.0\n"
    assert f"  hub: {expected}/istio\n" in render(hub, **scheme).output


def test_check_reports_registry_settings_until_post_rendered(tmp_path: Path) -> None:
    from conftest import run_cli

    stream = tmp_path / "op.yaml"
    stream.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: op\nspec:\n  template:\n    spec:\n      containers:\n"
                      "        - name: m\n          image: registry.intern/op:1\n          args: [--container-registry=docker.elastic.co]\n")
    before = run_cli(["check", "--registry", "registry.intern", str(stream)])
    assert before.returncode == 1 and b"registry setting docker.elastic.co is not registry.intern" in before.stdout
    rendered = run_cli(["--registry", "registry.intern", str(stream)]).stdout
    assert run_cli(["check", "--registry", "registry.intern", "-"], rendered).returncode == 0


@pytest.mark.parametrize(("value", "expected"), [
    ("oci://quay.io/acme/models/llama:3.1", "oci://registry.intern/civitas/acme/models/llama:3.1"),  # KServe model as an OCI image
    ("docker://quay.io/containerdisks/fedora:41", "docker://registry.intern/civitas/containerdisks/fedora:41"),
    ("gs://kfserving-examples/models/sklearn/1.0/model", "gs://kfserving-examples/models/sklearn/1.0/model"),
    ("s3://bucket/models/x:1", "s3://bucket/models/x:1"),
])
def test_transports_say_image_in_any_custom_resource(value: str, expected: str) -> None:
    """A ruled kind (KServe's InferenceService) whose rule names no storageUri: oci:// and docker://
    are explicit enough; other schemes are URLs."""
    stream = ("apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata:\n  name: m\nspec:\n  predictor:\n"
              f"    model:\n      storageUri: {value}\n")
    result = render(stream, **REGISTRY)
    assert result.output == stream.replace(value, expected)
    assert not result.plan.candidates_left


def test_typed_scalars_in_image_fields_are_not_images() -> None:
    """``image: true`` is a bool (Kubernetes refuses it): reported, never rewritten as docker.io/library/true."""
    stream = ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - {name: a, image: true}\n"
              "    - {name: b, image: 2}\n    - {name: c, image: \"true\"}\n")
    result = render(stream, **REGISTRY)
    assert "image: true}" in result.output and "image: 2}" in result.output
    assert 'image: "registry.intern/civitas/library/true"' in result.output  # a quoted "true" is a string
    assert sum("is not a string" in w for w in result.warnings) == 2


def test_name_and_version_under_an_image_key_are_one_image() -> None:
    """Linkerd keeps {name, version} under image: the version is the tag (only where the key says image)."""
    stream = configmap('  proxy.json: \'{"proxy": {"image": {"name": "cr.l5d.io/linkerd/proxy", "version": "stable-2.14.10"}},'
                       ' "chart": {"name": "my-chart", "version": "1.2"}}\'\n')
    result = render(stream, **REGISTRY)
    assert '"name": "registry.intern/civitas/linkerd/proxy", "version": "stable-2.14.10"' in result.output
    assert '"chart": {"name": "my-chart", "version": "1.2"}' in result.output
    assert [s.text for s, _ in result.plan.rewrites] == ["cr.l5d.io/linkerd/proxy:stable-2.14.10"]


def test_images_joined_from_parts_are_listed_and_their_parts_stay() -> None:
    stream = ("apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nmetadata:\n  name: m\nspec:\n  hub: docker.io/istio\n"
              "  tag: 1.24.2\n  values:\n    pilot:\n      image: pilot\n")
    result = render(stream, **REGISTRY)
    assert result.output == stream.replace("hub: docker.io/istio", "hub: registry.intern/civitas/istio")
    listed = result.image_list(Settings(**REGISTRY))["images"]
    assert [(i["source"], i["target"], i.get("implied")) for i in listed] == [
        ("docker.io/istio/pilot:1.24.2", "registry.intern/civitas/istio/pilot:1.24.2", True)]
    assert not result.plan.candidates_left  # the bare name is read as a part, not reported as docker.io/library/pilot


def test_a_tag_kept_beside_the_image_mapping() -> None:
    """Linkerd 2.x's proxy config: {proxyImage: {imageName}, proxyVersion}, {proxyInitImage: {imageName}, proxyInitImageVersion}."""
    config = ('{"proxyImage": {"imageName": "gcr.io/linkerd-io/proxy", "pullPolicy": "IfNotPresent"}, '
              '"proxyInitImage": {"imageName": "gcr.io/linkerd-io/proxy-init"}, "proxyVersion": "stable-2.6.0", '
              '"proxyInitImageVersion": "v1.2.0", "chartVersion": "1.0"}')
    result = render(configmap(f"  proxy: '{config}'\n"), **REGISTRY)
    assert sorted(s.text for s, _ in result.plan.rewrites) == ["gcr.io/linkerd-io/proxy-init:v1.2.0", "gcr.io/linkerd-io/proxy:stable-2.6.0"]
    assert '"imageName": "registry.intern/civitas/linkerd-io/proxy", ' in result.output and '"proxyVersion": "stable-2.6.0"' in result.output


@pytest.mark.parametrize(("data", "reported"), [
    ("  image: ghcr.io/Acme/App:1.0\n", ["data.image: 'ghcr.io/Acme/App:1.0' is not an image reference (upper-case letters in the repository)"]),
    ("  WORKER_IMAGE: nginx:" + "t" * 129 + "\n", ["data.WORKER_IMAGE: 'nginx:" + "t" * 129 + "' is not an image reference (a tag of 129"]),
    ("  sidecar.image: quay.io/" + "a/" * 130 + "x:1\n", ["data.sidecar.image: 'quay.io/" + "a/" * 130 + "x:1' is not an image reference (a name of 269"]),
    ("  config.yaml: |\n    sidecar:\n      image: quay.io/Team/Sidecar:2\n",
     ["data.config.yaml > sidecar.image: 'quay.io/Team/Sidecar:2' is not an image reference (upper-case"]),
    ("  values.json: '{\"image\": \"Acme/Tool:1\"}'\n", ["data.values.json > image: 'Acme/Tool:1' is not an image reference (upper-case"]),
])
def test_invalid_references_under_image_keys_are_reported_not_rewritten(data: str, reported: list[str]) -> None:
    result = render(configmap(data), **REGISTRY)
    assert result.output == configmap(data)
    messages = [m.split(" at ", 1)[1] for m in result.findings.not_references]
    assert len(messages) == len(reported) and all(m.startswith(r) for m, r in zip(messages, reported))
    assert all(m.endswith("; left as is") for m in messages) and result.findings.left_public == []
    with pytest.raises(InputError, match="strict: .*is not an image reference"):
        render(configmap(data), **REGISTRY, strict=True)


def test_an_invalid_reference_in_secret_data_is_reported_without_its_value() -> None:
    secret = f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  image: {b64('ghcr.io/Acme/App:1.0')}\n"
    (message,) = render(secret, **REGISTRY).findings.not_references
    assert "at data.image: a value is not an image reference (upper-case letters in the repository)" in message
    assert "Acme" not in message


@pytest.mark.parametrize("data", [
    "  image: logo.png\n", "  image: Always\n", "  image: '1.2'\n", "  image: /static/logo.png\n", "  image: https://x.io/a.png\n",
    "  image: data:image/png;base64,iVBORw0KGgo=\n", "  image: ${IMAGE}\n", "  image: '{{ .Values.image }}'\n",
    "  imagePullPolicy: IfNotPresent\n", "  image.tag: V1.2-RC\n", "  title: Acme/App:1.0\n", "  IMAGE_DIGEST: sha256:abc\n",
    "  image: C:/Images/a.png\n", "  image: urn:acme/Image:1\n",
])
def test_ordinary_values_under_image_keys_are_no_false_alarm(data: str) -> None:
    result = render(configmap(data), **REGISTRY)
    assert result.output == configmap(data)
    assert result.findings.not_references == [] and result.findings.left_public == [] and not result.plan.candidates_left


@pytest.mark.parametrize(("text", "key"), [
    ("ghcr.io/Acme/App:1.0", "image"),
    ("quay.io/Team/Sidecar:2", "WORKER_IMAGE"),
    ("sidecar:\n  image: quay.io/Team/Sidecar:2\n", "config.yaml"),
    ('{"spec": {"template": "{\\"image\\": \\"Acme/Tool:1\\"}"}}', "values.json"),
    ('{"a": "{\\"\\\\u0069mage\\": \\"ghcr.io/Acme/App:1.0\\"}"}', "settings.json"),
    ("[agent]\nimage = \"ghcr.io/Acme/App:1.0\"\n", "agent.toml"),
    ("nginx:" + "t" * 129, "proxy-image"),
])
def test_the_text_level_tests_never_skip_an_invalid_reference(text: str, key: str) -> None:
    """may_find learns no new shape for invalid references: they are reported only under a key that
    says image, which the text-level tests already let through (docs/performance.md)."""
    from test_perf_discovery import full_search, search

    calls = search(text, key)
    assert calls == full_search(text, key)
    assert any(call[0] == "found" and call[1].how == "invalid" for call in calls), calls


# -- review (#15: a host:port under an image key of data is a candidate) ------------------------
HOST_PORT = "registry.example.com:5000"
_HOST_PORT_PLACES = f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
      initContainers:
      - name: i
        image: {HOST_PORT}
      containers:
      - name: c
        image: {HOST_PORT}
        env:
        - name: SIDECAR_IMAGE
          value: {HOST_PORT}
        args: ["--image={HOST_PORT}", "--helper-image", "{HOST_PORT}"]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: pods
data:
  pod.yaml: |
    apiVersion: v1
    kind: Pod
    metadata:
      name: p
    spec:
      containers:
      - name: c
        image: {HOST_PORT}
        env:
        - name: X_IMAGE
          value: {HOST_PORT}
  template.json: '{{"spec": {{"containers": [{{"name": "c", "image": "{HOST_PORT}"}}]}}}}'
  qualified: "{HOST_PORT}/team/app:1.2"
  sidecarImage: nginx:1.25
"""


def test_review_a_host_and_port_is_still_rewritten_where_a_rule_names_the_image() -> None:
    """Pod-spec image fields, env vars and args (of a workload, and of a pod kept in data) name
    an image the kubelet pulls: rewritten as before #15; a reference with a path or a tag stays one."""
    result = render(_HOST_PORT_PLACES, **REGISTRY)
    target = f"registry.intern/civitas/library/{HOST_PORT}"
    assert result.output.count(target) == 8
    assert not any(f"{before}{HOST_PORT}" in result.output for before in (" ", '"', "="))  # none left as it was
    assert "registry.intern/civitas/team/app:1.2" in result.output
    assert "sidecarImage: registry.intern/civitas/library/nginx:1.25" in result.output
    assert not result.plan.candidates_left and not result.findings.left_public


def test_review_a_host_and_port_candidate_is_never_silent(tmp_path: Path) -> None:
    """Counted in the summary, fatal with --strict, a problem for ``check``, left out of
    ``images`` (with a warning) unless --rewrite-candidates, as post-render mode leaves it."""
    from conftest import run_cli

    stream = tmp_path / "stream.yaml"
    stream.write_text(configmap(f"  image: {HOST_PORT}\n  sidecars.yaml: |\n    - name: x\n      image: {HOST_PORT}\n"))
    rendered = run_cli(["--registry", "registry.intern", "--folder", "civitas", str(stream)])
    assert rendered.returncode == 0 and rendered.stdout == stream.read_bytes()
    assert b"2 candidates left as is" in rendered.stderr and rendered.stderr.count(b"host:port") >= 2
    strict = run_cli(["--registry", "registry.intern", "--folder", "civitas", "--strict", str(stream)])
    assert strict.returncode == 1 and b"strict" in strict.stderr and not strict.stdout
    check = run_cli(["check", "--registry", "registry.intern", "--folder", "civitas", str(stream)])
    assert check.returncode == 1 and check.stdout.count(HOST_PORT.encode()) >= 2
    listed = run_cli(["images", str(stream)])
    assert listed.returncode == 0 and listed.stdout == b"" and b"not listed" in listed.stderr
    listed = run_cli(["images", "--rewrite-candidates", str(stream)])
    assert listed.stdout.decode().split() == [f"docker.io/library/{HOST_PORT}"]
    rewritten = run_cli(["--registry", "registry.intern", "--folder", "civitas", "--rewrite-candidates", str(stream)])
    assert rewritten.stdout.decode().count(f"registry.intern/civitas/library/{HOST_PORT}") == 2


def test_review_a_list_of_hosts_and_ports_under_an_image_key_is_said_as_one_is() -> None:
    """Items of a list under an image key that are host:ports are candidates, as one alone is;
    the images beside them are rewritten."""
    stream = configmap('  mirrorImages: "a.example.com:5000,b.example.com:5000"\n  images: a.example.com:5000 b.example.com:5000\n')
    result = render(stream, **REGISTRY)
    assert result.output == stream
    assert sorted(s.text for s in result.plan.candidates_left) == ["a.example.com:5000"] * 2 + ["b.example.com:5000"] * 2


def test_a_list_of_an_image_and_a_host_and_port_keeps_them_apart() -> None:
    stream = configmap("  images: quay.io/a/b:1 a.example.com:5000\n")
    result = render(stream, **REGISTRY)
    assert result.output == configmap("  images: registry.intern/civitas/a/b:1 a.example.com:5000\n")
    assert [s.text for s in result.plan.candidates_left] == ["a.example.com:5000"]


def test_a_host_and_port_candidate_is_worded_as_a_value_not_free_text() -> None:
    """Review of #15: a host:port under an image key is a whole value; the warning says where it
    is (a kind no rule covers, data), never "in free text"."""
    widget = "apiVersion: acme.example/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  image: registry.example.com:5000\n"
    for stream, where in ((widget, " in a kind no rule covers;"), (configmap("  image: registry.example.com:5000\n"), " looks like an image;")):
        result = render(stream, **REGISTRY)
        [site] = result.plan.candidates_left
        assert site.rule.endswith(("/host-port", ":host-port")) and site.text == "registry.example.com:5000"
        [warning] = [w for w in result.warnings if "registry.example.com:5000" in w]
        assert where in warning and "free text" not in warning and "host:port" in warning
