"""``images``: the mirror list of many releases, from rendered streams and ``--images-out`` lists.

Nothing is rewritten: each stream goes through the same finder and plan as
post-render mode, so the list names exactly the images post-render mode rewrites.
"""
from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
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
STREAM_SUFFIXES = (".yaml", ".yml")


@click.command("images", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("paths", nargs=-1, metavar="[PATH ...]")
@click.option("--format", "fmt", type=click.Choice(mirror.FORMATS), default="text", show_default=True,
              help="text: sources; map: 'source target'; json: the image list; harbor: Harbor API bodies; "
                   "skopeo: skopeo sync files; civitas: CIVITAS/CORE software references.")
@click.option("-o", "--output", metavar="FILE", help="Write the result to FILE (atomically) instead of stdout.")
@settings_options
def images(paths: tuple[str, ...], fmt: str, output: str | None, **params: Any) -> None:
    """List every image to mirror, deduplicated and sorted, from rendered streams and image lists.

    PATH is a rendered stream, an --images-out JSON file, a directory (its *.yaml and *.yml
    files, recursively) or '-' for stdin (the default).  Nothing is rewritten.
    """
    settings = resolve_settings(params)
    reporter = Reporter(settings.log_file)
    if fmt in mirror.NEEDS_REGISTRY and not settings.registry:
        try:
            settings.require_registry()
        except PostrenderError as exc:
            raise type(exc)(*(f"--format {fmt} needs the private registry: {p}" for p in exc.problems)) from None
    listing = build_listing(paths or (STDIN,), settings, reporter)
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


def build_listing(paths: tuple[str, ...], settings: Settings, reporter: Reporter) -> dict[str, Any]:
    rules = load_rules(settings.rules)
    entries: list[dict[str, Any]] = []
    for label, data in _inputs(paths):
        try:
            entries += _entries(label, data, settings, rules, reporter)
        except PostrenderError as exc:
            raise type(exc)(*(f"{label}: {p}" for p in exc.problems)) from None
    return mirror.merge(entries, settings.registry, settings.folder, settings.overrides)


def _inputs(paths: tuple[str, ...]) -> Iterator[tuple[str, bytes]]:
    stdin_used = False
    for raw in paths:
        if raw == STDIN:
            if stdin_used:
                raise InputError("'-' (stdin) given more than once")
            stdin_used = True
            yield STDIN, sys.stdin.buffer.read()
            continue
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix in STREAM_SUFFIXES and p.is_file())
            for file in files:
                yield str(file), _read(file)
        else:
            yield raw, _read(path)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read it: {exc.strerror or exc}") from None


def _entries(label: str, data: bytes, settings: Settings, rules: RuleSet, reporter: Reporter) -> list[dict[str, Any]]:
    stream = decode(data)
    if _JSON_START.match(stream.data):  # an image list is JSON; only then is the whole text decoded here
        listing = _as_image_list(stream.text)
        if listing is not None:
            return _list_entries(listing, settings, label)
    return _stream_entries(stream.data, settings, rules, label, reporter)


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
