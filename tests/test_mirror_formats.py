"""The mirror writers, checked against what Harbor and skopeo would do with their output.

Harbor is simulated from its source (goharbor/harbor): a pull policy lists the repositories its
name filter expands to (``IsSpecificPath``), keeps the tags its tag filter matches (doublestar)
and stores each at ``replaceNamespace(repository, dest_namespace, replace_count)``.  The
simulation is written independently of ``postrender.mirror``.
"""
from __future__ import annotations

import copy
import itertools
import json
import posixpath
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import CORPUS, FIXTURES, corpus_streams
from postrender import mirror
from postrender.mirror import civitas, plain, skopeo
from postrender.mirror import harbor as harbor_format
from postrender.documents import decode
from postrender.errors import CollisionError
from postrender.pipeline import collect
from postrender.reference import parse_reference
from postrender.rules import load_rules
from postrender.testing import render

SWAGGER = Path(__file__).resolve().parent.parent.parent / "shared" / "harbor" / "harbor-v2.0-swagger.yaml"
MIRROR_FIXTURES = sorted((FIXTURES / "mirror").glob("*.yaml"))
REGISTRY = "registry.intern"


# -- Harbor, simulated -----------------------------------------------------------------------


def glob_match(pattern: str, value: str) -> bool:
    """doublestar: ``**`` any path, ``*``/``?`` within a component, ``{a,b}`` alternation."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "{":
            end = pattern.index("}", i)
            out.append("(?:" + "|".join(re.escape(a) for a in pattern[i + 1:end].split(",")) + ")")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.fullmatch("".join(out), value) is not None


def specific_paths(pattern: str) -> list[str] | None:
    """Harbor's IsSpecificPath: the repositories a name filter names, or None (catalog listing)."""
    parts: list[list[str]] = []
    for component in pattern.split("/"):
        if not component or re.search(r"[*?\[\]\\^]", component) or component.count("{") > 1:
            return None
        if "{" in component:
            start, end = component.index("{"), component.rindex("}")
            parts.append([component[:start] + a + component[end + 1:] for a in component[start + 1:end].split(",")])
        elif "," in component or "}" in component:
            return None
        else:
            parts.append([component])
    return ["/".join(p) for p in itertools.product(*parts)]


def replace_namespace(repository: str, namespace: str, count: int) -> str:
    if not namespace:
        return repository
    components = repository.split("/")
    if count < 0:
        prefix = namespace
    else:
        assert count <= len(components) - 1, "Harbor rejects this replace count"
        prefix = namespace + "/" + "/".join(components[count:-1])
    return posixpath.join(prefix, components[-1])


def replicate(body: dict[str, Any], universe: dict[str, dict[str, set[str]]]) -> set[str]:
    """Every ``registry/repository:tag`` the policies make the local Harbor hold."""
    held: set[str] = set()
    for policy in body["policies"]:
        source = universe.get(policy["src_registry"]["name"], {})
        filters = {f["type"]: f["value"] for f in policy["filters"]}
        names = specific_paths(filters["name"])
        assert names is not None, f"{policy['name']}: the name filter would list the whole catalog"
        for repository in names:
            for tag in source.get(repository, ()):
                if glob_match(filters["name"], repository) and glob_match(filters["tag"], tag):
                    dest = replace_namespace(repository, policy["dest_namespace"], policy["dest_namespace_replace_count"])
                    assert len(dest.split("/")) >= 2, "the local Harbor needs a project"
                    held.add(f"{body['registry']}/{dest}:{tag}")
    return held


def universe_of(listing: dict[str, Any]) -> dict[str, dict[str, set[str]]]:
    """The listed tags, plus decoys a sloppy filter would catch: every other tag of the registry
    in every repository, an unlisted tag, and an unlisted sibling repository."""
    universe: dict[str, dict[str, set[str]]] = {}
    for image in listing["images"]:
        repos = universe.setdefault(image["registry"], {})
        repos.setdefault(image["repository"], set()).add(image["tag"] or "latest")
        parent = image["repository"].rpartition("/")[0]
        repos.setdefault(f"{parent}/decoy" if parent else "decoy", set())
    for repos in universe.values():
        tags = set().union(*repos.values()) | {"0.0.0-decoy", "latest"}
        for name in repos:
            repos[name] = repos[name] | tags
    return universe


