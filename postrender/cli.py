"""Command line: options -> Settings -> pipeline -> exit code.  Nothing else lives here.

Exit codes: 0 success, 1 a problem with input or configuration, 3 a bug,
130 interrupted.  Output reaches stdout only once the whole run succeeded.
"""
from __future__ import annotations

import importlib
import os
import signal
import sys
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
    "verify": "postrender.commands.verify:verify",
    "harbor": "postrender.commands.harbor:harbor",
}


# Post-render mode's FILE arguments: the group sees them where a subcommand name would be.
_FILES = "civitas_postrender.files"
_FILES_MODE = click.Command("FILE...", add_help_option=False)  # stands in for "no subcommand"


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        """``civitas-postrender [OPTIONS] FILE...``: a first argument that is no subcommand but a
        file (``-``, a name with '.' or '/', or an existing path) starts post-render mode's inputs."""
        first = args[0]
        if first in SUBCOMMANDS or not (first == "-" or "." in first or "/" in first or os.path.exists(first)):
            return super().resolve_command(ctx, args)
        late = [arg for arg in args if arg.startswith("-") and arg != "-"]
        if late:
            raise click.UsageError(f"{late[0]} comes after a FILE argument: give the options first "
                                   f"({PROG} [OPTIONS] FILE...)", ctx)
        ctx.meta[_FILES] = tuple(args)
        return _FILES_MODE.name, _FILES_MODE, []

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = SUBCOMMANDS.get(name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]


# The shared settings each subcommand uses: its --help lists only these, and only these may be
# given before it on the command line (they then apply to it).  Post-render mode uses them all.
ALL_SETTINGS = ("registry", "folder", "pull_secrets", "exclude", "rules", "config", "strict", "rewrite_candidates",
                "service_account_pull_secrets", "log_file")
USED_SETTINGS: dict[str, tuple[str, ...]] = {
    "images": ("registry", "folder", "exclude", "rules", "config", "strict", "rewrite_candidates", "log_file"),
    "values": ("registry", "folder", "pull_secrets", "exclude", "config", "strict", "log_file"),
    "secret": ("registry", "pull_secrets", "config", "log_file"),
    "verify": ("registry", "folder", "exclude", "rules", "config", "rewrite_candidates", "log_file"),
    "harbor_sync": ("registry", "folder", "exclude", "rules", "config", "rewrite_candidates", "log_file"),
}
_BEFORE = "civitas_postrender.before_subcommand"  # ctx.meta key: options given before the subcommand


def settings_options(func: F) -> F:
    """The shared options (those ``USED_SETTINGS`` names for the command defined by ``func``); each
    falls back to CIVITAS_POSTRENDER_* and the config file."""
    options = {
        "registry": click.option("--registry", metavar="HOST[:PORT][/FOLDER]", help="Private registry, e.g. registry.intern (or registry.intern/civitas: registry and folder). [env: CIVITAS_POSTRENDER_REGISTRY]"),
        "folder": click.option("--folder", metavar="PATH", help="Folder (Harbor project) below the registry; absent = flat. [env: CIVITAS_POSTRENDER_FOLDER]"),
        "pull_secrets": click.option("--pull-secret", "pull_secrets", multiple=True, metavar="NAME", help="imagePullSecret to add to every pod spec (repeatable). [env: CIVITAS_POSTRENDER_PULL_SECRETS, comma-separated]"),
        "exclude": click.option("--exclude", multiple=True, metavar="PATTERN", help="Leave images matching this glob untouched, e.g. 'busybox', 'bitnami/*', 'ghcr.io/acme/**' (repeatable). [env: CIVITAS_POSTRENDER_EXCLUDE]"),
        "rules": click.option("--rules", multiple=True, metavar="FILE", help="Extra rule file (repeatable). [env: CIVITAS_POSTRENDER_RULES]"),
        "config": click.option("--config", metavar="FILE", help="YAML config file with the same settings. [env: CIVITAS_POSTRENDER_CONFIG]"),
        "strict": click.option("--strict/--no-strict", default=None, help="Fail when an image-like value cannot be rewritten. [env: CIVITAS_POSTRENDER_STRICT]"),
        "rewrite_candidates": click.option("--rewrite-candidates/--no-rewrite-candidates", default=None, help="Also rewrite images found under image-like keys of kinds no rule covers. [env: CIVITAS_POSTRENDER_REWRITE_CANDIDATES]"),
        "service_account_pull_secrets": click.option("--service-account-pull-secrets/--no-service-account-pull-secrets", default=None, help="Add the pull secrets to every ServiceAccount too, for the pods operators create under it (default on). [env: CIVITAS_POSTRENDER_SERVICE_ACCOUNT_PULL_SECRETS]"),
        "log_file": click.option("--log-file", metavar="FILE", help="Also append warnings and errors here (Helm 4 drops stderr). [env: CIVITAS_POSTRENDER_LOG]"),
    }
    for name in reversed(USED_SETTINGS.get(func.__name__, ALL_SETTINGS)):
        func = options[name](func)
    return func


def _pass_on(ctx: click.Context, params: dict[str, Any]) -> None:
    """Options given before a subcommand apply to it, as defaults of its own options; one it
    does not take is refused, never dropped."""
    from click.core import ParameterSource

    given = {name: value for name, value in params.items() if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE}
    name = ctx.invoked_subcommand
    if not given or not name or not isinstance(ctx.command, click.Group):
        return
    command = ctx.command.get_command(ctx, name)
    if command is None:
        return
    taken = {param.name for param in command.params}
    refused = [_flag(ctx.command, option) for option in given if option not in taken]
    if refused:
        raise click.UsageError(f"{', '.join(refused)} given before '{name}', which does not take it "
                               f"(see {PROG} {name} --help)", ctx)
    ctx.default_map = {**(ctx.default_map or {}), name: given}
    ctx.meta[_BEFORE] = given


