"""``civitas-postrender images``: the real executable, over streams, directories and image lists."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import FIXTURES, ROOT, corpus_streams, run_cli
from postrender.mirror import FORMATS

MIRROR = FIXTURES / "mirror"
IDENTITY, ANALYTICS, MONITORING = MIRROR / "identity.yaml", MIRROR / "analytics.yaml", MIRROR / "monitoring.yaml"
SETTINGS = ["--registry", "registry.intern", "--folder", "civitas"]


def images(*args: str | Path, stdin: bytes | str = b"", env: dict[str, str] | None = None, code: int = 0) -> str:
    result = run_cli(["images", *map(str, args)], stdin=stdin, env=env)
    assert result.returncode == code, result.stderr.decode()
    return result.stdout.decode("utf-8")


def post_render_list(stream: Path, tmp_path: Path, *extra: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    out = tmp_path / f"{stream.stem}.images.json"
    result = run_cli([*SETTINGS, *extra, "--images-out", str(out)], stdin=stream.read_bytes(), env=env)
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(out.read_text())  # type: ignore[no-any-return]


def rewritten(listing: dict[str, Any]) -> dict[str, str]:
    return {i["source"]: i["target"] for i in listing["images"] if i.get("rewritten", True)}


def test_json_lists_exactly_what_post_render_rewrites(tmp_path: Path) -> None:
    expected: dict[str, str] = {}
    for stream in (IDENTITY, ANALYTICS, MONITORING):
        expected |= rewritten(post_render_list(stream, tmp_path))
    listing = json.loads(images(*SETTINGS, "--format", "json", IDENTITY, ANALYTICS, MONITORING))
    assert {i["source"]: i["target"] for i in listing["images"]} == expected
    assert [i["source"] for i in listing["images"]] == sorted(expected)
    assert (listing["registry"], listing["folder"]) == ("registry.intern", "civitas")


def test_json_occurrences_name_their_file_and_hooks() -> None:
    listing = json.loads(images(*SETTINGS, "--format", "json", IDENTITY, ANALYTICS))
    by_source = {i["source"]: i for i in listing["images"]}
    os_shell = by_source["docker.io/bitnami/os-shell:12-debian-12-r51"]
    assert [(o["file"], o["kind"], o["location"]) for o in os_shell["occurrences"]] == [
        (str(ANALYTICS), "StatefulSet", "container"), (str(IDENTITY), "Deployment", "env")]
    kubectl = by_source["docker.io/bitnami/kubectl:1.33.4"]["occurrences"]
    assert [o.get("hook") for o in kubectl] == [True]
    assert "hook" not in os_shell["occurrences"][0]


def test_text_is_sorted_deduplicated_and_leaves_private_and_candidates_out() -> None:
    result = run_cli(["images", *SETTINGS, str(IDENTITY), str(ANALYTICS), str(IDENTITY)])
    lines = result.stdout.decode().splitlines()
    assert lines == sorted(set(lines)) and len(lines) == 7 + 9  # identity, then what analytics adds
    assert "docker.io/library/busybox" in lines and "docker.io/library/busybox:1.37" in lines
    assert not [line for line in lines if line.startswith("registry.intern/") or "widget" in line]
    assert "looks like an image in a kind no rule covers" in result.stderr.decode()


def test_rewrite_candidates_lists_them_as_post_render_does(tmp_path: Path) -> None:
    listing = json.loads(images(*SETTINGS, "--rewrite-candidates", "--format", "json", IDENTITY))
    widget = next(i for i in listing["images"] if "widget" in i["source"])
    assert (widget["candidate"], widget["rewritten"]) == (True, True)
    assert rewritten(listing) == rewritten(post_render_list(IDENTITY, tmp_path, "--rewrite-candidates"))


def test_map(tmp_path: Path) -> None:
    lines = images(*SETTINGS, "--format", "map", IDENTITY).splitlines()
    assert "docker.io/library/nginx:1.27 registry.intern/civitas/library/nginx:1.27" in lines
    assert dict(line.split(" ") for line in lines) == rewritten(post_render_list(IDENTITY, tmp_path))


def test_stdin_dash_and_directories_read_the_same(tmp_path: Path) -> None:
    tree = tmp_path / "rendered" / "identity" / "templates"
    tree.mkdir(parents=True)
    shutil.copy(IDENTITY, tree / "all.yaml")
    shutil.copy(ANALYTICS, tmp_path / "rendered" / "analytics.yml")
    (tmp_path / "rendered" / "notes.txt").write_text("not a stream: image: ignored/by:suffix\n")
    from_files = images(*SETTINGS, IDENTITY, ANALYTICS)
    assert images(*SETTINGS, tmp_path / "rendered") == from_files
    assert images(*SETTINGS, "-", ANALYTICS, stdin=IDENTITY.read_bytes()) == from_files
    assert images(*SETTINGS, stdin=IDENTITY.read_bytes()) == images(*SETTINGS, IDENTITY)


def test_images_out_lists_merge_with_streams(tmp_path: Path) -> None:
    post_render_list(MONITORING, tmp_path)
    listed = tmp_path / "monitoring.images.json"
    listing = json.loads(images(*SETTINGS, "--format", "json", IDENTITY, listed))
    os_shell = next(i for i in listing["images"] if i["source"] == "docker.io/bitnami/os-shell:12-debian-12-r51")
    assert {(o["file"], o["kind"]) for o in os_shell["occurrences"]} == {
        (str(IDENTITY), "Deployment"), (str(listed), "Deployment")}
    assert "docker.io/grafana/grafana:12.1.1" in {i["source"] for i in listing["images"]}
    # An `images --format json` result is an input too, and reading it again changes nothing.
    again = tmp_path / "all.json"
    again.write_text(json.dumps(listing))
    assert json.loads(images(*SETTINGS, "--format", "json", again)) == listing


def test_image_lists_keep_their_coordinates(tmp_path: Path) -> None:
    post_render_list(MONITORING, tmp_path)
    listed = tmp_path / "monitoring.images.json"
    # No --registry, no --folder: the list's own, so map and harbor work and nothing is re-targeted.
    lines = images("--format", "map", listed).splitlines()
    assert "docker.io/grafana/grafana:12.1.1 registry.intern/civitas/grafana/grafana:12.1.1" in lines
    assert json.loads(images("--format", "harbor", listed))["folder"] == "civitas"
    assert images("--format", "map", listed, IDENTITY) == images(*SETTINGS, "--format", "map", listed, IDENTITY)


@pytest.mark.parametrize("given", [["--registry", "harbor.example.org", "--folder", "civitas"],
                                   ["--registry", "registry.intern"], ["--registry", "registry.intern", "--folder", "other"],
                                   ["--folder", "other"]])
def test_image_lists_for_other_coordinates_are_refused_unless_retargeted(tmp_path: Path, given: list[str]) -> None:
    post_render_list(MONITORING, tmp_path)
    listed = tmp_path / "monitoring.images.json"
    result = run_cli(["images", *given, "--format", "json", str(listed)])
    assert result.returncode == 1 and result.stdout == b""
    stderr = result.stderr.decode()
    assert f"{listed} was written for registry registry.intern, folder civitas, not " in stderr and "--retarget" in stderr
    retargeted = json.loads(images(*given, "--retarget", "--format", "json", listed))
    registry = dict(zip(given[::2], given[1::2])).get("--registry")
    folder = dict(zip(given[::2], given[1::2])).get("--folder")
    grafana = next(i for i in retargeted["images"] if i["source"] == "docker.io/grafana/grafana:12.1.1")
    assert grafana["target"] == (f"{registry}/{folder + '/' if folder else ''}grafana/grafana:12.1.1" if registry else None)


def test_image_lists_keep_their_overrides(tmp_path: Path) -> None:
    env = {"CIVITAS_POSTRENDER_OVERRIDES": "docker.io/grafana/grafana=dash/grafana"}
    post_render_list(MONITORING, tmp_path, env=env)
    listed = tmp_path / "monitoring.images.json"
    assert "docker.io/grafana/grafana:12.1.1 registry.intern/dash/grafana:12.1.1" in images("--format", "map", listed).splitlines()
    assert "dash/grafana" in images(*SETTINGS, "--format", "map", listed, env=env)
    result = run_cli(["images", *SETTINGS, "--format", "map", str(listed)])  # the same place, without the override
    assert result.returncode == 1
    assert "docker.io/grafana/grafana:12.1.1 was listed at registry.intern/dash/grafana:12.1.1, the settings put it at " \
           "registry.intern/civitas/grafana/grafana:12.1.1" in result.stderr.decode()


def test_image_lists_for_different_places_need_a_choice(tmp_path: Path) -> None:
    post_render_list(MONITORING, tmp_path)
    other = tmp_path / "identity.images.json"
    result = run_cli(["--registry", "registry.intern", "--images-out", str(other)], stdin=IDENTITY.read_bytes())
    assert result.returncode == 0, result.stderr.decode()
    result = run_cli(["images", str(tmp_path / "monitoring.images.json"), str(other)])
    assert result.returncode == 1 and "written for different registries or folders" in result.stderr.decode()
    assert "(registry registry.intern, flat scheme)" in result.stderr.decode()


def test_directories_of_image_lists(tmp_path: Path) -> None:
    lists = tmp_path / "lists"
    lists.mkdir()
    for stream in (IDENTITY, ANALYTICS, MONITORING):
        post_render_list(stream, lists)
    assert images("--format", "map", lists) == images(*SETTINGS, "--format", "map", IDENTITY, ANALYTICS, MONITORING)


def test_images_out_directory_gathers_one_list_per_render(tmp_path: Path) -> None:
    lists = tmp_path / "lists"
    lists.mkdir()
    env = {"CIVITAS_POSTRENDER_IMAGES_OUT": str(lists)}  # one variable for the whole playbook run
    for stream in (IDENTITY, ANALYTICS, MONITORING, IDENTITY):  # identity rendered twice: one file
        result = run_cli(SETTINGS, stdin=stream.read_bytes(), env=env)
        assert result.returncode == 0, result.stderr.decode()
    files = sorted(p.name for p in lists.iterdir())
    assert [name.rsplit("-", 1)[0] for name in files] == ["analytics", "identity", "monitoring"]
    for file in lists.iterdir():
        content = file.read_bytes()
        assert file.name.endswith(f"-{hashlib.sha256(content).hexdigest()[:16]}.json")
    assert images("--format", "json", lists) == images(*SETTINGS, "--format", "json", *sorted(lists.iterdir()))
    assert images("--format", "map", lists) == images(*SETTINGS, "--format", "map", IDENTITY, ANALYTICS, MONITORING)


@pytest.mark.parametrize(("namespace", "name"), [(None, "no-namespace"), ("Team_A/../x", "team-a-..-x")])
def test_images_out_directory_names_are_safe(tmp_path: Path, namespace: str | None, name: str) -> None:
    meta = f"{{name: p, namespace: {json.dumps(namespace)}}}" if namespace else "{name: p}"
    stream = f"apiVersion: v1\nkind: Pod\nmetadata: {meta}\nspec:\n  containers:\n    - {{name: c, image: nginx:1}}\n"
    result = run_cli([*SETTINGS, "--images-out", str(tmp_path)], stdin=stream)
    assert result.returncode == 0, result.stderr.decode()
    (written,) = tmp_path.iterdir()
    assert written.name.rsplit("-", 1)[0] == name


@pytest.mark.parametrize("content", [None, "", "# only a comment\n---\n...\n"])
def test_empty_input_fails_unless_allowed(tmp_path: Path, content: str | None) -> None:
    if content is None:
        (tmp_path / "empty").mkdir()
        args, stdin = [str(tmp_path / "empty")], ""
    else:
        args, stdin = [], content
    result = run_cli(["images", *SETTINGS, *args], stdin=stdin)
    assert result.returncode == 1 and "no documents and no image lists" in result.stderr.decode()
    assert "--allow-empty" in result.stderr.decode()
    assert images(*SETTINGS, "--allow-empty", *args, stdin=stdin) == ""


def test_exclude_applies_to_streams_and_lists(tmp_path: Path) -> None:
    post_render_list(MONITORING, tmp_path)
    listed = tmp_path / "monitoring.images.json"
    lines = images(*SETTINGS, "--exclude", "docker.io/bitnami/**", "--exclude", "quay.io/kiwigrid/k8s-sidecar",
                   IDENTITY, listed).splitlines()
    assert not [line for line in lines if "bitnami" in line or "kiwigrid" in line]
    assert "docker.io/grafana/grafana:12.1.1" in lines


def test_settings_come_from_env_and_config_file(tmp_path: Path) -> None:
    config = tmp_path / "postrender.yaml"
    config.write_text("registry: registry.intern\nfolder: civitas\n")
    expected = images(*SETTINGS, "--format", "map", IDENTITY)
    assert images("--config", config, "--format", "map", IDENTITY) == expected
    env = {"CIVITAS_POSTRENDER_REGISTRY": "registry.intern", "CIVITAS_POSTRENDER_FOLDER": "civitas"}
    assert images("--format", "map", IDENTITY, env=env) == expected


def test_without_registry_text_and_json_work() -> None:
    text = images(IDENTITY).splitlines()
    # Nothing is private without a registry: the image already on registry.intern is listed too.
    assert "registry.intern/civitas/tools/helper:1.0" in text
    listing = json.loads(images("--format", "json", IDENTITY))
    assert listing["registry"] is None and {i["target"] for i in listing["images"]} == {None}


def test_every_registered_format_is_offered_and_documented() -> None:
    help_text = run_cli(["images", "--help"]).stdout.decode()
    assert f"[{'|'.join(FORMATS)}]" in help_text
    readme = (ROOT / "README.md").read_text()
    for name, fmt in FORMATS.items():
        assert f"| `{name}`" in readme and fmt.help.split()[0] in " ".join(help_text.split())


@pytest.mark.parametrize("fmt", [name for name, f in FORMATS.items() if f.needs_registry])
def test_map_and_harbor_need_a_registry(fmt: str) -> None:
    result = run_cli(["images", "--format", fmt, str(IDENTITY)])
    assert result.returncode == 1 and result.stdout == b""
    assert f"--format {fmt} needs the private registry" in result.stderr.decode()


def test_harbor_warns_per_digest_only_image() -> None:
    result = run_cli(["images", *SETTINGS, "--format", "harbor", str(IDENTITY)])
    assert result.returncode == 0
    warnings = [line for line in result.stderr.decode().splitlines() if "tag filter" in line]
    assert len(warnings) == 1 and "ghcr.io/acme/agent@sha256:" in warnings[0] and "--format skopeo" in warnings[0]
    body = json.loads(result.stdout)
    assert [s["source"] for s in body["skipped"]] == [warnings[0].split(": ")[2]]


def test_harbor_warns_per_pinned_image_that_harbor_selects_by_tag() -> None:
    result = run_cli(["images", *SETTINGS, "--format", "harbor", str(IDENTITY)])
    assert result.returncode == 0
    pinned = [line for line in result.stderr.decode().splitlines() if "selects by tag only" in line]
    assert len(pinned) == 1 and "registry.k8s.io/ingress-nginx/controller:v1.13.2@sha256:" in pinned[0]
    assert "'v1.13.2'" in pinned[0] and "--format skopeo copies by digest" in pinned[0]
    body = json.loads(result.stdout)  # placed all the same, by its tag
    assert ("ingress-nginx/controller", "v1.13.2") in {(p["filters"][0]["value"], p["filters"][1]["value"]) for p in body["policies"]}
    assert "ingress-nginx" not in json.dumps(body["skipped"])


@pytest.mark.parametrize(("args", "source", "message"), [
    (["--registry", "registry.intern", "--folder", "a--b"], "nginx:1.27", "--folder 'a--b': project 'a--b' is not valid"),
    (["--registry", "registry.intern", "--folder", "a__b/apps"], "nginx:1.27", "--folder 'a__b/apps': project 'a__b'"),
    (["--registry", "registry.intern"], "quay.io/foo--bar/app:1", "flat scheme: quay.io/foo--bar/app:1 would make 'foo--bar'"),
    (["--registry", "registry.intern"], "quay.io/foo__bar/app:1", "use --folder PROJECT to put every image below one project"),
])
def test_harbor_checks_project_names(tmp_path: Path, args: list[str], source: str, message: str) -> None:
    stream = tmp_path / "pod.yaml"
    stream.write_text(f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n      image: {source}\n")
    result = run_cli(["images", *args, "--format", "harbor", str(stream)])
    assert result.returncode == 1 and result.stdout == b""
    assert message in result.stderr.decode() and "^[a-z0-9]+(?:[._-][a-z0-9]+)*$" in result.stderr.decode()
    assert run_cli(["images", *args, "--format", "skopeo", str(stream)]).returncode == 0  # a Harbor rule only


def test_harbor_checks_the_project_of_an_override(tmp_path: Path) -> None:
    config = tmp_path / "postrender.yaml"
    config.write_text("overrides: {docker.io/library/nginx: team--x/nginx}\n")
    result = run_cli(["images", *SETTINGS, "--config", str(config), "--format", "harbor", str(IDENTITY)])
    assert result.returncode == 1
    assert "override target 'team--x/nginx' of docker.io/library/nginx:1.27: project 'team--x'" in result.stderr.decode()


OVERRIDE = "docker.io/library/nginx:*=civitas/web/nginx,quay.io/keycloak/**=identity/keycloak"


def test_overrides_from_config_file_and_environment_agree(tmp_path: Path) -> None:
    config = tmp_path / "postrender.yaml"
    config.write_text("overrides:\n  docker.io/library/nginx:*: civitas/web/nginx\n  quay.io/keycloak/**: identity/keycloak\n")
    from_file = images(*SETTINGS, "--config", config, "--format", "map", IDENTITY)
    from_env = images(*SETTINGS, "--format", "map", IDENTITY, env={"CIVITAS_POSTRENDER_OVERRIDES": OVERRIDE})
    assert from_file == from_env
    lines = from_file.splitlines()
    assert "docker.io/library/nginx:1.27 registry.intern/civitas/web/nginx:1.27" in lines
    assert "quay.io/keycloak/keycloak:26.3.3 registry.intern/identity/keycloak:26.3.3" in lines


def test_overrides_reach_post_render_and_its_image_list(tmp_path: Path) -> None:
    env = {"CIVITAS_POSTRENDER_OVERRIDES": OVERRIDE}
    out = tmp_path / "identity.images.json"
    result = run_cli([*SETTINGS, "--images-out", str(out)], stdin=IDENTITY.read_bytes(), env=env)
    assert result.returncode == 0, result.stderr.decode()
    assert "image: registry.intern/civitas/web/nginx:1.27" in result.stdout.decode()
    listed = {i["source"]: i for i in json.loads(out.read_text())["images"]}
    assert listed["docker.io/library/nginx:1.27"]["override"] == "civitas/web/nginx"
    assert "override" not in listed["docker.io/library/busybox"]
    merged = json.loads(images(*SETTINGS, "--format", "json", IDENTITY, env=env))
    assert {i["source"]: i.get("override") for i in merged["images"]} == {s: i.get("override") for s, i in listed.items()
                                                                       if i.get("rewritten", True)}


@pytest.mark.parametrize(("value", "message"), [
    ("nginx", "expected source globs mapped to target repositories"),
    ("nginx=", "expected source globs mapped to target repositories"),
    ("nginx=Web/nginx", "'Web/nginx' is not a repository path below the registry"),
    ("docker.io/library/nginx:*=civitas/web/server", "end the target with '/nginx'"),
])
def test_bad_overrides_are_config_errors(value: str, message: str) -> None:
    result = run_cli(["images", *SETTINGS, str(IDENTITY)], env={"CIVITAS_POSTRENDER_OVERRIDES": value})
    assert result.returncode == 1 and result.stdout == b"" and message in result.stderr.decode()


def test_collision_across_releases_is_an_error(tmp_path: Path) -> None:
    one, two = tmp_path / "one.yaml", tmp_path / "two.yaml"
    pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  containers:\n    - name: c\n      image: {image}\n"
    one.write_text(pod.format(name="a", image="docker.io/apache/superset:4.1.2"))
    two.write_text(pod.format(name="b", image="apachesuperset.docker.scarf.sh/apache/superset:4.1.2"))
    result = run_cli(["images", *SETTINGS, str(one), str(two)])
    assert result.returncode == 1 and result.stdout == b""
    assert "collision" in result.stderr.decode() and str(two) in result.stderr.decode()


@pytest.mark.parametrize(("content", "message"), [
    ("kind: Pod\nmetadata: {name: x\n", "invalid YAML"),
    ('{"images": [{"no": "source"}]}', "not an image list"),
])
def test_bad_input_names_the_file(tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(content)
    result = run_cli(["images", *SETTINGS, str(IDENTITY), str(bad)])
    assert result.returncode == 1 and result.stdout == b""
    last = result.stderr.decode().splitlines()[-1]
    assert last.startswith(f"civitas-postrender: error: {bad}: ") and message in last


def test_missing_path_is_an_input_error() -> None:
    result = run_cli(["images", "does-not-exist.yaml"])
    assert result.returncode == 1 and "does-not-exist.yaml: cannot read it" in result.stderr.decode()


def test_strict_fails_on_candidates() -> None:
    result = run_cli(["images", *SETTINGS, "--strict", str(IDENTITY)])
    assert result.returncode == 1 and "strict:" in result.stderr.decode()


def test_output_file(tmp_path: Path) -> None:
    out = tmp_path / "list.txt"
    assert images(*SETTINGS, "-o", out, IDENTITY) == ""
    assert out.read_text() == images(*SETTINGS, IDENTITY)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_formats_snapshot(fmt: str, snapshot_yaml: Any) -> None:
    """The whole platform of the fixtures, each form (reviewed by hand once, then held)."""
    paths = [str(p.relative_to(ROOT)) for p in (IDENTITY, ANALYTICS, MONITORING)]  # no machine's paths in snapshots
    result = run_cli(["images", *SETTINGS, "--format", fmt, *paths], cwd=ROOT)
    assert result.returncode == 0
    output = result.stdout.decode()
    assert output == run_cli(["images", *SETTINGS, "--format", fmt, *reversed(paths)], cwd=ROOT).stdout.decode()
    assert output == snapshot_yaml


def test_corpus_json_equals_what_post_render_rewrites(corpus: Path, tmp_path: Path) -> None:
    from postrender.testing import render

    expected: dict[str, str] = {}
    streams = corpus_streams()
    for stream in streams:
        result = render(stream.read_bytes(), registry="registry.intern", folder="civitas")
        expected |= {i.source: i.target for i in result.plan.images if i.rewrite}
    listing = json.loads(images(*SETTINGS, "--format", "json", *streams))
    assert {i["source"]: i["target"] for i in listing["images"]} == expected
    files = {o["file"] for i in listing["images"] for o in i["occurrences"]}
    assert files <= {str(s) for s in streams}
