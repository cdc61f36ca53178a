"""The image list: what the private registry must hold for this render (JSON)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .plan import Plan


def image_list(plan: Plan, registry: str | None, folder: str | None, *, with_file: str | None = None) -> dict[str, Any]:
    images = []
    for image in plan.images:
        entry: dict[str, Any] = {
            "source": image.source,
            "target": image.target,
            "registry": image.ref.domain,
            "repository": image.ref.path,
            "tag": image.ref.tag,
            "digest": image.ref.digest,
            "rule": sorted({site.rule for site in image.sites})[0] if image.candidate else _first_rule(image.sites),
            "occurrences": [_occurrence(site, with_file, plan) for site in image.sites],
        }
        if image.override:
            entry["override"] = image.override
        if all(site.implied for site in image.sites):
            entry["implied"] = True
        if image.candidate:
            entry["candidate"] = True
            entry["rewritten"] = image.rewrite
        images.append(entry)
    return {"registry": registry, "folder": folder, "images": images}


def _first_rule(sites: Any) -> str:
    return str(next(site.rule for site in sites if not site.candidate))


def _occurrence(site: Any, file: str | None, plan: Plan) -> dict[str, Any]:
    occurrence: dict[str, Any] = {
        "document": site.doc.index,
        "kind": site.doc.kind,
        "name": site.doc.name,
        "namespace": site.doc.namespace,
        "path": site.path,
        "template": site.doc.template,
        "rule": site.rule,
        "location": site.location,
    }
    if site.implied:
        occurrence["implied"] = True  # derived by the operator (from a version); made explicit where it has a field
    if site.part is not None:
        occurrence["part"] = site.part  # one setting of a split reference (the tag stays where it is)
    if site.candidate and not plan.rewrite_candidates:
        occurrence["rewritten"] = False  # judged on its own: a candidate place stays as it is
    if (site.doc.piece, site.node.start) in plan.reemitted:
        occurrence["reemitted"] = True  # its string was written again whole (a style that cannot be edited in place)
    if site.doc.hook:
        occurrence["hook"] = True
    if file is not None:
        occurrence["file"] = file
    return occurrence


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def list_path(images_out: Path, content: str, listing: dict[str, Any]) -> Path:
    """Where ``--images-out`` puts this render's list: the file given, or in a directory one file
    per render, ``<first namespace>-<hash of the content>.json``, so one environment variable serves
    every release of a playbook run, and rendering the same release again rewrites its own file."""
    try:
        is_dir = images_out.is_dir()
    except OSError:  # a name too long to look at: writing it says why, as for any file that cannot be written
        is_dir = False
    if not is_dir:
        return images_out
    import hashlib
    import re

    placed = [(o["document"], o["namespace"]) for image in listing["images"] for o in image["occurrences"] if o.get("namespace")]
    namespace = re.sub(r"[^a-z0-9.-]+", "-", str(min(placed)[1]).lower()).strip(".-")[:63] if placed else ""
    return images_out / f"{namespace or 'no-namespace'}-{hashlib.sha256(content.encode('utf-8')).hexdigest()[:16]}.json"