def pulled(target: str) -> str:
    """What the runtime pulls by tag for a target reference (digest-only ones have none)."""
    ref = parse_reference(target)
    assert ref is not None
    return f"{ref.name}:{ref.tag or 'latest'}"


def manifest_targets(output: str) -> set[str]:
    """The image references a rewritten stream points at."""
    findings = collect(output, load_rules())
    return {site.text for site in findings.sites if site.text.startswith(REGISTRY + "/")}


# -- Harbor's schema ---------------------------------------------------------------------------


@cache
def harbor_definitions() -> dict[str, Any]:
    if not SWAGGER.is_file():
        pytest.skip(f"Harbor's swagger not present at {SWAGGER}")
    return yaml.safe_load(SWAGGER.read_text(encoding="utf-8"))["definitions"]  # type: ignore[no-any-return]


def strict(definitions: dict[str, Any]) -> dict[str, Any]:
    """Harbor ignores unknown fields silently: reject them, so a misspelt key fails here."""
    definitions = copy.deepcopy(definitions)
    for schema in definitions.values():
        if schema.get("type") == "object" and "properties" in schema:
            schema["additionalProperties"] = False
    return definitions


def validate(instance: Any, definition: str) -> None:
    from jsonschema import Draft4Validator

    definitions = strict(harbor_definitions())
    Draft4Validator({"$ref": f"#/definitions/{definition}", "definitions": definitions}).validate(instance)


def validate_body(body: dict[str, Any]) -> None:
    for registry in body["registries"]:
        validate(registry, "Registry")
    for policy in body["policies"]:
        validate(policy, "ReplicationPolicy")
        validate(policy["trigger"], "ReplicationTrigger")
        for f in policy["filters"]:
            validate(f, "ReplicationFilter")


# -- helpers -----------------------------------------------------------------------------------


def rendered(paths: list[Path], **settings: Any) -> tuple[dict[str, Any], set[str]]:
    """The merged listing of several releases and every target their rewritten manifests name."""
    entries, targets = [], set()
    for path in paths:
        result = render(path.read_bytes(), registry=REGISTRY, **settings)
        entries += result.image_list(result_settings(settings))["images"]
        # Images already on the private registry were never rewritten and need no mirroring.
        targets |= manifest_targets(result.output) - manifest_targets(decode(path.read_bytes()).text)
    entries = [e for e in entries if e.get("rewritten", True)]
    return mirror.merge(entries, REGISTRY, settings.get("folder"), settings.get("overrides", ())), targets


def result_settings(settings: dict[str, Any]) -> Any:
    from postrender.settings import Settings

    return Settings(registry=REGISTRY, folder=settings.get("folder"), overrides=settings.get("overrides", ()))


# Per-image overrides over the fixtures: a path cut to its leaf, a one-component source given a
# project, a tag glob, a ** glob over a pinned image, an override equal to the default.
OVERRIDES = (
    ("quay.io/prometheus-operator/prometheus-operator", "ops/prometheus-operator"),
    ("registry.k8s.io/pause", "civitas/k8s/pause"),
    ("docker.io/bitnami/redis:8.*", "civitas/cache/bitnami/redis"),
    ("registry.k8s.io/ingress-nginx/**", "edge/ingress/controller"),
    ("docker.io/grafana/grafana", "civitas/grafana/grafana"),
)
SCHEMES = {"folder": {"folder": "civitas"}, "flat": {}, "nested-folder": {"folder": "platform/mirror"},
           "folder-overrides": {"folder": "civitas", "overrides": OVERRIDES}, "flat-overrides": {"overrides": OVERRIDES}}


def entry(source: str, **extra: Any) -> dict[str, Any]:
    return {"source": source, "occurrences": [], "rule": "kubernetes/workload", **extra}


# -- Harbor --------------------------------------------------------------------------------------


def harbor(listing: dict[str, Any]) -> tuple[dict[str, Any], list[harbor_format.Note]]:
    """The bodies and the images they leave out (pinned images are placed, with a warning)."""
    body, notes = harbor_format.bodies(listing)
    return body, [note for note in notes if note.skipped]


