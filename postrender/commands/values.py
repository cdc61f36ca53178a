"""``values VALUES_FILE``: write a values overlay that makes the chart render private images.

The fix for hooks on Helm 3 (helm/helm#7891): pass the overlay after your own values,
``helm upgrade --install -f my-values.yaml -f overlay.yaml ...``, and keep the
post-renderer for everything the chart's values do not reach.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..cli import resolve_settings, settings_options
from ..errors import ConfigError, InputError
from ..outfile import write_output, write_stdout
from ..readall import read_all
from ..report import PROG, Reporter
from ..values_overlay import build_overlay


@click.command("values")
@click.argument("values_file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False),  # a str: "DIR/" keeps its slash (pathlib drops it)
              help="Write the overlay here (atomically) instead of stdout.")
@settings_options
def values(values_file: Path, output: str | None, **params: Any) -> None:
    """Write a values overlay pointing VALUES_FILE's image settings at --registry.

    Maps {registry, repository, tag, digest} blocks, {repository, tag} blocks, image strings,
    global.imageRegistry and (global.)imagePullSecrets with the post-renderer's own mapping;
    reports what it could not map on stderr (--strict: exit 1 then).  Use it on the chart's
    defaults (`helm show values CHART > values.yaml`) and on your own values file.
    """
    settings = resolve_settings(params)
    reporter = Reporter(settings.log_file)
    name = "<stdin>" if str(values_file) == "-" else str(values_file)
    text = _read(values_file)
    overlay = build_overlay(text, settings, name)
    for note in overlay.notes:
        reporter.warning(note)
    for problem in overlay.unmapped:
        reporter.warning(problem)
    if settings.strict and overlay.unmapped:
        raise InputError(*(f"strict: {p}" for p in overlay.unmapped))
    folder = f" folder {settings.folder}" if settings.folder else ""
    header = (f"Values overlay from {PROG} values {name}: the chart's images on {settings.registry}{folder}.\n"
              f"{len(overlay.changes)} setting(s) changed. Pass it after your own values: "
              "helm upgrade --install -f VALUES -f THIS_FILE ...")
    document = overlay.dump(header)
    if output is None:
        write_stdout(document.encode("utf-8"))
    else:
        write_output(output, document, "the overlay", stdout_is_free=True)
    reporter.note(f"{len(overlay.changes)} setting(s) mapped, {len(overlay.unmapped)} not mapped")  # a full or closed stderr loses only this


def _read(path: Path) -> str:
    try:
        data = read_all(path, "<stdin>" if str(path) == "-" else str(path))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte offset {exc.start})") from None

