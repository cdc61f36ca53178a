"""`check`, the CI gate: exit 1 listing every image not on the registry and every pod spec
without the pull secret; hook documents carry the Helm 3 explanation (helm/helm#7891)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from conftest import FIXTURES, run_cli
from postrender.commands.check import Outcome, check_stream
from postrender.rules import load_rules
from postrender.settings import Settings
from postrender.testing import render

REGISTRY = ["--registry", "registry.intern", "--folder", "civitas"]
SECRET = ["--pull-secret", "regcred"]
HELM3_TEMPLATE = FIXTURES / "helm3" / "analytics-template.yaml"
HOOK_REASON = "Helm 3 does not post-render hooks"


def helm3_split(text: str) -> tuple[str, str]:
    """Split `helm template` output (Helm 3) into the manifests Helm 3 pipes to a post-renderer and
    the hooks it keeps apart (pkg/action/action.go renderResources: SortManifests before pr.Run)."""
    manifests, hooks = [], []
    for chunk in text.split("\n---\n")[1:]:
        document = yaml.safe_load(chunk)
        annotations = (document.get("metadata") or {}).get("annotations") or {}
        (hooks if "helm.sh/hook" in annotations else manifests).append(f"---\n{chunk.rstrip()}\n")
    return "".join(manifests), "".join(hooks)


def helm3_template_with_post_renderer() -> str:
    """`helm template --post-renderer civitas-postrender --post-renderer-args=...` on Helm 3: the
    manifests post-rendered (one --post-renderer-args per flag), then the hooks exactly as rendered."""
    manifests, hooks = helm3_split(HELM3_TEMPLATE.read_text())
    result = run_cli(["--registry=registry.intern", "--folder=civitas", "--pull-secret=regcred"], manifests)
    assert result.returncode == 0, result.stderr
    return result.stdout.decode() + hooks


def test_helm3_post_rendered_template_fails_on_the_raw_hooks_only(tmp_path: Path) -> None:
    stream = tmp_path / "template.yaml"
    stream.write_text(helm3_template_with_post_renderer())
    result = run_cli(["check", *REGISTRY, *SECRET, str(stream)])
    assert result.returncode == 1
    out = result.stdout.decode()
    problems = [line for line in out.splitlines() if line.startswith(str(stream))]
    # 3 images in the two hook documents, and their 2 pod specs without the secret; nothing else
    assert len(problems) == 5
    assert all("Job/analytics-superset-init-db" in p or "Pod/analytics-superset-test-connection" in p for p in problems)
    assert sum("apache/superset:4.1.2 is not served by registry.intern" in p for p in problems) == 1
    assert any("docker.io/bitnami/postgresql:17.6.0-debian-12-r4 is not served" in p and "initContainers[0]" in p for p in problems)
    assert out.count(HOOK_REASON) == 5 and "civitas-postrender values" in out
    assert "helm get manifest" in out  # the release's manifest holds no hooks: say so
    assert b"check failed: 3 image reference(s) not served by registry.intern, 2 pod spec(s)" in result.stderr


def test_raw_helm_template_lists_everything_and_marks_only_hooks() -> None:
    result = run_cli(["check", *REGISTRY, *SECRET, str(HELM3_TEMPLATE)])
    assert result.returncode == 1
    lines = result.stdout.decode().splitlines()
    problems = [i for i, line in enumerate(lines) if line.startswith(str(HELM3_TEMPLATE))]
    assert len(problems) == 8 + 5
    for i in problems:
        marked = i + 1 < len(lines) and HOOK_REASON in lines[i + 1]
        assert marked == ("init-db" in lines[i] or "test-connection" in lines[i]), lines[i]
    busybox = [lines[i] for i in problems if "busybox:1.36 is not served" in lines[i]]
    assert len(busybox) == 2  # the Deployment's init container and the test Pod
    assert all(line.endswith("(post-render makes it registry.intern/civitas/library/busybox:1.36)") for line in busybox)


def test_post_rendered_helm4_stream_passes() -> None:
    rendered = run_cli([*REGISTRY, *SECRET], (FIXTURES / "helm4" / "analytics.yaml").read_bytes())
    assert rendered.returncode == 0
    result = run_cli(["check", *REGISTRY, *SECRET, "-"], rendered.stdout)
    assert result.returncode == 0, result.stdout
    assert result.stdout.decode().startswith("ok: 8 image references served by registry.intern, 0 excluded; 5 pod specs")


def test_excluded_images_pass_and_secrets_are_optional() -> None:
    result = run_cli(["check", *REGISTRY, "--exclude", "docker.io/library/busybox", "--exclude", "docker.io/bitnami/**",
                      "--exclude", "docker.io/apache/superset"], HELM3_TEMPLATE.read_bytes())
    assert result.returncode == 0, result.stdout
    assert "8 excluded; pull secrets not checked (none configured)" in result.stdout.decode()


KUBECTL = """\
# Models `kubectl get pods,deploy -A -o yaml` of a live cluster: one List, a Pod whose service account
# gave it the pull secret (status fields included), a Pod without it, and a Deployment on the registry.
apiVersion: v1
kind: List
metadata:
  resourceVersion: ""