@pytest.mark.parametrize("scheme", SCHEMES)
def test_harbor_policies_hold_exactly_what_the_manifests_pull(scheme: str) -> None:
    listing, targets = rendered(MIRROR_FIXTURES, **SCHEMES[scheme])
    body, skipped = harbor(listing)
    validate_body(body)
    expected = {pulled(t) for t in targets if parse_reference(t).tag or not parse_reference(t).digest}  # type: ignore[union-attr]
    unplaceable = {pulled(i["target"]) for i in listing["images"] if any(s.source == i["source"] for s in skipped)}
    assert replicate(body, universe_of(listing)) == expected - unplaceable
    assert expected - unplaceable, "the fixtures hold images"


def test_harbor_scheme_fields() -> None:
    folder_body, _ = harbor(rendered(MIRROR_FIXTURES, folder="civitas")[0])
    flat_body, _ = harbor(rendered(MIRROR_FIXTURES)[0])
    assert {(p["dest_namespace"], p["dest_namespace_replace_count"]) for p in folder_body["policies"]} == {("civitas", 0)}
    assert {p["dest_namespace"] for p in flat_body["policies"]} == {""}
    for policy in folder_body["policies"] + flat_body["policies"]:
        assert policy["trigger"] == {"type": "manual"}
        assert policy["override"] is True
        assert policy["src_registry"]["name"] in {r["name"] for r in folder_body["registries"]}


def test_harbor_places_overridden_images_with_their_own_namespace() -> None:
    listing, targets = rendered(MIRROR_FIXTURES, folder="civitas", overrides=OVERRIDES)
    assert "registry.intern/ops/prometheus-operator:v0.85.0" in targets
    assert "registry.intern/civitas/k8s/pause:3.10" in targets
    body, _ = harbor(listing)
    placed = {(p["filters"][0]["value"], p["dest_namespace"], p["dest_namespace_replace_count"]) for p in body["policies"]}
    assert {("prometheus-operator/prometheus-operator", "ops", 1), ("pause", "civitas/k8s", 0),
            ("bitnami/redis", "civitas/cache", 0), ("ingress-nginx/controller", "edge/ingress", 1),
            ("grafana/grafana", "civitas", 0), ("prometheus-operator/prometheus-config-reloader", "civitas", 0)} <= placed
    flat, flat_skipped = harbor(rendered(MIRROR_FIXTURES, overrides=OVERRIDES)[0])
    assert "registry.k8s.io/pause:3.10" not in {s.source for s in flat_skipped}  # the override gives it a project
    assert ("pause", "civitas/k8s", 0) in {(p["filters"][0]["value"], p["dest_namespace"], p["dest_namespace_replace_count"])
                                            for p in flat["policies"]}


def test_harbor_skips_an_override_without_a_project() -> None:
    listing = mirror.merge([entry("registry.k8s.io/sig/pause:3.10")], REGISTRY, "civitas", [("registry.k8s.io/**", "pause")])
    assert listing["images"][0]["target"] == "registry.intern/pause:3.10"
    body, skipped = harbor(listing)
    assert [s.source for s in skipped] == ["registry.k8s.io/sig/pause:3.10"] and not body["policies"]


def test_harbor_registry_types() -> None:
    listing = mirror.merge([entry(s) for s in ["nginx:1", "quay.io/a/b:1", "ghcr.io/c/d:1", "registry.k8s.io/e/f:1",
                                               "registry.example.org:5443/g/h:1"]], REGISTRY, "civitas")
    body, _ = harbor(listing)
    assert [(r["name"], r["type"], r["url"]) for r in body["registries"]] == [
        ("docker.io", "docker-hub", "https://hub.docker.com"),
        ("ghcr.io", "github-ghcr", "https://ghcr.io"),
        ("quay.io", "quay", "https://quay.io"),
        ("registry.example.org:5443", "docker-registry", "https://registry.example.org:5443"),
        ("registry.k8s.io", "docker-registry", "https://registry.k8s.io"),
    ]
    validate_body(body)


def test_harbor_groups_with_alternation_only_where_exact() -> None:
    sources = ["quay.io/p/a:v1", "quay.io/p/b:v1", "quay.io/p/c:v2", "quay.io/q/a:v1", "quay.io/p/d:v1", "quay.io/p/d:v2"]
    body, _ = harbor(mirror.merge([entry(s) for s in sources], REGISTRY, "civitas"))
    filters = sorted((p["filters"][0]["value"], p["filters"][1]["value"]) for p in body["policies"])
    assert filters == [("p/c", "v2"), ("p/d", "{v1,v2}"), ("p/{a,b}", "v1"), ("q/a", "v1")]


