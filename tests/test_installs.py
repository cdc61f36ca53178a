"""Charts and manifests a controller installs in the cluster (rule field ``installs``: Flux, Argo CD,
k3s, Fleet, Cluster API, Crossplane), images an operator picks that no template can name (``implied``
with only a ``note``), and typed Lists: reported or read, never silent (postrender/finder.py,
postrender/implied.py, postrender/summary.py, postrender/commands/check.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_cli
from postrender.commands.check import Outcome, check_stream
from postrender.errors import ConfigError, InputError
from postrender.rules import load_rule_file, load_rules
from postrender.settings import Settings
from postrender.summary import summary
from postrender.testing import render

REGISTRY = {"registry": "registry.intern", "folder": "civitas"}


def _doc(api: str, kind: str, spec: str, annotations: str = "") -> str:
    meta = f"  annotations:\n    civitas-postrender/installs: {annotations}\n" if annotations else ""
    return f"apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: x\n  namespace: ns\n{meta}spec:\n{spec}"


# (apiVersion, kind, spec, what the report says it deploys; None: nothing is installed)
INSTALLS = [
    ("helm.toolkit.fluxcd.io/v2", "HelmRelease",
     "  chart:\n    spec:\n      chart: podinfo\n      version: 6.7.1\n      sourceRef: {kind: HelmRepository, name: podinfo, namespace: flux-system}\n",
     "chart podinfo (version 6.7.1) from HelmRepository flux-system/podinfo"),
    ("helm.toolkit.fluxcd.io/v2beta2", "HelmRelease",
     "  chart:\n    spec:\n      chart: ./charts/app\n      sourceRef: {kind: GitRepository, name: repo}\n",
     "chart ./charts/app from GitRepository repo"),
    ("helm.toolkit.fluxcd.io/v2beta1", "HelmRelease",
     "  chart:\n    spec:\n      chart: redis\n      version: '>=19'\n      sourceRef: {kind: HelmRepository, name: bitnami}\n",
     "chart redis (version >=19) from HelmRepository bitnami"),
    ("helm.toolkit.fluxcd.io/v2", "HelmRelease", "  chartRef:\n    kind: OCIRepository\n    name: podinfo\n",
     "chart OCIRepository podinfo"),
    ("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "  path: ./apps\n  sourceRef: {kind: GitRepository, name: flux-system}\n",
     "the manifests at ./apps from GitRepository flux-system"),
    ("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "  sourceRef: {kind: GitRepository, name: flux-system}\n",
     "the manifests from GitRepository flux-system"),
    ("argoproj.io/v1alpha1", "Application",
     "  source:\n    chart: velero\n    repoURL: https://vmware-tanzu.github.io/helm-charts\n    targetRevision: 8.1.0\n",
     "chart velero (version 8.1.0) from https://vmware-tanzu.github.io/helm-charts"),
    ("argoproj.io/v1alpha1", "Application",
     "  source:\n    repoURL: https://git.example.com/apps.git\n    path: guestbook\n    targetRevision: HEAD\n",
     "the manifests at guestbook (revision HEAD) from https://git.example.com/apps.git"),
    ("argoproj.io/v1alpha1", "Application", "  sources:\n    - repoURL: https://git.example.com/values.git\n      ref: values\n", None),
    ("argoproj.io/v1alpha1", "ApplicationSet",
     "  template:\n    spec:\n      source:\n        repoURL: oci://ghcr.io/acme/charts\n        chart: app\n        targetRevision: 1.0.0\n",
     "chart app (version 1.0.0) from oci://ghcr.io/acme/charts"),
    ("helm.cattle.io/v1", "HelmChart", "  chart: traefik\n  repo: https://traefik.github.io/charts\n  version: 33.0.0\n",
     "chart traefik (version 33.0.0) from https://traefik.github.io/charts"),
    ("helm.cattle.io/v1", "HelmChart", "  chart: oci://ghcr.io/acme/charts/app\n", "chart oci://ghcr.io/acme/charts/app"),
    ("helm.cattle.io/v1", "HelmChartConfig", "  valuesContent: |\n    replicas: 2\n", None),
    ("fleet.cattle.io/v1alpha1", "GitRepo", "  repo: https://github.com/rancher/fleet-examples\n  branch: main\n  paths: [simple]\n",
     "the manifests at simple (revision main) from https://github.com/rancher/fleet-examples"),
    ("fleet.cattle.io/v1alpha1", "HelmOp", "  helm:\n    chart: cert-manager\n    repo: https://charts.jetstack.io\n",
     "chart cert-manager from https://charts.jetstack.io"),
    ("fleet.cattle.io/v1alpha1", "Bundle", "  resources:\n    - name: cm.yaml\n      content: 'kind: ConfigMap'\n", None),
    ("addons.cluster.x-k8s.io/v1alpha1", "HelmChartProxy", "  chartName: cilium\n  repoURL: https://helm.cilium.io\n  version: 1.16.0\n",
     "chart cilium (version 1.16.0) from https://helm.cilium.io"),
    ("helm.crossplane.io/v1beta1", "Release", "  forProvider:\n    chart:\n      url: https://example.com/app-1.0.0.tgz\n",
     "chart https://example.com/app-1.0.0.tgz"),
]


@pytest.mark.parametrize(("api", "kind", "spec", "deploys"), INSTALLS, ids=[f"{c[1]}-{i}" for i, c in enumerate(INSTALLS)])
def test_each_install_is_reported_left_public(api: str, kind: str, spec: str, deploys: str | None) -> None:
    result = render(_doc(api, kind, spec), **REGISTRY)
    installs = [m for m in result.findings.left_public if " deploys " in m]
    if deploys is None:
        assert installs == [] and result.findings.installs_left == []
        return
    assert len(installs) == 1 and result.findings.installs_left == installs
    assert f"{kind}/x" in installs[0] and f": deploys {deploys} in the cluster; the images it pulls are not in this stream" in installs[0]
    assert installs[0].endswith("annotate this resource civitas-postrender/installs: mirrored")
    assert installs[0] in result.warnings
    assert result.output == _doc(api, kind, spec)  # reported, never edited


@pytest.mark.parametrize(("api", "kind", "spec", "deploys"), [c for c in INSTALLS if c[3]], ids=[c[1] for c in INSTALLS if c[3]])
def test_the_annotation_marks_an_install_mirrored(api: str, kind: str, spec: str, deploys: str | None) -> None:
    result = render(_doc(api, kind, spec, "mirrored"), **REGISTRY)
    assert result.findings.left_public == [] and len(result.findings.installs_mirrored) == 1
    assert "0 installs in the cluster left public (1 more marked mirrored)" in summary(result.plan, result.findings)


def test_another_annotation_value_is_still_reported_and_says_so() -> None:
    api, kind, spec, _ = INSTALLS[0]
    (message,) = render(_doc(api, kind, spec, '"later"'), **REGISTRY).findings.left_public
    assert "(its civitas-postrender/installs annotation says 'later', not 'mirrored')" in message


def test_strict_fails_and_summary_counts_installs() -> None:
    api, kind, spec, _ = INSTALLS[0]
    with pytest.raises(InputError, match="strict: .*deploys chart podinfo"):
        render(_doc(api, kind, spec), **REGISTRY, strict=True)
    result = render(_doc(api, kind, spec), **REGISTRY)
    line = summary(result.plan, result.findings)
    assert "0 reference-shaped values that cannot be rewritten; 1 install in the cluster left public;" in line


def test_check_fails_until_marked() -> None:
    api, kind, spec, _ = INSTALLS[6]
    settings = Settings(registry="registry.intern", folder="civitas")
    out = Outcome()
    check_stream(_doc(api, kind, spec), "s.yaml", settings, load_rules(), out)
    assert [p.left_public for p in out.problems] == [True] and "deploys chart velero" in out.problems[0].message
    out = Outcome()
    check_stream(_doc(api, kind, spec, "mirrored"), "s.yaml", settings, load_rules(), out)
    assert out.problems == []


def test_check_cli_exit_codes(tmp_path: Path) -> None:
    api, kind, spec, _ = INSTALLS[0]
    stream = tmp_path / "s.yaml"
    stream.write_text(_doc(api, kind, spec))
    failed = run_cli(["check", "--registry", "registry.intern", str(stream)])
    assert failed.returncode == 1 and b"deploys chart podinfo" in failed.stdout
    stream.write_text(_doc(api, kind, spec, "mirrored"))
    assert run_cli(["check", "--registry", "registry.intern", str(stream)]).returncode == 0


def test_values_inside_an_install_stay_rewritten() -> None:
    """The rule only reports: the resource's values are searched as in a kind no rule covers (a
    qualified reference is an image, not a candidate)."""
    spec = ("  chart:\n    spec:\n      chart: app\n      sourceRef: {kind: HelmRepository, name: r}\n  values:\n"
            "    image:\n      repository: ghcr.io/acme/app\n      tag: 1.0.0\n    sidecar:\n      image: quay.io/acme/sidecar:2.0\n")
    result = render(_doc("helm.toolkit.fluxcd.io/v2", "HelmRelease", spec), **REGISTRY)
    assert "repository: registry.intern/civitas/acme/app\n" in result.output
    assert "image: registry.intern/civitas/acme/sidecar:2.0\n" in result.output
    assert result.plan.candidates_left == []


def test_an_install_in_a_list_item_is_reported() -> None:
    api, kind, spec, _ = INSTALLS[4]
    item = "\n".join("    " + line if line else line for line in _doc(api, kind, spec).splitlines())
    stream = "apiVersion: v1\nkind: List\nitems:\n  -" + item[3:] + "\n"
    (message,) = render(stream, **REGISTRY).findings.left_public
    assert "Kustomization/x" in message and "at items[0].spec.path" in message


@pytest.mark.parametrize(("entry", "problem"), [
    ({"chart": "chart"}, "needs 'anchor'"),
    ({"anchor": "$.spec"}, "give 'chart', 'path' or 'repository'"),
    ({"anchor": "$.spec", "chart": ["a", 3]}, "'chart' is dotted keys"),
    ({"anchor": "$.spec", "chart": "a..b"}, "'chart' is dotted keys"),
    ({"anchor": "$.spec", "chart": "c", "url": "u"}, "unknown key"),
    ({"anchor": "$.spec[", "chart": "c"}, "invalid path"),
])
def test_install_schema_errors_name_file_rule_and_field(tmp_path: Path, entry: dict[str, object], problem: str) -> None:
    import yaml

    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump({"rules": [{"id": "x/y", "description": "d", "match": [{"group": "g.io", "kinds": ["K"]}],
                                               "installs": [entry]}]}))
    with pytest.raises(ConfigError, match=rf"rule file .*r\.yaml: rule 'x/y': field 'installs': .*{problem}"):
        load_rule_file(path)


# -- images an operator picks from its own build (implied with only a note) ----------------------

ALLOY = "apiVersion: collectors.grafana.com/v1alpha1\nkind: Alloy\nmetadata:\n  name: a\nspec:\n"


@pytest.mark.parametrize(("spec", "reported"), [
    ("  controller:\n    type: daemonset\n", ["spec.image", "spec.configReloader.image"]),
    ("  image:\n    pullPolicy: Always\n  configReloader:\n    enabled: false\n", ["spec.image"]),
    ("  image:\n    registry: docker.io\n    repository: grafana/alloy\n    tag: v1.9.1\n  configReloader:\n    resources: {}\n",
     ["spec.configReloader.image"]),
    ("  image:\n    repository: grafana/alloy\n  configReloader:\n    image:\n      repository: prometheus-operator/prometheus-config-reloader\n",
     []),
])
def test_operator_default_images_are_reported_never_guessed(spec: str, reported: list[str]) -> None:
    result = render(ALLOY + spec, **REGISTRY)
    messages = result.findings.left_public
    assert [m.split(" at ", 1)[1].split(":", 1)[0] for m in messages] == reported
    assert all("so the operator runs its default, " in m and "which this stream does not name" in m for m in messages)
    assert not any(site.implied for site in result.findings.sites)  # nothing listed, nothing inserted
    assert all(site.part is not None for site, _ in result.plan.rewrites)  # only the named split images are rewritten
    assert result.output.count("\n") == (ALLOY + spec).count("\n")


def test_implied_note_schema(tmp_path: Path) -> None:
    import yaml

    rule = {"id": "x/y", "description": "d", "match": [{"group": "g.io", "kinds": ["K"]}]}
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump({"rules": [{**rule, "implied": [{"field": "$.spec.image", "note": "acme/app at the operator's version",
                                                                    "enabled": "$.spec.app.enabled"}]}]}))
    (loaded,) = load_rule_file(path)
    assert loaded.implied[0].note == "acme/app at the operator's version" and not loaded.names_places
    for entry, problem in [({"field": "$.spec.image"}, "only a 'note'"), ({"field": "$.spec.image", "note": ""}, "'note' is one line"),
                           ({"field": "$.spec.image", "note": "n", "enabled": 1}, "'enabled' is a path")]:
        path.write_text(yaml.safe_dump({"rules": [{**rule, "implied": [entry]}]}))
        with pytest.raises(ConfigError, match=problem):
            load_rule_file(path)


# -- typed Lists: the items are read as the List's kind ------------------------------------------

TYPED = [
    ("apps/v1", "DeploymentList", "spec:\n      template:\n        spec:\n          containers:\n            - name: a\n              image: nginx:1.27\n"),
    ("v1", "PodList", "spec:\n      containers:\n        - name: a\n          image: nginx:1.27\n"),
    ("batch/v1", "CronJobList",
     "spec:\n      jobTemplate:\n        spec:\n          template:\n            spec:\n              containers:\n"
     "                - name: a\n                  image: nginx:1.27\n"),
    ("v1", "ConfigMapList", "data:\n      image: nginx:1.27\n"),
]


@pytest.mark.parametrize(("api", "kind", "body"), TYPED, ids=[t[1] for t in TYPED])
def test_items_of_a_typed_list_are_read_as_its_kind(api: str, kind: str, body: str) -> None:
    stream = f"apiVersion: {api}\nkind: {kind}\nmetadata: {{}}\nitems:\n  - metadata:\n      name: one\n    {body}"
    result = render(stream, **REGISTRY, pull_secrets=("regcred",))
    assert "registry.intern/civitas/library/nginx:1.27" in result.output and result.plan.candidates_left == []
    (site,) = [s for s, _ in result.plan.rewrites]
    assert (site.doc.kind, site.doc.name, site.doc.api_version) == (kind.removesuffix("List"), "one", api)
    if kind != "ConfigMapList":
        assert "- name: regcred" in result.output  # a pod spec: it gets the pull secrets


def test_an_item_that_names_its_kind_keeps_it() -> None:
    stream = ("apiVersion: v1\nkind: PodList\nitems:\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: c\n"
              "    data:\n      image: nginx:1.27\n")
    (site,) = [s for s, _ in render(stream, **REGISTRY).plan.rewrites]
    assert site.doc.kind == "ConfigMap" and site.location == "config"


@pytest.mark.parametrize(("api", "kind", "spec", "reported"), [
    ("monitoring.coreos.com/v1", "Prometheus", "  version: v3.1.0\n", "--prometheus-default-base-image"),
    ("monitoring.coreos.com/v1", "PrometheusAgent", "  replicas: 1\n", "--prometheus-default-base-image"),
    ("monitoring.coreos.com/v1", "Prometheus", "  baseImage: quay.io/prometheus/prometheus\n", None),  # named (a candidate)
    ("monitoring.coreos.com/v1", "Prometheus", "  image: quay.io/prometheus/prometheus:v3.1.0\n", None),
    ("monitoring.coreos.com/v1", "Alertmanager", "  replicas: 3\n", "--alertmanager-default-base-image"),
    ("monitoring.coreos.com/v1", "ThanosRuler", "  replicas: 1\n", "--thanos-default-base-image"),
    ("postgresql.cnpg.io/v1", "Cluster", "  instances: 3\n", "POSTGRES_IMAGE_NAME"),
    ("postgresql.cnpg.io/v1", "Cluster", "  imageCatalogRef: {kind: ClusterImageCatalog, name: pg, major: 17}\n", None),
    ("postgresql.cnpg.io/v1", "Cluster", "  imageName: ghcr.io/cloudnative-pg/postgresql:17.4\n", None),
    ("opentelemetry.io/v1beta1", "OpenTelemetryCollector", "  mode: deployment\n", "--collector-image"),
    ("opentelemetry.io/v1beta1", "OpenTelemetryCollector", "  image: otel/opentelemetry-collector-contrib:0.120.0\n", None),
])
def test_operators_default_images(api: str, kind: str, spec: str, reported: str | None) -> None:
    result = render(f"apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: r\nspec:\n{spec}", **REGISTRY)
    defaults = [m for m in result.findings.left_public if "the operator runs its default" in m]
    assert [reported in m for m in defaults] == ([True] if reported else [])
    assert not any(site.implied for site in result.findings.sites)


def test_check_summary_and_json_count_installs(tmp_path: Path) -> None:
    import json

    stream = tmp_path / "s.yaml"
    stream.write_text(_doc(*INSTALLS[0][:3]) + "---\n" + _doc(*INSTALLS[6][:3], annotations="mirrored"))
    text = run_cli(["check", "--registry", "registry.intern", str(stream)])
    assert text.returncode == 1
    assert (b"check failed: 0 image reference(s) not served by registry.intern, 1 install(s) in the cluster left public "
            b"(a chart or manifests rendered there), 0 pod spec(s)") in text.stderr + text.stdout
    assert b"1 install(s) in the cluster marked mirrored" in text.stderr + text.stdout
    out = run_cli(["check", "--registry", "registry.intern", "--output", "json", str(stream)])
    counts = json.loads(out.stdout)["counts"]
    assert (counts["installs_left"], counts["installs_mirrored"], counts["problems"]) == (1, 1, 1)
    stream.write_text(_doc(*INSTALLS[6][:3], annotations="mirrored"))
    ok = run_cli(["check", "--registry", "registry.intern", str(stream)])
    assert ok.returncode == 0 and ok.stdout.endswith(b"; 1 install(s) in the cluster marked mirrored\n")