items:
- apiVersion: v1
  kind: Pod
  metadata:
    name: web-7d9c6
    namespace: apps
  spec:
    imagePullSecrets:
    - name: regcred
    containers:
    - name: web
      image: registry.intern/civitas/library/nginx:1.27
  status:
    containerStatuses:
    - name: web
      image: registry.intern/civitas/library/nginx:1.27
      imageID: registry.intern/civitas/library/nginx@sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9
- apiVersion: v1
  kind: Pod
  metadata:
    name: coredns-5d78c
    namespace: kube-system
  spec:
    containers:
    - name: coredns
      image: registry.k8s.io/coredns/coredns:v1.11.3
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: api
    namespace: apps
  spec:
    template:
      spec:
        imagePullSecrets:
        - name: regcred
        containers:
        - name: api
          image: registry.intern/civitas/acme/api:2.0.1
"""


def test_live_cluster_list() -> None:
    result = run_cli(["check", *REGISTRY, *SECRET], KUBECTL)
    assert result.returncode == 1
    problems = [line for line in result.stdout.decode().splitlines() if line.startswith("<stdin>")]
    assert problems == [
        "<stdin>: document 0 Pod/coredns-5d78c line 32 column 14 at items[1].spec.containers[0].image: "
        "registry.k8s.io/coredns/coredns:v1.11.3 is not served by registry.intern "
        "(post-render makes it registry.intern/civitas/coredns/coredns:v1.11.3)",
        "<stdin>: document 0 Pod/coredns-5d78c line 30 column 5 at items[1].spec.imagePullSecrets: "
        "pod spec without pull secret(s) regcred",
    ]
    excluded = run_cli(["check", *REGISTRY, *SECRET, "--exclude", "registry.k8s.io/**"], KUBECTL)
    assert excluded.returncode == 1  # the image is excluded, the missing secret is still a problem
    assert "1 excluded" in excluded.stderr.decode()


def test_output_dir_of_helm_template(tmp_path: Path) -> None:
    """`helm template --output-dir DIR` writes one file per template: check reads them all."""
    manifests, hooks = helm3_split(HELM3_TEMPLATE.read_text())
    (tmp_path / "analytics" / "templates").mkdir(parents=True)
    (tmp_path / "analytics" / "templates" / "all.yaml").write_text(manifests)
    (tmp_path / "analytics" / "templates" / "hooks.yaml").write_text(hooks)
    (tmp_path / "analytics" / "NOTES.txt").write_text("not yaml: [\n")
    (tmp_path / "analytics" / "values.schema.json").write_text('{"type": "object"}')  # not a manifest
    result = run_cli(["check", *REGISTRY, str(tmp_path)])
    assert result.returncode == 1
    out = result.stdout.decode()
    assert out.count("all.yaml: document") == 5 and out.count("hooks.yaml: document") == 3


UNRULED = """\
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
spec:
  sidecarImage: quay.io/acme/sidecar:1.0.0
  helperImage: busybox:1.36
