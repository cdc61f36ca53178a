"""``--format harbor``: Harbor v2 API bodies, registry endpoints and pull replication policies.

Harbor semantics the bodies rely on (goharbor/harbor
``src/controller/replication/flow/stage.go``, ``src/pkg/reg/util/pattern.go``;
../shared/harbor/NOTES.md):

- a pull policy copies every (repository, tag) of the source registry whose
  repository matches the name filter and whose tag matches the tag filter;
  both are doublestar globs, ``{a,b}`` alternation works inside one path
  component only;
- a name filter that is a "specific path" (no wildcards, at most one ``{}`` per
  component) is expanded instead of listing the source catalog, which
  registry.k8s.io, gcr.io and most public registries do not offer;
- with ``dest_namespace`` set and ``dest_namespace_replace_count`` 0 the whole
  source repository path is put below the namespace, with N its first N
  components are dropped (how an override's target is reached); with an empty
  namespace the path is kept as it is;
- Harbor selects by tag only, and a project name must match
  ``^[a-z0-9]+(?:[._-][a-z0-9]+)*$``;
- the filters of a policy are stored as JSON in a 1024-character column.

Policy names do not depend on tags or on the order of the inputs, so that ``harbor sync`` (and
anyone applying the bodies by name) updates a policy in place after a chart upgrade; every
description ends in the folder's ``managed_marker``.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from .format import Format
from .listing import repository_below
from .plain import safe_name, to_json

# Harbor keeps a policy's filters as JSON in varchar(1024); stay clear of the edge.
FILTERS_MAX = 1000
POLICY_NAME_MAX = 256
REGISTRY_NAME_MAX = 64  # controller/registry/controller.go refuses longer endpoint names

# Harbor's adapter types for the public registries it knows by name.
REGISTRY_TYPES = {
    "docker.io": ("docker-hub", "https://hub.docker.com"),
    "quay.io": ("quay", "https://quay.io"),
    "ghcr.io": ("github-ghcr", "https://ghcr.io"),
}


@dataclass(frozen=True)
class Note:
    """An image the Harbor bodies do not place (``skipped``), or place with a caveat."""

    source: str
    reason: str
    skipped: bool = True


# Harbor's project-name rule (pkg/project/manager.go); anything else fails only when a replication runs.
HARBOR_PROJECT = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*\Z")


def bodies(listing: dict[str, Any]) -> tuple[dict[str, Any], list[Note]]:
    """Harbor v2 API bodies that make Harbor hold exactly the listed images at their targets:
    ``registries`` (POST /registries) and pull ``policies`` (POST /replication/policies, after
    setting ``src_registry.id`` to the id Harbor gave the registry of that name)."""
    registry, folder = listing["registry"], listing["folder"]
    notes: list[Note] = []
    bad_projects: dict[str, str] = {}
    # (source registry, dest_namespace, replace count) -> repository -> tags
    wanted: dict[tuple[str, str, int], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for image in listing["images"]:
        tag = _selecting_tag(image)
        if tag is None:
            notes.append(Note(image["source"], "a digest-only reference cannot be selected by a Harbor tag filter; "
                                               "not in any policy: mirror it with --format skopeo"))
            continue
        below = repository_below(image, folder)
        if "/" not in below:
            notes.append(Note(image["source"], f"Harbor cannot store {registry}/{below}: a repository needs a project "
                                               "(a path with a '/'); use --folder, or mirror it with --format skopeo"))
            continue
        namespace, count = _destination(str(image["repository"]), below, folder, bool(image.get("override")))
        project = below.partition("/")[0]
        if not HARBOR_PROJECT.match(project):
            bad_projects.setdefault(project, _project_problem(project, image, folder))
            continue
        if image["digest"]:
            notes.append(Note(image["source"], f"pinned to {image['digest']}, but Harbor selects by tag only and copies what "
                                               f"'{tag}' points to when the policy runs: if the tag has moved upstream, the "
                                               "pinned digest is missing from the mirror (--format skopeo copies by digest)",
                              skipped=False))
        wanted[(image["registry"], namespace, count)][image["repository"]].add(tag)
    if bad_projects:
        raise ConfigError(*(bad_projects[p] for p in sorted(bad_projects)))
    domains = sorted({domain for domain, _, _ in wanted})
    registries = [_registry_body(domain) for domain in domains]
    policies: list[dict[str, Any]] = []
    for (domain, namespace, count) in sorted(wanted):
        for repositories, tags, part in _policy_filters(wanted[(domain, namespace, count)]):
            policies.append(_policy_body(domain, repositories, tags, registry, folder, namespace, count, part))
    skipped = [n for n in notes if n.skipped]
    body = {"registry": registry, "folder": folder, "registries": registries, "policies": policies,
            "skipped": [{"source": s.source, "reason": s.reason} for s in skipped]}
    return body, notes


def _destination(repository: str, below: str, folder: str | None, overridden: bool) -> tuple[str, int]:
    """(dest_namespace, dest_namespace_replace_count) that make Harbor store ``repository`` at
    ``below``: Harbor keeps the source path from component ``count`` on, below the namespace."""
    if not overridden:
        return folder or "", 0
    components = repository.split("/")
    for count in range(len(components)):  # keep as much of the source path as the target allows
        kept = "/".join(components[count:])
        if below.endswith("/" + kept):
            return below[: -len(kept) - 1], count
    raise AssertionError(f"override {below} does not end in {components[-1]}")  # plan.override_for rules this out


def _project_problem(project: str, image: dict[str, Any], folder: str | None) -> str:
    rule = "Harbor project names must match ^[a-z0-9]+(?:[._-][a-z0-9]+)*$ (Harbor fails only when the replication runs)"
    if image.get("override"):
        return f"override target {image['override']!r} of {image['source']}: project {project!r} is not valid: {rule}"
    if folder:
        return f"--folder {folder!r}: project {project!r} is not valid: {rule}"
    return (f"flat scheme: {image['source']} would make {project!r}, its first path component, a Harbor project, "
            f"which is not valid: {rule}; use --folder PROJECT to put every image below one project")


def _selecting_tag(image: dict[str, Any]) -> str | None:
    """The tag a pull resolves through; an untagged, undigested reference means ``latest``."""
    if image["tag"]:
        return str(image["tag"])
    return None if image["digest"] else "latest"


def endpoint_name(domain: str) -> str:
    """The name of the registry endpoint for ``domain``: the domain, cut and hashed past Harbor's 64 characters."""
    if len(domain) <= REGISTRY_NAME_MAX:
        return domain
    return f"{domain[:REGISTRY_NAME_MAX - 11]}-{_digest(domain)}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