def _given_twice(ctx: click.Context, params: dict[str, Any]) -> None:
    """An option given both before the subcommand and after it, with different values, is refused."""
    from click.core import ParameterSource

    for name, before in (ctx.meta.get(_BEFORE) or {}).items():
        if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE and params.get(name) != before:
            raise click.UsageError(f"{_flag(ctx.command, name)} is given before '{ctx.info_name}' ({_shown(before)}) "
                                   f"and after it ({_shown(params.get(name))}): give it once", ctx)


def _flag(command: click.Command, name: str) -> str:
    return next((param.opts[0] for param in command.params if param.name == name), name)


def _shown(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)


def resolve_settings(params: dict[str, Any]) -> Any:
    from .settings import resolve

    if params.get("images_out") == "":  # given, but empty: never a silent "no list"
        raise PostrenderError("--images-out: the file name is empty")
    context = click.get_current_context(silent=True)
    if context is not None:
        _given_twice(context, params)
    settings = resolve(params)
    if context is not None and isinstance(context.obj, Reporter) and settings.log_file is not None:
        context.obj.log_file = settings.log_file  # errors raised from here on reach the log file too
    return settings


@click.group(cls=LazyGroup, invoke_without_command=True, subcommand_metavar="[FILE...] | COMMAND [ARGS]...", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@settings_options
@click.option("--images-out", metavar="FILE", help="Also write this render's image list as JSON, atomically. [env: CIVITAS_POSTRENDER_IMAGES_OUT]")
@click.version_option(__version__, prog_name=PROG)
@click.pass_context
def cli(ctx: click.Context, /, **params: Any) -> None:
    """Rewrite every container image in a rendered manifest stream to a private registry.

    With no command: read the stream Helm renders from stdin (or from FILE..., - for stdin)
    and write it to stdout with each image pointing at --registry and each pod spec carrying
    the pull secrets.
    """
    if ctx.invoked_subcommand not in (None, _FILES_MODE.name):
        _pass_on(ctx, params)
        return
    from .commands.postrender import run_post_render

    ctx.exit(run_post_render(resolve_settings(params), ctx.meta.get(_FILES, ())))


def main(argv: list[str] | None = None) -> int:
    """Entry point: the one place exceptions become exit codes."""
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # a closed stdout ends us quietly
    reporter = Reporter(_log_file_from_env())
    try:
        for name in ("SIGTERM", "SIGHUP", "SIGQUIT"):  # inside the try: such a signal from now on is reported
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), _terminate)
        # without standalone mode click returns a command's exit code instead of raising it
        code = cli.main(args=argv, prog_name=PROG, standalone_mode=False, obj=reporter)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except click.ClickException as exc:
        reporter.error(exc.format_message())
        return _usage_exit_code(exc)
    except click.exceptions.Abort:
        return 130
    except PostrenderError as exc:
        for problem in exc.problems:
            reporter.error(problem)
        return int(getattr(exc, "exit_code", 1))  # check: 2 when the gate could not run
    except KeyboardInterrupt:
        return 130
    except Terminated as exc:
        reporter.error("terminated")
        return int(exc.code or 1)
    except Exception as exc:  # a bug: short message, no traceback unless asked for
        if isinstance(exc, OSError) and _from_click_echo(exc):  # --help or --version to a full stdout
            reporter.error(f"cannot write stdout: {exc.strerror or exc}")
            return 1
        reporter.error(f"an unexpected error has occurred: {type(exc).__name__}: {exc}")
        if os.environ.get("CIVITAS_POSTRENDER_DEBUG"):
            raise
        return 3
    if sys.stdout is None and _asks_for_text(sys.argv[1:] if argv is None else argv):
        reporter.error("stdout is closed: the help or version text was not written")  # click writes it nowhere
        return 1
    return code if isinstance(code, int) else 0


def _asks_for_text(args: list[str]) -> bool:
    """--help / -h / --version: click's own text on stdout (before a lone ``--``, after which all are arguments)."""
    head = args[: args.index("--")] if "--" in args else args
    return any(arg in ("--help", "-h", "--version") for arg in head)


def _from_click_echo(exc: BaseException) -> bool:
    """Raised while click wrote its own text (help, version): every output of ours goes through
    ``outfile.write_stdout``, which turns such errors into messages itself."""
    import traceback

    return any(frame.f_code.co_name == "echo" and "click" in frame.f_code.co_filename
               for frame, _ in traceback.walk_tb(exc.__traceback__))


def _usage_exit_code(exc: click.ClickException) -> int:
    """1 for a bad option, as the README promises; 2 within `check`, which keeps 1 for "problems found"."""
    ctx = getattr(exc, "ctx", None)
    return 2 if ctx is not None and "check" in (ctx.command.name, ctx.invoked_subcommand) else 1


class Terminated(SystemExit):
    """SIGTERM, SIGHUP, SIGQUIT: unwinds (temporary files are removed on the way out), then exits 128 + signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated(signum)


def _log_file_from_env() -> Any:
    from pathlib import Path

    value = os.environ.get("CIVITAS_POSTRENDER_LOG")
    return Path(value) if value else None
