"""``images``: the mirror list of many releases, from rendered streams and ``--images-out`` lists.

Nothing is rewritten: each stream goes through the same finder and plan as
post-render mode, so the list names exactly the images post-render mode rewrites.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from .. import mirror
from ..mirror.coordinates import coordinates
from ..cli import resolve_settings, settings_options
from ..documents import decode
from ..errors import InputError, PostrenderError
from ..imagelist import image_list
from ..inputs import STDIN, Inputs, empty_input, read_inputs
from ..outfile import write_output, write_stdout
from ..pipeline import checked_warnings, read_stream
from ..plan import folder_warnings, is_excluded, is_private, make_plan, unmatched_excludes
from ..reference import ImageRef, parse_reference
from ..report import Reporter
from ..rules import RuleSet, load_rules
from ..settings import Settings

@click.command("images", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("paths", nargs=-1, metavar="[PATH ...]")
@click.option("--format", "fmt", type=click.Choice(list(mirror.FORMATS)), default="text", show_default=True,
              help="; ".join(f"{f.name}: {f.help}" for f in mirror.FORMATS.values()) + ".")
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
    inputs = readable_inputs(paths or (STDIN,))
    settings = coordinates(inputs.lists, settings, retarget)
    if mirror.FORMATS[fmt].needs_registry and not settings.registry:
        try:
            settings.require_registry()
        except PostrenderError as exc:
            raise type(exc)(*(f"--format {fmt} needs the private registry: {p}" for p in exc.problems)) from None
    listing = build_listing(inputs, settings, reporter)
    if not allow_empty and not inputs.lists and not inputs.content:
        raise empty_input(paths)
    result = mirror.FORMATS[fmt].write(listing, reporter.warning)
    if output is not None:
        write_output(output, result, "the image list", stdout_is_free=True)
    else:
        write_stdout(result.encode("utf-8"))


def readable_inputs(paths: tuple[str, ...]) -> Inputs:
    """The inputs; files name their own read errors, and stdin not open for reading (``0>/dev/null``,
    ``<&-``) is an input error here, never a bug."""
    try:
        return read_inputs(paths)
    except OSError as exc:
        raise InputError(f"cannot read stdin: {exc.strerror or exc}") from None


def build_listing(inputs: Inputs, settings: Settings, reporter: Reporter) -> dict[str, Any]:
    rules = load_rules(settings.rules)
    entries: list[dict[str, Any]] = []
    left_out: list[ImageRef] = []  # excluded or private: what an --exclude pattern may have matched
    for label, listing in inputs.lists:
        entries += _labelled(label, lambda: _list_entries(listing, settings, label, left_out))
    for label, data in inputs.streams():
        entries += _labelled(label, lambda: _stream_entries(decode(data).data, settings, rules, label, reporter, left_out))
    for warning in unmatched_excludes(settings.exclude, left_out):  # over all inputs: a pattern may match one release only
        reporter.warning(warning)
    return mirror.merge(entries, settings.registry, settings.folder, settings.overrides)


def _labelled(label: str, read: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    try:
        return read()
    except PostrenderError as exc:
        raise type(exc)(*(f"{label}: {p}" for p in exc.problems)) from None


def _stream_entries(data: bytes, settings: Settings, rules: RuleSet, label: str, reporter: Reporter,
                    left_out: list[ImageRef]) -> list[dict[str, Any]]:
    findings, _ = read_stream(data, rules, keep_text=False)  # as post-render reads it, one document at a time
    # Without a registry nothing is private; "" never equals a domain, and targets are dropped later.
    plan = make_plan(findings.sites, settings, settings.registry or "")
    if settings.exclude:
        left_out += [ref for ref in map(parse_reference, dict.fromkeys(s.text for s in [*plan.excluded, *plan.private])) if ref]
    for warning in [*checked_warnings(findings, plan, settings, "not listed, as post-render mode leaves it as is"),
                    *folder_warnings(plan, settings.registry or "", settings)]:
        reporter.warning(f"{label}: {warning}")
    listed = image_list(plan, settings.registry, settings.folder, with_file=label)["images"]
    return [entry for entry in listed if entry.get("rewritten", True)]


def _list_entries(listing: dict[str, Any], settings: Settings, label: str, left_out: list[ImageRef]) -> list[dict[str, Any]]:
    entries = []
    for image in listing["images"]:  # shaped as an image list: inputs.image_list_problem checked it
        ref = parse_reference(image["source"])
        if ref is None:
            source = image["source"]  # a hostile list may hold megabytes here: the message stays one short line
            shown = repr(source) if len(source) <= 300 else f"{source[:80]!r}... ({len(source)} characters)"
            raise InputError(f"{shown} is not an image reference")
        if image.get("rewritten", True) is False:  # a candidate the render left as is
            continue
        if is_private(ref, settings.registry or "", settings) or is_excluded(ref, settings.exclude):
            left_out.append(ref)
            continue
        occurrences = []
        for occurrence in image.get("occurrences") or ():
            occurrences.append({**occurrence, "file": occurrence.get("file", label)})
        entries.append({**image, "occurrences": occurrences})
    return entries
