"""`values VALUES_FILE`: an overlay that makes a chart render its images from the registry,
with exactly the post-renderer's mapping (the fix for hooks on Helm 3, helm/helm#7891)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import FIXTURES, run_cli
from postrender.reference import parse_reference
from postrender.testing import render

VALUES = FIXTURES / "values"
CHARTS = sorted(p.name for p in VALUES.glob("*.yaml"))
R, F = "registry.intern", "civitas"
FLAGS = ["--registry", R, "--folder", F, "--pull-secret", "regcred"]


def overlay_for(path: Path | str, *extra: str, stdin: str = "") -> tuple[Any, str]:
    result = run_cli(["values", *FLAGS, *extra, str(path)], stdin)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout) or {}, result.stderr.decode()


def merge(base: Any, over: Any) -> Any:
    """Helm's coalescing of a later values file: maps merge key by key, anything else is replaced."""
    if isinstance(base, dict) and isinstance(over, dict):
        return {**base, **{k: merge(base.get(k), v) for k, v in over.items()}}
    return over


def rendered_images(values: dict[str, Any]) -> dict[str, str]:
    """What the charts' templates print for each image setting, written independently of the tool
    after the conventions themselves: Bitnami/Grafana/kube-prometheus-stack
    `(global.imageRegistry or registry)/repository:tag`, `repository:tag`, and plain image strings."""
    global_registry = (values.get("global") or {}).get("imageRegistry") or None
    found: dict[str, str] = {}

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            name = node.get("repository", node.get("image") if "registry" in node else None)
            if isinstance(name, str) and name and ("tag" in node or "registry" in node):
                tag = node.get("tag")
                registry = (global_registry or node.get("registry")) if "registry" in node else None
                found[path] = (f"{registry}/{name}" if registry else name) + (f":{tag}" if tag else "")
                return
            for key, value in node.items():
                if key == "image" and isinstance(value, str):
                    found[f"{path}.{key}"] = value
                else:
                    walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, f"{path}[{index}]")

    walk(values, "")
    return found


@pytest.mark.parametrize("chart", CHARTS)
def test_overlay_renders_what_the_post_renderer_writes(chart: str) -> None:
    original = yaml.safe_load((VALUES / chart).read_text())
    overlay, _ = overlay_for(VALUES / chart)
    before, after = rendered_images(original), rendered_images(merge(original, overlay))
    assert before.keys() == after.keys() and before
    # The post-renderer itself, on a Pod holding every image as the chart renders it from the original values.
    containers = "".join(f"    - name: c{i}\n      image: {image}\n" for i, image in enumerate(before.values()))
    post_rendered = yaml.safe_load(render(f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n{containers}",
                                          registry=R, folder=F).output)
    expected = [c["image"] for c in post_rendered["spec"]["containers"]]
    assert [parse_reference(image).normalized for image in after.values()] == [  # type: ignore[union-attr]
        parse_reference(image).normalized for image in expected]  # type: ignore[union-attr]
    assert all(image.startswith(f"{R}/{F}/") for image in after.values())


@pytest.mark.parametrize("chart", CHARTS)
def test_overlay_snapshot(chart: str, snapshot_yaml: Any) -> None:
    result = run_cli(["values", *FLAGS, chart], cwd=VALUES)  # relative: the header names the file as given
    assert result.returncode == 0
    assert result.stdout.decode() == snapshot_yaml


@pytest.mark.parametrize("chart", CHARTS)
def test_second_run_changes_nothing(chart: str, tmp_path: Path) -> None:
    original = yaml.safe_load((VALUES / chart).read_text())
    overlay, _ = overlay_for(VALUES / chart)
    merged = tmp_path / "merged.yaml"
    merged.write_text(yaml.safe_dump(merge(original, overlay)))
    again, report = overlay_for(merged)
    assert again == {}
    assert "0 setting(s) mapped, 0 not mapped" in report


def test_bitnami_conventions() -> None:
    """Folder mode: every registry setting names registry/folder, so what a chart (or a subchart
    this file never shows) assembles as registry/repository lands in the folder the mirror fills."""
    overlay, report = overlay_for(VALUES / "bitnami-redis.yaml")
    assert overlay["global"]["imageRegistry"] == f"{R}/{F}"
    assert overlay["global"]["imagePullSecrets"] == [{"name": "regcred"}]
    assert overlay["image"] == {"registry": f"{R}/{F}"}  # repository bitnami/redis, tag, digest untouched
    assert overlay["metrics"]["image"] == {"registry": f"{R}/{F}"}
    assert overlay["master"]["sidecars"][0] == {"name": "log-shipper", "image": f"{R}/civitas/fluent/fluent-bit:3.2.4",
                                                "imagePullPolicy": "IfNotPresent"}  # a list is written whole
    assert "allowInsecureImages" in report


