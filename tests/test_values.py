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


@pytest.mark.parametrize("extra", [(), ("--strict",)])
def test_private_or_excluded_reference_under_another_key_is_not_reported(extra: tuple[str, ...]) -> None:
    # The README walkthrough's chart: a value already on the registry needs no mapping, so no warning
    # (and --strict passes); an excluded one is a note, as under an image key.
    text = (f"tools: {R}/{F}/tools/kubectl:1.31.0\nbackend: quay.io/acme/backend:2.1.0\n"
            "helper: ghcr.io/acme/helper:1.0\n")
    result = run_cli(["values", *FLAGS, "--exclude", "ghcr.io/acme/*", *extra, "-"], text)
    report = result.stderr.decode()
    assert "tools" not in report and "helper: 'ghcr.io" not in report
    assert "line 3: helper: ghcr.io/acme/helper:1.0 is excluded; left as is" in report
    if extra:
        assert result.returncode == 1 and "backend: 'quay.io/acme/backend:2.1.0' looks like an image" in report
    else:
        assert result.returncode == 0 and "1 not mapped" in report


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


# -- robustness: alias bombs, empty files, size ------------------------------------------------------
def _laughs(levels: int = 9, width: int = 9, leaf: str = "lol", keyed: bool = False) -> str:
    """Billion laughs (426 bytes with the defaults): each level aliases the one below ``width`` times,
    as a list or (``keyed``) as a mapping with distinct keys."""
    lines = [f"a0: &a0 {leaf}"]
    for i in range(1, levels + 1):
        items = [f"k{j}: *a{i - 1}" for j in range(width)] if keyed else [f"*a{i - 1}"] * width
        lines.append(f"a{i}: &a{i} " + ("{" + ", ".join(items) + "}" if keyed else "[" + ",".join(items) + "]"))
    return "\n".join(lines) + "\n"


def run_values_bounded(stdin: str, *extra: str) -> Any:
    """`values` under the hostile catalogue's memory and CPU limits: a blow-up fails, it does not hang."""
    from test_hostile_inputs import run_bounded

    return run_bounded(["values", *FLAGS, *extra, "-"], stdin.encode())


@pytest.mark.parametrize("bomb", [
    _laughs(),  # strings in lists
    _laughs(keyed=True),  # distinct keys at every level: still one walk per aliased node
    _laughs(leaf="{repository: nginx}"),  # mappings that are not image blocks
    _laughs(leaf='"quay.io/acme/app:1.0"'),  # reference-like strings under keys that do not say image
    _laughs(levels=30, width=2),  # deep and narrow: 2^30 paths
])
def test_alias_bombs_finish_fast_and_small(bomb: str) -> None:
    result = run_values_bounded(bomb)
    assert result.returncode == 0, result.stderr[-300:]
    assert yaml.safe_load(result.stdout) is None or yaml.safe_load(result.stdout) == {}
    assert b"0 setting(s) mapped" in result.stderr


def test_426_byte_billion_laughs() -> None:
    assert len(_laughs().encode()) == 426
    assert run_values_bounded(_laughs()).returncode == 0


@pytest.mark.parametrize("bomb", [
    _laughs(leaf="{image: nginx:1.25}"),
    _laughs(leaf="{registry: docker.io, repository: bitnami/redis, tag: '7.4'}", keyed=True),
    _laughs(levels=25, width=2, leaf="{image: quay.io/acme/app:1.0}"),
])
def test_alias_bomb_of_image_settings_is_refused(bomb: str) -> None:
    """Every aliased path is a setting Helm sees: more of them than the file has characters is a bomb."""
    result = run_values_bounded(bomb)
    assert result.returncode == 1 and result.stdout == b""
    assert b"alias bomb" in result.stderr and b"Traceback" not in result.stderr


def test_aliased_image_block_is_mapped_at_every_path() -> None:
    text = ("redis:\n  image: &img {registry: docker.io, repository: bitnami/redis, tag: '7.4'}\n"
            "replica:\n  image: *img\nsentinel:\n  image: *img\nworkers: [&w {image: 'quay.io/acme/w:1'}, *w]\n")
    overlay, report = overlay_for("-", stdin=text)
    merged = merge(yaml.safe_load(text), overlay)
    images = rendered_images(merged)
    assert sorted(images.values()) == sorted([f"{R}/{F}/bitnami/redis:7.4"] * 3 + [f"{R}/{F}/acme/w:1"] * 2)
    assert "5 setting(s) mapped" in report


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "# a\n\n# b\n", "---\n", "--- # c\n...\n", "~\n", "null\n",
                                  "\ufeff# with a BOM\n"])
def test_empty_or_comment_only_file_gives_an_empty_overlay(text: str) -> None:
    result = run_cli(["values", *FLAGS, "-"], text)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines()[2:] == ["{}"]
    assert "no settings (the file is empty or holds only comments)" in result.stderr.decode()


