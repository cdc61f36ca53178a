"""Command line: options -> Settings -> pipeline -> exit code.  Nothing else lives here.

Exit codes: 0 success, 1 a problem with input or configuration, 3 a bug,
130 interrupted.  Output reaches stdout only once the whole run succeeded.
"""
from __future__ import annotations

import importlib
import os
import signal
from collections.abc import Callable
from typing import Any

import click

from . import __version__
from .errors import PostrenderError
from .report import PROG, Reporter

F = Callable[..., Any]

# Subcommands live in their own modules and are imported only when used (start-up time).
SUBCOMMANDS: dict[str, str] = {
    "images": "postrender.commands.images:images",
    "check": "postrender.commands.check:check",
    "secret": "postrender.commands.secret:secret",
    "values": "postrender.commands.values:values",
    "helm-plugin": "postrender.commands.helm_plugin:helm_plugin",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = SUBCOMMANDS.get(name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]


def settings_options(func: F) -> F:
    """The options every mode shares; each falls back to CIVITAS_POSTRENDER_* and the config file."""
    options = [
        click.option("--registry", metavar="HOST[:PORT]", help="Private registry, e.g. registry.intern. [env: CIVITAS_POSTRENDER_REGISTRY]"),
        click.option("--folder", metavar="PATH", help="Folder (Harbor project) below the registry; absent = flat. [env: CIVITAS_POSTRENDER_FOLDER]"),
        click.option("--pull-secret", "pull_secrets", multiple=True, metavar="NAME", help="imagePullSecret to add to every pod spec (repeatable). [env: CIVITAS_POSTRENDER_PULL_SECRETS, comma-separated]"),
        click.option("--exclude", multiple=True, metavar="PATTERN", help="Leave images matching this glob untouched, e.g. 'docker.io/library/busybox', 'ghcr.io/acme/**' (repeatable). [env: CIVITAS_POSTRENDER_EXCLUDE]"),
        click.option("--rules", multiple=True, metavar="FILE", help="Extra rule file (repeatable). [env: CIVITAS_POSTRENDER_RULES]"),
        click.option("--config", metavar="FILE", help="YAML config file with the same settings. [env: CIVITAS_POSTRENDER_CONFIG]"),
        click.option("--strict/--no-strict", default=None, help="Fail when an image-like value cannot be rewritten. [env: CIVITAS_POSTRENDER_STRICT]"),
        click.option("--rewrite-candidates/--no-rewrite-candidates", default=None, help="Also rewrite images found under image-like keys of kinds no rule covers. [env: CIVITAS_POSTRENDER_REWRITE_CANDIDATES]"),
        click.option("--log-file", metavar="FILE", help="Also append warnings and errors here (Helm 4 drops stderr). [env: CIVITAS_POSTRENDER_LOG]"),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def resolve_settings(params: dict[str, Any]) -> Any:
    from .settings import resolve

    settings = resolve(params)
    context = click.get_current_context(silent=True)
    if context is not None and isinstance(context.obj, Reporter) and settings.log_file is not None:
        context.obj.log_file = settings.log_file  # errors raised from here on reach the log file too
    return settings


@click.group(cls=LazyGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@settings_options
@click.option("--images-out", metavar="FILE", help="Also write this render's image list as JSON, atomically. [env: CIVITAS_POSTRENDER_IMAGES_OUT]")
@click.version_option(__version__, prog_name=PROG)
@click.pass_context
def cli(ctx: click.Context, /, **params: Any) -> None:
    """Rewrite every container image in a rendered manifest stream to a private registry.

    With no command: read the stream Helm renders from stdin and write it to stdout
    with each image pointing at --registry and each pod spec carrying the pull secrets.
    """
    if ctx.invoked_subcommand is not None:
        return
    from .commands.postrender import run_post_render

    ctx.exit(run_post_render(resolve_settings(params)))


def main(argv: list[str] | None = None) -> int:
    """Entry point: the one place exceptions become exit codes."""
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # a closed stdout ends us quietly
    reporter = Reporter(_log_file_from_env())
    try:
        signal.signal(signal.SIGTERM, _terminate)  # inside the try: a SIGTERM from now on is reported
        # without standalone mode click returns a command's exit code instead of raising it
        code = cli.main(args=argv, prog_name=PROG, standalone_mode=False, obj=reporter)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except click.ClickException as exc:
        reporter.error(exc.format_message())
        return 1
    except click.exceptions.Abort:
        return 130
    except PostrenderError as exc:
        for problem in exc.problems:
            reporter.error(problem)
        return 1
    except KeyboardInterrupt:
        return 130
    except Terminated as exc:
        reporter.error("terminated")
        return int(exc.code or 1)
    except Exception as exc:  # a bug: short message, no traceback unless asked for
        reporter.error(f"an unexpected error has occurred: {type(exc).__name__}: {exc}")
        if os.environ.get("CIVITAS_POSTRENDER_DEBUG"):
            raise
        return 3
    return code if isinstance(code, int) else 0


class Terminated(SystemExit):
    """SIGTERM: unwinds (temporary files are removed on the way out), then exits 128 + signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated(signum)


def _log_file_from_env() -> Any:
    from pathlib import Path

    value = os.environ.get("CIVITAS_POSTRENDER_LOG")
    return Path(value) if value else None
