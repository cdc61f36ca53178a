"""``images``: the mirror list of many releases, from rendered streams and ``--images-out`` lists.

Nothing is rewritten: each stream goes through the same finder and plan as
post-render mode, so the list names exactly the images post-render mode rewrites.
"""
from __future__ import annotations

import dataclasses
import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from .. import mirror
from ..cli import resolve_settings, settings_options
from ..documents import decode
from ..errors import InputError, PostrenderError
from ..imagelist import image_list, write_atomically
from ..pipeline import checked_warnings, read_stream
from ..plan import folder_warnings, is_excluded, is_private, make_plan
from ..reference import parse_reference
from ..report import Reporter
from ..rules import RuleSet, load_rules
from ..settings import Settings

STDIN = "-"
STREAM_SUFFIXES = (".yaml", ".yml", ".json")  # manifest streams and --images-out lists


@click.command("images", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("paths", nargs=-1, metavar="[PATH ...]")
@click.option("--format", "fmt", type=click.Choice(mirror.FORMATS), default="text", show_default=True,
              help="text: sources; map: 'source target'; json: the image list; harbor: Harbor API bodies; "
                   "skopeo: skopeo sync files; civitas: CIVITAS/CORE software references.")
@click.option("-o", "--output", metavar="FILE", help="Write the result to FILE (atomically) instead of stdout.")
@click.option("--retarget", is_flag=True,
              help="Recompute the targets of image lists written for another registry, folder or overrides "
                   "instead of refusing them.")
@click.option("--allow-empty", is_flag=True, help="Accept input that holds no documents and no image lists.")
@settings_options
def images(paths: tuple[str, ...], fmt: str, output: str | None, retarget: bool, allow_empty: bool, **params: Any) -> None:
    """List every image to mirror, deduplicated and sorted, from rendered streams and image lists.

    PATH is a rendered stream, an --images-out JSON file, a directory (its *.yaml, *.yml and
    *.json files, recursively) or '-' for stdin (the default).  Nothing is rewritten.  Image
    lists keep the registry and folder they were written for: without --registry and --folder
    theirs are used, and lists written for others are refused unless --retarget is given.
    """
    if output in mirror.FORMATS:  # `-o json` meant --format json far more often than a file named "json"
        raise click.UsageError(f"-o {output} writes a file named {output!r}: for the {output} format use "
                               f"--format {output}; for that file name write -o ./{output}")
    settings = resolve_settings(params)
    reporter = Reporter(settings.log_file)
    inputs = read_inputs(paths or (STDIN,))
    settings = coordinates(inputs.lists, settings, retarget)
    if fmt in mirror.NEEDS_REGISTRY and not settings.registry:
        try:
            settings.require_registry()
        except PostrenderError as exc:
            raise type(exc)(*(f"--format {fmt} needs the private registry: {p}" for p in exc.problems)) from None
    listing = build_listing(inputs, settings, reporter)
    if not allow_empty and not inputs.lists and not inputs.content:
        raise InputError(f"no documents and no image lists in {', '.join(paths) if paths else 'stdin'}: nothing to mirror "
                         "(pass --allow-empty to accept an empty result)")
    result = render(fmt, listing, reporter)
    if output:
        write_atomically(Path(output), result)
    else:
        sys.stdout.buffer.write(result.encode("utf-8"))
        sys.stdout.buffer.flush()


def render(fmt: str, listing: dict[str, Any], reporter: Reporter) -> str:
    if fmt == "text":
        return mirror.text(listing)
    if fmt == "map":
        return mirror.mapping(listing)
    if fmt == "json":
        return mirror.to_json(listing)
    if fmt == "harbor":
        body, notes = mirror.harbor(listing)
        for note in notes:
            reporter.warning(f"{note.source}: {note.reason}")
        return mirror.to_json(body)
    if fmt == "skopeo":
        return mirror.skopeo(listing)
    return mirror.civitas(listing)


@dataclasses.dataclass
class Inputs:
    """The image lists, parsed, and the streams, read again when their turn comes (memory)."""

    lists: list[tuple[str, dict[str, Any]]]
    stream_paths: list[tuple[str, Path | bytes]]  # a file, or stdin's bytes
    content: bool = False  # whether any stream read so far holds more than comments and markers

    def streams(self) -> Iterator[tuple[str, bytes]]:
        for label, source in self.stream_paths:
            data = source if isinstance(source, bytes) else _read(source)
            self.content = self.content or _HAS_CONTENT.search(data) is not None
            yield label, data


def read_inputs(paths: tuple[str, ...]) -> Inputs:
    inputs = Inputs([], [])
    stdin_used = False
    for raw in paths:
        if raw == STDIN:
            if stdin_used:
                raise InputError("'-' (stdin) given more than once")
            stdin_used = True
            _sort(inputs, STDIN, sys.stdin.buffer.read(), None)
            continue
        path = Path(raw)
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.suffix in STREAM_SUFFIXES and p.is_file()):
                _sort(inputs, str(file), _read(file), file)
        else:
            _sort(inputs, raw, _read(path), path)
    return inputs