def test_long_list_is_linear() -> None:
    """8,000 list entries: deep-copying ruamel's nodes made this quadratic (minutes; now about a second)."""
    text = "sidecars:\n" + "".join(f"  - name: s{i}\n    image: quay.io/acme/app-{i}:1.0\n" for i in range(8_000))
    assert len(text) < 1 << 20  # the round-trip reader
    result = run_values_bounded(text)
    assert result.returncode == 0, result.stderr[-300:]
    sidecars = yaml.safe_load(result.stdout)["sidecars"]
    assert len(sidecars) == 8_000 and sidecars[-1] == {"name": "s7999", "image": f"{R}/{F}/acme/app-7999:1.0"}


@pytest.mark.parametrize("shape", ["keys", "list", "blocks"])
def test_file_over_a_mebibyte_is_read_with_libyaml(shape: str) -> None:
    count = 24_000
    if shape == "keys":
        text = "".join(f"app{i}:\n  image: quay.io/acme/app-{i}:1.0\n  eq: =\n" for i in range(count))
    elif shape == "list":
        text = "sidecars:\n" + "".join(f"  - name: s{i}\n    image: quay.io/acme/app-{i}:1.0\n" for i in range(count))
    else:
        text = "".join(f"c{i}:\n  image: {{registry: quay.io, repository: acme/app-{i}, tag: '1.0'}}\n" for i in range(count))
    assert len(text) > 1 << 20
    result = run_values_bounded(text)
    assert result.returncode == 0, result.stderr[-300:]
    assert f"{count} setting(s) mapped".encode() in result.stderr and b"read with libyaml" in result.stderr
    merged = merge(yaml.safe_load(text.replace(": =", ": x")), yaml.safe_load(result.stdout))  # "=": YAML 1.1's value tag
    images = rendered_images(merged)
    assert len(images) == count and all(image.startswith(f"{R}/{F}/acme/app-") for image in images.values())


# -- folder mode: registry settings carry the folder ---------------------------------------------------
SUBCHART_DEFAULTS = {  # what Bitnami subcharts ship, never part of the parent's values file
    "redis": {"image": {"registry": "docker.io", "repository": "bitnami/redis", "tag": "8.2.1"}},
    "postgresql": {"image": {"registry": "docker.io", "repository": "bitnami/postgresql", "tag": "17.5.0",
                             "digest": "sha256:" + "a" * 64}},
    "shell": {"image": {"registry": "docker.io", "repository": "bitnami/os-shell", "tag": "12"}},
}


@pytest.mark.parametrize("declared", ['""', "docker.io", "null"])
def test_global_image_registry_carries_the_folder_for_subcharts(declared: str) -> None:
    """The parent only declares global.imageRegistry: every subchart assembles
    global.imageRegistry/repository:tag, which must be exactly the post-renderer's target."""
    overlay, _ = overlay_for("-", stdin=f"global:\n  imageRegistry: {declared}\n")
    assert overlay == {"global": {"imageRegistry": f"{R}/{F}"}}
    for name, values in SUBCHART_DEFAULTS.items():
        block = values["image"]
        source = parse_reference(f"{block['registry']}/{block['repository']}:{block['tag']}"
                                 + (f"@{block['digest']}" if "digest" in block else ""))
        assert source is not None
        assembled = rendered_images(merge({"global": overlay["global"], **values}, {}))[".image"]
        target = source.at(R, F)
        assert assembled + (f"@{block['digest']}" if "digest" in block else "") == target, name


@pytest.mark.parametrize("block, source", [
    ("{registry: docker.io, repository: bitnami/redis, tag: '8.2.1'}", "docker.io/bitnami/redis:8.2.1"),
    ("{registry: registry.k8s.io, image: ingress-nginx/controller, tag: v1.12.0}", "registry.k8s.io/ingress-nginx/controller:v1.12.0"),
    ("{registry: docker.io, repository: nginx, tag: '1.27'}", "docker.io/library/nginx:1.27"),
    ("{registry: 'quay.io:443', repository: prometheus/node-exporter, tag: v1.9.1}", "quay.io:443/prometheus/node-exporter:v1.9.1"),
    ("{registry: ghcr.io, repository: 'acme/app:2.0', tag: ''}", "ghcr.io/acme/app:2.0"),
])
def test_assembled_reference_equals_the_post_renderers_target(block: str, source: str) -> None:
    text = f"global:\n  imageRegistry: ''\ncomponent:\n  image: {block}\n"
    overlay, _ = overlay_for("-", stdin=text)
    merged = merge(yaml.safe_load(text), overlay)
    assembled = rendered_images(merged)[".component.image"]
    expected = parse_reference(source)
    assert expected is not None
    assert assembled == expected.at(R, F)
    assert merged["global"]["imageRegistry"] == f"{R}/{F}"
    flat_result = run_cli(["values", "--registry", R, "-"], text)
    flat_merged = merge(yaml.safe_load(text), yaml.safe_load(flat_result.stdout))
    assert rendered_images(flat_merged)[".component.image"] == expected.at(R, None)