def managed_marker(folder: str | None) -> str:
    """Ends the description of every policy written here: ``harbor sync`` updates and deletes the
    policies that carry the marker of its folder, and never touches any other."""
    return f"[managed by civitas-postrender, {'folder ' + folder if folder else 'flat scheme'}]"


def _registry_body(domain: str) -> dict[str, Any]:
    kind, url = REGISTRY_TYPES.get(domain, ("docker-registry", f"https://{domain}"))
    return {"name": endpoint_name(domain), "type": kind, "url": url, "insecure": False,
            "description": f"source of mirrored images ({domain}), created by civitas-postrender"}


def _policy_filters(repositories: dict[str, set[str]]) -> list[tuple[list[str], list[str], int | None]]:
    """(repositories, tags, part) whose name x tag product is exactly the wanted set; ``part``
    numbers the tag chunks of repositories whose tags need more than one policy.

    Repositories share a policy only when they sit in one parent path (alternation works per
    path component) and want the very same tags (the tag filter applies to every repository).
    """
    groups: dict[tuple[str, tuple[str, ...]], list[str]] = defaultdict(list)
    for repository, tags in repositories.items():
        parent = repository.rpartition("/")[0]
        groups[(parent, tuple(sorted(tags)))].append(repository)
    result: list[tuple[list[str], list[str], int | None]] = []
    for (_, wanted_tags), repos in sorted(groups.items()):
        result += _split(sorted(repos), list(wanted_tags))
    return result