def _sort(inputs: Inputs, label: str, data: bytes, path: Path | None) -> None:
    listing = _as_image_list(decode(data).text) if _JSON_START.match(data) else None  # only JSON is decoded whole
    if listing is not None:
        inputs.lists.append((label, listing))
    else:
        inputs.stream_paths.append((label, path if path is not None else data))


_HAS_CONTENT = re.compile(rb"^(?![ \t]*(?:#|---|\.\.\.|\r?$))", re.MULTILINE)


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
    from ..plan import override_for

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


def build_listing(inputs: Inputs, settings: Settings, reporter: Reporter) -> dict[str, Any]:
    rules = load_rules(settings.rules)
    entries: list[dict[str, Any]] = []
    for label, listing in inputs.lists:
        entries += _labelled(label, lambda: _list_entries(listing, settings, label))
    for label, data in inputs.streams():
        entries += _labelled(label, lambda: _stream_entries(decode(data).data, settings, rules, label, reporter))
    return mirror.merge(entries, settings.registry, settings.folder, settings.overrides)


def _labelled(label: str, read: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    try:
        return read()
    except PostrenderError as exc:
        raise type(exc)(*(f"{label}: {p}" for p in exc.problems)) from None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read it: {exc.strerror or exc}") from None


_JSON_START = re.compile(rb"\s*\{")


def _as_image_list(text: str) -> dict[str, Any] | None:
    """An ``--images-out`` document, or ``None`` for a manifest stream (which may be JSON too)."""
    if not text.lstrip().startswith("{"):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if isinstance(data, dict) and "images" in data and "kind" not in data:
        return data
    return None


def _stream_entries(data: bytes, settings: Settings, rules: RuleSet, label: str, reporter: Reporter) -> list[dict[str, Any]]:
    findings, _ = read_stream(data, rules, keep_text=False)  # as post-render reads it, one document at a time
    # Without a registry nothing is private; "" never equals a domain, and targets are dropped later.
    plan = make_plan(findings.sites, settings, settings.registry or "")
    for warning in [*checked_warnings(findings, plan, settings, "not listed, as post-render mode leaves it as is"),
                    *folder_warnings(plan, settings.registry or "", settings)]:
        reporter.warning(f"{label}: {warning}")
    listed = image_list(plan, settings.registry, settings.folder, with_file=label)["images"]
    return [entry for entry in listed if entry.get("rewritten", True)]


def _list_entries(listing: dict[str, Any], settings: Settings, label: str) -> list[dict[str, Any]]:
    images = listing.get("images")
    if not isinstance(images, list) or not all(isinstance(i, dict) and isinstance(i.get("source"), str) for i in images):
        raise InputError("not an image list: 'images' must be a list of objects, each with a 'source' string")
    entries = []
    for image in images:
        ref = parse_reference(image["source"])
        if ref is None:
            raise InputError(f"{image['source']!r} is not an image reference")
        if image.get("rewritten", True) is False:  # a candidate the render left as is
            continue
        if is_private(ref, settings.registry or "", settings) or is_excluded(ref, settings.exclude):
            continue
        occurrences = []
        for occurrence in image.get("occurrences") or ():
            if isinstance(occurrence, dict):
                occurrences.append({**occurrence, "file": occurrence.get("file", label)})
        entries.append({**image, "occurrences": occurrences})
    return entries