def test_comments_and_quoting_survive() -> None:
    result = run_cli(["values", *FLAGS, str(VALUES / "bitnami-redis.yaml")])
    text = result.stdout.decode()
    assert 'image: "registry.intern/civitas/fluent/fluent-bit:3.2.4" # ships /data/logs' in text
    assert '  imageRegistry: "registry.intern/civitas"' in text  # was imageRegistry: ""
    assert "  ## @param global.imageRegistry Global Docker image registry\n  imageRegistry:" in text
    assert "replicaCount" not in text and "architecture" not in text and "pullPolicy" not in text
    argo = run_cli(["values", *FLAGS, str(VALUES / "argo-cd.yaml")]).stdout.decode()
    assert "    # -- Dex image repository\n    repository: registry.intern/civitas/dexidp/dex\n" in argo
    assert "Dex image tag" not in argo  # the comment of a key the overlay drops goes with it


def test_registry_in_repository_and_fallback_blocks() -> None:
    overlay, _ = overlay_for(VALUES / "argo-cd.yaml")
    assert overlay["global"]["image"] == {"repository": f"{R}/civitas/argoproj/argocd"}
    assert overlay["redis"]["image"] == {"repository": f"{R}/civitas/docker/library/redis"}
    assert "controller" not in overlay and "repoServer" not in overlay  # empty: they use global.image


def test_flat_scheme_keeps_repositories() -> None:
    result = run_cli(["values", "--registry", R, str(VALUES / "bitnami-redis.yaml")])
    overlay = yaml.safe_load(result.stdout)
    assert overlay["image"] == {"registry": R}
    assert overlay["master"]["sidecars"][0]["image"] == f"{R}/fluent/fluent-bit:3.2.4"


def test_existing_pull_secrets_keep_their_style() -> None:
    strings = "global:\n  imagePullSecrets: [harbor-ro]\nimage:\n  repository: nginx\n  tag: '1.27'\n"
    overlay, _ = overlay_for("-", stdin=strings)
    assert overlay["global"]["imagePullSecrets"] == ["harbor-ro", "regcred"]
    assert overlay["image"] == {"repository": f"{R}/civitas/library/nginx"}
    named, _ = overlay_for(VALUES / "kube-prometheus-stack.yaml")
    assert named["global"]["imagePullSecrets"] == [{"name": "image-pull-secret"}, {"name": "regcred"}]


def test_excluded_image_keeps_global_registry_unset() -> None:
    overlay, report = overlay_for(VALUES / "bitnami-redis.yaml", "--exclude", "docker.io/bitnami/redis-exporter")
    assert "metrics" not in overlay
    assert "imageRegistry" not in overlay["global"]  # it would move the excluded exporter as well
    assert "docker.io/bitnami/redis-exporter:1.76.0-debian-12-r0@sha256:" in report and "left as is" in report


UNMAPPABLE = """\
# values a chart might hold that the tool must not guess at
image:
  repository: "{{ .Values.global.repo }}/app"
  tag: 1.0.0
migrations:
  image: "$(MIGRATION_IMAGE)"
defaultBackend: quay.io/acme/backend:2.1.0
pluginsRepository: https://charts.example.com
worker:
  image: ghcr.io/acme/worker:3.0.0
"""


def test_unmappable_settings_are_reported_with_their_line() -> None:
    overlay, report = overlay_for("-", stdin=UNMAPPABLE)
    assert overlay == {"worker": {"image": f"{R}/civitas/acme/worker:3.0.0"}}
    assert "<stdin> line 3: image.repository: '{{ .Values.global.repo }}/app' is not an image reference" in report
    assert "<stdin> line 6: migrations.image: '$(MIGRATION_IMAGE)' is not an image reference" in report
    assert "<stdin> line 7: defaultBackend: 'quay.io/acme/backend:2.1.0' looks like an image, but the key" in report
    assert "pluginsRepository" not in report
    assert "1 setting(s) mapped, 3 not mapped" in report
    strict = run_cli(["values", *FLAGS, "--strict", "-"], UNMAPPABLE)
    assert strict.returncode == 1 and strict.stdout == b""


def test_output_file_and_errors(tmp_path: Path) -> None:
    out = tmp_path / "overlay.yaml"
    result = run_cli(["values", *FLAGS, "-o", str(out), str(VALUES / "grafana.yaml")])
    assert result.returncode == 0 and result.stdout == b""
    assert yaml.safe_load(out.read_text())["sidecar"]["image"] == {"registry": f"{R}/{F}"}
    assert out.read_text().startswith("# Values overlay from civitas-postrender values")
    assert run_cli(["values", str(VALUES / "grafana.yaml")]).returncode == 1  # no registry
    bad = run_cli(["values", *FLAGS, "-"], "image: [\n")
    assert bad.returncode == 1 and b"invalid YAML" in bad.stderr
    listing = run_cli(["values", *FLAGS, "-"], "- a\n- b\n")
    assert listing.returncode == 1 and b"a values file is a mapping" in listing.stderr