"""


def test_kinds_no_rule_covers_fail_the_gate() -> None:
    """A qualified reference under an image key of an unruled kind is rewritten by post-render;
    a bare one is a candidate it leaves public: check fails on both, naming the way out."""
    result = run_cli(["check", *REGISTRY], UNRULED)
    assert result.returncode == 1
    assert b"quay.io/acme/sidecar:1.0.0 is not served by registry.intern (post-render makes it" in result.stdout
    assert b"busybox:1.36 is not served by registry.intern (a candidate post-render leaves as is" in result.stdout
    rewritten = run_cli([*REGISTRY, "--rewrite-candidates"], UNRULED).stdout
    assert run_cli(["check", *REGISTRY], rewritten.decode()).returncode == 0


def test_bad_input_and_missing_registry_are_usage_errors(tmp_path: Path) -> None:
    """Exit 2 when the gate could not run, as click does for usage errors; 1 means problems found."""
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: Pod\nmetadata: {name: [\n")
    result = run_cli(["check", *REGISTRY, str(broken)])
    assert result.returncode == 2 and str(broken).encode() in result.stderr and b"invalid YAML" in result.stderr
    assert run_cli(["check", str(HELM3_TEMPLATE)]).returncode == 2
    missing = run_cli(["check", *REGISTRY, str(tmp_path / "absent.yaml")])
    assert missing.returncode == 2 and b"cannot read it" in missing.stderr


@pytest.mark.parametrize("args", [
    ["check", *REGISTRY, "--no-such-option"],
    ["check", "--registry", "registry.intern:0"],
    ["check", *REGISTRY, "--output", "xml"],
    ["--images-out", "list.json", "check", *REGISTRY],  # an option check does not take, given before it
    ["--registry", "registry.intern", "check", "--registry", "other.intern"],
])
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = run_cli(args, "")
    assert result.returncode == 2 and result.stdout == b"" and b"error:" in result.stderr


def test_output_json(tmp_path: Path) -> None:
    result = run_cli(["check", *REGISTRY, *SECRET, "--output", "json", str(HELM3_TEMPLATE)])
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["registry"] == "registry.intern" and report["folder"] == "civitas"
    assert report["counts"]["problems"] == len(report["problems"]) > 0
    hooks = [p for p in report["problems"] if p["hook"]]
    assert hooks and all(p["kind"] and p["name"] and p["where"].startswith("document ") for p in report["problems"])
    assert report["summary"][0].startswith("check failed:") and b"check failed:" in result.stderr
    clean = run_cli([*REGISTRY, *SECRET], HELM3_TEMPLATE.read_bytes()).stdout
    hookless = helm3_split(clean.decode())[0]
    ok = run_cli(["check", *REGISTRY, *SECRET, "--output", "json"], hookless)
    assert ok.returncode == 0, ok.stderr
    passed = json.loads(ok.stdout)
    assert passed["ok"] is True and passed["problems"] == [] and passed["counts"]["served"] > 0


def _charts_with_hook_images(corpus: Path) -> list[Path]:
    return [p for p in sorted((corpus / "charts").glob("*.yaml"))
            if any(e["in_hook"] for e in json.loads(p.with_suffix(".images.json").read_text()))]


def test_real_helm_template_output_with_hooks(corpus: Path) -> None:
    """Real `helm template` streams: post-render what Helm 3 would (everything but hooks), keep the
    hooks raw as Helm 3's template command prints them, and the gate must fail on hook images only."""
    settings = Settings(registry="registry.intern", folder="civitas")
    charts = _charts_with_hook_images(corpus)
    assert charts
    for chart in charts:
        docs = json.loads(chart.with_suffix(".docs.json").read_text())["documents"]
        chunks = re.split(r"(?m)^---[ \t]*\r?\n", chart.read_text())[1:]
        assert len(chunks) == len(docs), chart.name
        manifests = "".join("---\n" + c for c, d in zip(chunks, docs) if not d["hook"])
        hooks = "".join("---\n" + c for c, d in zip(chunks, docs) if d["hook"])
        helm3_output = render(manifests, registry="registry.intern", folder="civitas").output + hooks
        outcome = Outcome()
        check_stream(helm3_output, chart.name, settings, load_rules(), outcome)
        assert outcome.problems, chart.name
        assert all(p.hook is not None for p in outcome.problems), [p.where for p in outcome.problems if p.hook is None]
        expected = {(e["kind"], e["name"], e["image"]) for e in json.loads(chart.with_suffix(".images.json").read_text())
                    if e["in_hook"] and e.get("pullable", True) and not e["image"].startswith("registry.intern/")}
        found = {(p.kind, p.name, p.image) for p in outcome.problems if p.image is not None}
        assert expected and found == expected, chart.name
        # Helm 4 post-renders the hooks too: then the gate passes.
        everything = Outcome()
        check_stream(render(chart.read_text(), registry="registry.intern", folder="civitas").output, chart.name,
                     settings, load_rules(), everything)
        assert everything.problems == [], chart.name