# -- duplicate keys: Helm (go-yaml) and Kubernetes take the LAST value; so does the overlay ----------
@pytest.mark.parametrize(("text", "expected"), [
    ("image: nginx:1.24\nimage: nginx:1.25\n", {"image": f"{R}/{F}/library/nginx:1.25"}),
    ('image: "nginx:1.24"\nother: 1\nimage: quay.io/acme/app:2\n', {"image": f"{R}/{F}/acme/app:2"}),
    ("sub:\n  image: busybox:1 # old\nsub:\n  # the new one\n  image: quay.io/x/y:2 # new\n", {"sub": {"image": f"{R}/{F}/x/y:2"}}),
    ("image: {repository: nginx, tag: '1', repository: redis}\n", {"image": {"repository": f"{R}/{F}/library/redis"}}),
    ("worker:\n  image: nginx:1.24\nworker:\n  replicas: 2\n", {}),  # the later block holds no image: nothing to map
])
def test_duplicate_image_key_takes_the_last_value(text: str, expected: dict[str, Any]) -> None:
    overlay, _ = overlay_for("-", stdin=text)
    assert overlay == expected


def test_duplicate_block_takes_the_last_block() -> None:
    """The whole later block is the value (not a merge of both): its registry is the one mapped."""
    text = ("redis:\n  image:\n    registry: quay.io\n    repository: bitnami/redis\n    tag: '7.2'\n"
            "redis:\n  image:\n    registry: docker.io\n    repository: bitnami/redis\n    tag: '7.4'\n")
    overlay, _ = overlay_for("-", stdin=text)
    merged = merge(yaml.safe_load(text), overlay)  # PyYAML, like Helm, keeps the last block
    assert merged["redis"]["image"] == {"registry": f"{R}/{F}", "repository": "bitnami/redis", "tag": "7.4"}
    assert list(rendered_images(merged).values()) == [f"{R}/{F}/bitnami/redis:7.4"]


def test_duplicate_key_message_names_the_later_line() -> None:
    result = run_cli(["values", *FLAGS, "-"], "a: 1\nimage: nginx:1.24\nimage: $(X)\n")
    assert result.returncode == 0, result.stderr
    assert "<stdin> line 3: image" in result.stderr.decode()


def test_duplicate_keys_over_a_mebibyte_take_the_last_too() -> None:
    """Files over 1 MiB are read with libyaml (PyYAML keeps the last of duplicate keys as well)."""
    text = "pad: " + "x" * (1 << 20) + "\nimage: nginx:1.24\nimage: nginx:1.25\n"
    result = run_values_bounded(text)
    assert result.returncode == 0, result.stderr[-300:]
    assert yaml.safe_load(result.stdout) == {"image": f"{R}/{F}/library/nginx:1.25"}


@pytest.mark.parametrize("secrets", ["[1, [2], {name: [x]}]", "[{name: {a: 1}}, ~, regcred2]", "[{name: [regcred]}]"])
def test_pull_secret_entries_of_odd_shapes_are_kept(secrets: str) -> None:
    """A name that is a list or a mapping is no secret name (it was unhashable: exit 3)."""
    overlay, _ = overlay_for("-", stdin=f"imagePullSecrets: {secrets}\n")
    assert overlay["imagePullSecrets"][:-1] == yaml.safe_load(secrets)
    assert overlay["imagePullSecrets"][-1] in ("regcred", {"name": "regcred"})


# -- merge keys: ruamel 0.19 failed deleting a key from a mapping merged elsewhere (KeyError: exit 3) --
@pytest.mark.parametrize("text", [
    "a: &m {image: nginx:1, x: 1}\nb:\n  <<: [*m, *m]\n  y: 2\n",
    "a: &m {image: nginx:1, x: 1}\nb:\n  <<: *m\n  y: 2\n",
    "a: &m {image: nginx:1}\nb: {<<: *m, image: 'quay.io/acme/b:2'}\n",
    "x: &x {a: 1}\ny: &y {<<: *x, image: nginx:1}\nz: {<<: [*y, *x], q: 1}\n",
    "base: &b\n  repository: bitnami/redis\n  tag: '7'\nr:\n  <<: *b\n  registry: docker.io\n",
    "d: &d {registry: docker.io, repository: bitnami/redis, tag: '7', pullPolicy: Always}\ne: {<<: [*d], tag: '8'}\n",
])
def test_merge_keys_are_mapped_as_helm_reads_them(text: str) -> None:
    overlay, _ = overlay_for("-", stdin=text)
    merged = merge(yaml.safe_load(text), overlay)  # PyYAML resolves the merges as go-yaml does
    images = rendered_images(merged)
    assert images and all(image.startswith(f"{R}/{F}/") for image in images.values()), images
    assert "<<" not in str(overlay)