def _split(repositories: list[str], tags: list[str]) -> list[tuple[list[str], list[str], int | None]]:
    """Cut a group so that each policy's filters fit Harbor's column; every cut keeps exactness."""
    widest = max(len(name_filter([r])) for r in repositories)
    tag_chunks = _chunks(tags, tag_filter, lambda value: _filters_length(widest, len(value)))
    out: list[tuple[list[str], list[str], int | None]] = []
    for part, chunk in enumerate(tag_chunks, 1):
        tag_length = len(tag_filter(chunk))
        for repos in _chunks(repositories, name_filter, lambda value: _filters_length(len(value), tag_length)):
            out.append((repos, chunk, part if len(tag_chunks) > 1 else None))
    return out


def _chunks(items: list[str], render: Callable[[Sequence[str]], str], size: Callable[[str], int]) -> list[list[str]]:
    """Greedy, in order: start a new chunk when the next item would make the filters too long."""
    chunks: list[list[str]] = [[]]
    for item in items:
        if chunks[-1] and size(render([*chunks[-1], item])) > FILTERS_MAX:
            chunks.append([])
        chunks[-1].append(item)
    return chunks


def _filters_length(name_length: int, tag_length: int) -> int:
    return len(json.dumps(_filters("n" * name_length, "t" * tag_length), separators=(",", ":")))


def name_filter(repositories: Sequence[str]) -> str:
    """``parent/{a,b}`` for repositories in one parent path; a single repository as it is."""
    if len(repositories) == 1:
        return repositories[0]
    parent = repositories[0].rpartition("/")[0]
    leaves = ",".join(r.rpartition("/")[2] for r in repositories)
    return f"{parent}/{{{leaves}}}" if parent else f"{{{leaves}}}"


def tag_filter(tags: Sequence[str]) -> str:
    return tags[0] if len(tags) == 1 else "{" + ",".join(tags) + "}"


def _filters(name: str, tag: str) -> list[dict[str, str]]:
    return [{"type": "name", "value": name}, {"type": "tag", "value": tag, "decoration": "matches"}]


def _policy_body(domain: str, repositories: list[str], tags: list[str], registry: str, folder: str | None,
                 namespace: str, count: int, part: int | None) -> dict[str, Any]:
    kind, url = REGISTRY_TYPES.get(domain, ("docker-registry", f"https://{domain}"))
    prefix = f"{registry}/{namespace}" if namespace else registry
    return {
        "name": _policy_name(domain, repositories, namespace, count, part),
        "description": f"civitas-postrender: pull {len(repositories)} repositor{'y' if len(repositories) == 1 else 'ies'} "
                       f"x {len(tags)} tag(s) from {domain} into {prefix} {managed_marker(folder)}",
        "src_registry": {"name": endpoint_name(domain), "type": kind, "url": url},
        "dest_namespace": namespace,
        "dest_namespace_replace_count": count,
        "filters": _filters(name_filter(repositories), tag_filter(tags)),
        "trigger": {"type": "manual"},
        "override": True,
        "enabled": True,
        "replicate_deletion": False,
    }


def _policy_name(domain: str, repositories: list[str], namespace: str, count: int, part: int | None) -> str:
    """Readable, and the same for the same repositories wherever and in whatever order they are listed:
    a hash of what the policy selects and where it puts it, never its tags (a tag change keeps the name,
    so the policy is updated in place)."""
    base = "-".join([namespace or "flat", domain, repositories[0]])
    if len(repositories) > 1:
        base += f"-and-{len(repositories) - 1}"
    identity = json.dumps([domain, sorted(repositories), namespace, count, part])
    return f"{safe_name(base)[: POLICY_NAME_MAX - 11]}-{_digest(identity)}"


def _write(listing: dict[str, Any], warn: Callable[[str], None]) -> str:
    body, notes = bodies(listing)
    for note in notes:
        warn(f"{note.source}: {note.reason}")
    return to_json(body)


FORMAT = Format("harbor", "Harbor API bodies", _write, needs_registry=True)
