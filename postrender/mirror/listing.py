"""One image list out of the lists of many releases: deduplicated by source, sorted, each
image's target computed for one registry, folder and overrides, collisions refused."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from .. import collisions
from ..plan import override_for
from ..reference import ImageRef, parse_reference


def merge(entries: Iterable[dict[str, Any]], registry: str | None, folder: str | None,
          overrides: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """One image-list document from the entries of many lists: deduplicated by source, sorted,
    targets computed for ``registry``/``folder``/``overrides`` (``None`` without a registry)."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    refs: dict[str, ImageRef] = {}
    for entry in entries:
        ref = parse_reference(entry["source"])
        if ref is None:
            continue
        grouped[ref.normalized].append(entry)
        refs[ref.normalized] = ref
    images = [_merged(refs[source], grouped[source], registry, folder, override_for(refs[source], overrides))
              for source in sorted(grouped)]
    collisions.check((collisions.Landing(refs[image["source"]], repository_below(image, folder), first_seen(image))
                      for image in images), registry)
    return {"registry": registry, "folder": folder, "images": images}


def _merged(ref: ImageRef, entries: list[dict[str, Any]], registry: str | None, folder: str | None,
            override: str | None) -> dict[str, Any]:
    occurrences: list[dict[str, Any]] = []
    seen: set[tuple[tuple[str, Any], ...]] = set()
    for entry in entries:
        for occurrence in entry.get("occurrences") or ():
            key = tuple(sorted(occurrence.items()))  # values are plain scalars: hashable as they are
            if key not in seen:  # the same file given twice, or a stream and its own --images-out
                seen.add(key)
                occurrences.append(occurrence)
    occurrences.sort(key=_occurrence_order)  # stable: within a document, the finder's order
    candidate = all(entry.get("candidate", False) for entry in entries)
    # As post-render mode says it: the first rule that covers the kind, else the heuristic.
    rules = [str(o["rule"]) for o in occurrences if "rule" in o and (candidate or o.get("location") != "candidate")]
    merged: dict[str, Any] = {
        "source": ref.normalized,
        "target": ref.at(registry, folder, override) if registry else None,
        "registry": ref.domain,
        "repository": ref.path,
        "tag": ref.tag,
        "digest": ref.digest,
        "rule": (min(rules) if candidate else rules[0]) if rules else min(str(e.get("rule")) for e in entries),
        "occurrences": occurrences,
    }
    if override:
        merged["override"] = override
    if candidate:
        merged["candidate"] = True
        merged["rewritten"] = True
    return merged


def repository_below(image: dict[str, Any], folder: str | None) -> str:
    """The repository a merged image gets below the registry (its override, else folder + path)."""
    override = image.get("override")
    return str(override) if override else (f"{folder}/{image['repository']}" if folder else str(image["repository"]))


def _occurrence_order(occurrence: dict[str, Any]) -> tuple[str, int]:
    document = occurrence.get("document")
    return str(occurrence.get("file") or ""), document if isinstance(document, int) else -1


def first_seen(image: dict[str, Any]) -> str:
    """Where a merged image was first seen: file, document, template, kind/name, path."""
    if not image["occurrences"]:
        return "an image list without occurrences"
    o = image["occurrences"][0]
    where = f"{o.get('file', '?')} document {o.get('document')}"
    if o.get("template"):
        where += f" ({o['template']})"
    return f"{where} {o.get('kind')}/{o.get('name')}" + (f" at {o['path']}" if o.get("path") else "")
