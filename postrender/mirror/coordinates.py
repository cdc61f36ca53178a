"""Image lists keep their coordinates: the registry, folder and overrides they were written for.

Without ``--registry``/``--folder`` the lists' own are used; given ones must agree with the
lists' (every listed target unchanged) unless the lists are explicitly re-targeted.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from ..errors import InputError
from ..plan import is_excluded, override_for
from ..reference import parse_reference
from ..settings import Settings


def coordinates(lists: list[tuple[str, dict[str, Any]]], settings: Settings, retarget: bool) -> Settings:
    """The settings the lists are read with: theirs when no --registry/--folder is given; the
    given ones when they agree with the lists' (or with --retarget); else an error."""
    written = {label: (listing.get("registry"), listing.get("folder")) for label, listing in lists
               if listing.get("registry")}  # lists without a registry hold no targets to keep
    if not written or retarget:
        return settings
    if settings.registry is None:
        found = sorted(set(written.values()), key=str)
        if settings.folder is None and len(found) == 1:
            return dataclasses.replace(settings, registry=found[0][0], folder=found[0][1],
                                       overrides=(*settings.overrides, *_list_overrides(lists)))
        if settings.folder is None:
            raise InputError("the image lists were written for different registries or folders: "
                             + "; ".join(f"{label} ({_shown(c)})" for label, c in sorted(written.items()))
                             + ": pass --registry and --folder with --retarget to recompute their targets for one place")
        settings = dataclasses.replace(settings, registry=str(found[0][0]) if len({c[0] for c in found}) == 1 else None)
    given = (settings.registry, settings.folder)
    problems = [f"{label} was written for {_shown(c)}, not {_shown(given)}" for label, c in sorted(written.items())
                if settings.registry is not None and c != given]
    problems += _override_changes(lists, settings) if not problems else []
    if problems:
        raise InputError(*problems, "pass --retarget to recompute their targets for the given settings, "
                                    "or leave out --registry and --folder to use the lists' own")
    return settings


def _shown(coordinates: tuple[Any, Any]) -> str:
    registry, folder = coordinates
    return f"registry {registry}, " + (f"folder {folder}" if folder else "flat scheme")


def _list_overrides(lists: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, str]]:
    """Each overridden image of the lists, by its exact source (a glob without wildcards)."""
    return [(str(image["source"]), str(image["override"])) for _, listing in lists for image in listing.get("images") or ()
            if isinstance(image, dict) and isinstance(image.get("override"), str) and isinstance(image.get("source"), str)]


def _override_changes(lists: list[tuple[str, dict[str, Any]]], settings: Settings) -> list[str]:
    problems = []
    for label, listing in lists:
        for image in listing.get("images") or ():
            ref = parse_reference(image.get("source", "")) if isinstance(image, dict) else None
            if ref is None or not image.get("target") or is_excluded(ref, settings.exclude):
                continue
            target = ref.at(str(settings.registry), settings.folder, override_for(ref, settings.overrides))
            if target != image["target"]:
                problems.append(f"{label}: {ref.normalized} was listed at {image['target']}, the settings put it at {target}")
    return problems