def test_harbor_splits_long_filters_and_stays_exact() -> None:
    tags = [f"1.{i}.0-debian-12-r{i}-with-a-rather-long-build-suffix" for i in range(40)]
    sources = [f"docker.io/team/service-number-{n:03d}:{t}" for n in range(60) for t in tags]
    listing = mirror.merge([entry(s) for s in sources], REGISTRY, "civitas")
    body, _ = harbor(listing)
    validate_body(body)
    assert len(body["policies"]) > 1
    for policy in body["policies"]:
        assert len(json.dumps(policy["filters"], separators=(",", ":"))) <= 1024
    assert len({p["name"] for p in body["policies"]}) == len(body["policies"])
    assert replicate(body, universe_of(listing)) == {pulled(i["target"]) for i in listing["images"]}


def test_harbor_skips_digest_only_and_points_to_skopeo() -> None:
    digest = "sha256:" + "ab" * 32
    listing = mirror.merge([entry(f"ghcr.io/acme/agent@{digest}"), entry("ghcr.io/acme/agent:1.0")], REGISTRY, "civitas")
    body, skipped = harbor(listing)
    assert [s.source for s in skipped] == [f"ghcr.io/acme/agent@{digest}"]
    assert "skopeo" in skipped[0].reason and "tag filter" in skipped[0].reason
    assert body["skipped"] == [{"source": s.source, "reason": s.reason} for s in skipped]
    assert [p["filters"][1]["value"] for p in body["policies"]] == ["1.0"]


def test_harbor_flat_scheme_skips_repositories_without_a_project() -> None:
    listing = mirror.merge([entry("registry.k8s.io/pause:3.10"), entry("registry.k8s.io/sig/x:1")], None, None)
    listing["registry"] = REGISTRY
    for image in listing["images"]:
        image["target"] = parse_reference(image["source"]).at(REGISTRY, None)  # type: ignore[union-attr]
    body, skipped = harbor(listing)
    assert [s.source for s in skipped] == ["registry.k8s.io/pause:3.10"]
    assert [p["filters"][0]["value"] for p in body["policies"]] == ["sig/x"]
    folder_body, folder_skipped = harbor(mirror.merge([entry("registry.k8s.io/pause:3.10")], REGISTRY, "civitas"))
    assert not folder_skipped and folder_body["policies"][0]["filters"][0]["value"] == "pause"


@pytest.mark.parametrize("folder", ["civitas", None], ids=["folder", "flat"])
def test_harbor_over_the_corpus(folder: str | None) -> None:
    streams = corpus_streams()
    if not streams:
        pytest.skip(f"corpus not present at {CORPUS}")
    listing, targets = rendered(streams, folder=folder)
    body, skipped = harbor(listing)
    validate_body(body)
    expected = {pulled(t) for t in targets}
    unplaceable = {pulled(i["target"]) for i in listing["images"] if any(s.source == i["source"] for s in skipped)}
    assert replicate(body, universe_of(listing)) == expected - unplaceable


# -- skopeo --------------------------------------------------------------------------------------


def skopeo_copies(output: str) -> set[str]:
    """What ``skopeo sync --src yaml --dest docker FILE DEST`` (not scoped) writes, per document."""
    copies = set()
    for document in output.split("---\n")[1:]:
        command = document.splitlines()[0]
        assert command.startswith("# skopeo sync ") and "--scoped" not in command
        dest = command.split()[-1]
        for domain, config in yaml.safe_load(document).items():
            assert set(config) == {"images"}
            for repository, versions in config["images"].items():
                assert versions, "an empty list copies every tag"
                for version in versions:
                    sep = "@" if version.startswith("sha256:") else ":"
                    copies.add(f"{dest}/{posixpath.basename(repository)}{sep}{version}")
    return copies


@pytest.mark.parametrize("scheme", SCHEMES)
def test_skopeo_places_every_image_at_its_target(scheme: str) -> None:
    listing, targets = rendered(MIRROR_FIXTURES, **SCHEMES[scheme])
    copies = skopeo_copies(skopeo.sync_files(listing))
    expected = set()
    for target in targets:
        ref = parse_reference(target)
        assert ref is not None
        if ref.tag or not ref.digest:
            expected.add(f"{ref.name}:{ref.tag or 'latest'}")
        if ref.digest:
            expected.add(f"{ref.name}@{ref.digest}")
    assert copies == expected