TENANTS = """\
apiVersion: minio.min.io/v2
kind: Tenant
metadata:
  name: empty-secret
spec:
  image: registry.intern/civitas/minio/minio:RELEASE.2025-04-08T15-41-24Z
  imagePullSecret: { }
---
apiVersion: minio.min.io/v2
kind: Tenant
metadata:
  name: own-secret
spec:
  image: registry.intern/civitas/minio/minio:RELEASE.2025-04-08T15-41-24Z
  imagePullSecret:
    name: harbor-robot
"""


def test_single_secret_fields() -> None:
    """A `{name: x}` field names one secret: any name the user set passes (post-render keeps it);
    an empty one does not, because the pods would pull without credentials."""
    result = run_cli(["check", *REGISTRY, *SECRET], TENANTS)
    assert result.returncode == 1
    problems = [line for line in result.stdout.decode().splitlines() if line.startswith("<stdin>")]
    assert problems == ["<stdin>: document 0 Tenant/empty-secret line 6 column 3 at spec.imagePullSecret: "
                        "pod spec without pull secret(s) regcred"]


def test_exclude_short_forms_and_patterns_that_matched_nothing() -> None:
    stream = HELM3_TEMPLATE.read_text()
    result = run_cli(["check", *REGISTRY, "--exclude", "bitnami/*", "--exclude", "typo", str(HELM3_TEMPLATE)])
    assert result.returncode == 1
    assert "docker.io/bitnami/" in stream and b"bitnami/" not in result.stdout  # the short form excluded them
    assert b"--exclude 'typo' matched no image (compared as 'docker.io/library/typo'" in result.stderr
    assert b"--exclude 'bitnami/*' matched" not in result.stderr



def test_empty_input_checked_nothing_and_says_so(tmp_path: Path) -> None:
    for text in ("", "# a comment\n---\n", "---\n...\n"):
        result = run_cli(["check", *REGISTRY], text)
        assert result.returncode == 2 and b"nothing was checked" in result.stderr, text
        assert run_cli(["check", *REGISTRY, "--allow-empty"], text).returncode == 0
    assert b"more than once" in run_cli(["check", *REGISTRY, "-", "-"], "kind: Pod\n").stderr


STYLED = sorted({p.style for r in load_rules().rules for p in r.pull_secrets})


@pytest.mark.parametrize("stream", sorted((FIXTURES / "operators").glob("*.yaml")), ids=lambda p: p.stem)
@pytest.mark.parametrize("secrets", [("regcred",), ("regcred", "backup")], ids=["one", "two"])
def test_check_passes_every_pod_spec_post_render_gave_its_pull_secrets(stream: Path, secrets: tuple[str, ...]) -> None:
    """Every pull-secret style (names, name, strings, string): what post-render wrote, check accepts."""
    settings = Settings(registry="registry.intern", folder="civitas", pull_secrets=secrets)
    output = render(stream.read_text(), registry="registry.intern", folder="civitas", pull_secrets=secrets).output
    outcome = Outcome()
    check_stream(output, stream.name, settings, load_rules(), outcome)
    assert [p for p in outcome.problems if "pull secret" in p.message] == []


def test_every_pull_secret_style_has_an_operator_fixture() -> None:
    assert STYLED == ["name", "names", "string", "strings"]