def test_skopeo_without_registry_names_the_destination_placeholder() -> None:
    listing = mirror.merge([entry("nginx:1.27")], None, "civitas")
    assert skopeo.sync_files(listing).splitlines()[1].endswith(" REGISTRY/civitas/library")


# -- CIVITAS/CORE --------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", SCHEMES)
def test_civitas_references_rebuild_the_targets(scheme: str) -> None:
    listing, _ = rendered(MIRROR_FIXTURES, **SCHEMES[scheme])
    output = civitas.references(listing)
    assert output.startswith("# ")
    components = yaml.safe_load(output)
    assert list(components) == sorted(components)
    rebuilt = set()
    for value in components.values():
        reference = f"{value['registry']}/{value['repository']}"
        reference += f":{value['tag']}" if value["tag"] else ""
        reference += f"@{value['digest']}" if value.get("digest") else ""
        rebuilt.add(reference)
    expected = set()
    for image in listing["images"]:
        ref = parse_reference(image["target"])
        assert ref is not None
        tag = ref.tag or ("latest" if not ref.digest else None)  # what an untagged reference pulls
        expected.add(ref.name + (f":{tag}" if tag else "") + (f"@{ref.digest}" if ref.digest else ""))
    assert rebuilt == expected


def test_civitas_keys_by_repository_name_and_disambiguates() -> None:
    listing = mirror.merge([entry(s) for s in ["docker.io/bitnami/redis:8", "docker.io/library/redis:7",
                                               "quay.io/keycloak/keycloak:26", "docker.io/a/x:1", "quay.io/b/x:1"]],
                           None, None)
    components = yaml.safe_load(civitas.references(listing))
    assert sorted(components) == ["docker.io-a-x-1", "keycloak", "quay.io-b-x-1", "redis-7", "redis-8"]
    assert components["keycloak"] == {"registry": "quay.io", "repository": "keycloak/keycloak", "tag": "26"}


# -- merge and the plain forms -------------------------------------------------------------------


def test_merge_deduplicates_sorts_and_keeps_occurrences() -> None:
    first = {"file": "a.yaml", "document": 3, "kind": "Deployment", "rule": "kubernetes/workload", "location": "container"}
    second = {"file": "b.yaml", "document": 0, "kind": "Job", "rule": "kubernetes/workload", "location": "container", "hook": True}
    listing = mirror.merge([entry("quay.io/x/y:1", occurrences=[second]), entry("nginx:1.27"),
                            entry("docker.io/library/nginx:1.27", occurrences=[first])], REGISTRY, None)
    assert [i["source"] for i in listing["images"]] == ["docker.io/library/nginx:1.27", "quay.io/x/y:1"]
    assert listing["images"][0]["target"] == "registry.intern/library/nginx:1.27"
    assert listing["images"][0]["occurrences"] == [first]
    assert plain.text(listing) == "docker.io/library/nginx:1.27\nquay.io/x/y:1\n"
    assert plain.mapping(listing).splitlines()[1] == "quay.io/x/y:1 registry.intern/x/y:1"


def test_merge_without_registry_has_null_targets() -> None:
    listing = mirror.merge([entry("nginx:1.27")], None, "civitas")
    assert listing["registry"] is None and listing["images"][0]["target"] is None


def test_merge_rejects_two_sources_on_one_target() -> None:
    with pytest.raises(CollisionError, match="apache/superset:4.1.2"):
        mirror.merge([entry("docker.io/apache/superset:4.1.2"), entry("apachesuperset.docker.scarf.sh/apache/superset:4.1.2")],
                     None, "civitas")


def test_merge_keeps_the_post_render_rule() -> None:
    candidate = {"file": "a.yaml", "document": 0, "rule": "heuristic/image-key", "location": "candidate"}
    ruled = {"file": "b.yaml", "document": 0, "rule": "kubernetes/workload", "location": "container"}
    listing = mirror.merge([entry("nginx:1", occurrences=[candidate], candidate=True, rewritten=True),
                            entry("nginx:1", occurrences=[ruled])], REGISTRY, None)
    image = listing["images"][0]
    assert image["rule"] == "kubernetes/workload" and "candidate" not in image


def test_fixture_streams_decode() -> None:
    for path in MIRROR_FIXTURES:
        assert decode(path.read_bytes()).text.startswith("# Models ")
