"""``harbor sync``: make Harbor replicate exactly what the image lists need, for a playbook to call.

The same inputs as ``images`` (streams and image lists, which keep their coordinates), turned
into the ``--format harbor`` bodies, then planned and applied by ``postrender.harbor_sync``.
Credentials come from the environment or stdin, never from the command line.
"""
from __future__ import annotations

import os
import sys
from typing import Any

import click

from ..cli import resolve_settings, settings_options
from ..distribution import Credentials
from ..errors import ConfigError, InputError
from ..inputs import STDIN, empty_input
from ..mirror import harbor as harbor_format
from ..mirror.coordinates import coordinates
from ..outfile import write_stdout
from ..report import Reporter, escape
from ..settings import ENV_PREFIX
from .images import build_listing, readable_inputs

USERNAME_ENV, PASSWORD_ENV = ENV_PREFIX + "HARBOR_USERNAME", ENV_PREFIX + "HARBOR_PASSWORD"
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group("harbor", context_settings=CONTEXT, invoke_without_command=True, subcommand_metavar="COMMAND [ARGS]...")
@click.pass_context
def harbor(ctx: click.Context) -> None:
    """Talk to Harbor's API directly."""
    if ctx.invoked_subcommand is None:  # click's default puts the whole help into one error line
        raise click.UsageError("harbor needs a command: sync (see civitas-postrender harbor --help)")


def _refuse_password(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if value is not None:  # the value itself is never echoed
        raise click.UsageError(f"a password is never taken from the command line: set {PASSWORD_ENV} "
                               "or pipe it to --password-stdin")


@harbor.command("sync", context_settings=CONTEXT, help=f"""Create, update and delete Harbor's registry endpoints,
projects and pull replication policies so that Harbor replicates exactly the images of PATH... to
where the manifests pull them.

PATH is as for `images`: rendered streams, --images-out lists, directories, '-' for stdin. Only
policies carrying this folder's marker in their description are updated or deleted. Credentials:
an admin or a robot account, from {USERNAME_ENV} and {PASSWORD_ENV} (or --password-stdin).""")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--url", metavar="URL", help="Harbor, e.g. https://harbor.intern. [default: https:// and the registry]")
@click.option("--dry-run", is_flag=True, help="Print the plan (+ create, ~ update, - delete) and change nothing.")
@click.option("--wait", is_flag=True, help="Then start every policy's replication and wait for it; fail naming each failed task.")
@click.option("--project-public/--project-private", default=False, show_default=True,
              help="Visibility of the projects created (existing ones are left as they are).")
@click.option("--password-stdin", is_flag=True, help=f"Read the password or robot token from stdin. [else env: {PASSWORD_ENV}]")
@click.option("--password", hidden=True, expose_value=False, callback=_refuse_password, is_eager=True)
@click.option("--ca-file", metavar="FILE", help="CA bundle for a Harbor with a private CA.")
@click.option("--insecure", is_flag=True, help="Allow plain HTTP and TLS without verification.")
@click.option("--poll-interval", type=click.FloatRange(min=0), default=5.0, show_default=True, metavar="SECONDS",
              help="With --wait: how often to ask Harbor.")
@click.option("--wait-timeout", type=click.FloatRange(min=0), default=3600.0, show_default=True, metavar="SECONDS",
              help="With --wait: give up after this long.")
@click.option("--retarget", is_flag=True, help="Recompute the targets of image lists written for other settings.")
@click.option("--allow-empty", is_flag=True,
              help="Accept input without images to mirror (then every policy harbor sync manages is deleted).")
@settings_options
def harbor_sync(paths: tuple[str, ...], url: str | None, dry_run: bool, wait: bool, project_public: bool,
                password_stdin: bool, ca_file: str | None, insecure: bool, poll_interval: float, wait_timeout: float,
                retarget: bool, allow_empty: bool, **params: Any) -> None:
    from ..harbor_api import Harbor
    from ..harbor_sync import apply, plan, replicate

    if dry_run and wait:
        raise click.UsageError("--dry-run changes nothing, so there is nothing to --wait for")
    if password_stdin and STDIN in paths:
        raise click.UsageError("stdin cannot hold both the password (--password-stdin) and an input ('-')")
    settings = resolve_settings(params)
    reporter = Reporter(settings.log_file)
    credentials = _credentials(password_stdin)
    inputs = readable_inputs(paths)
    settings = coordinates(inputs.lists, settings, retarget)
    registry = settings.require_registry()
    listing = build_listing(inputs, settings, reporter)
    if not allow_empty and not inputs.lists and not inputs.content:
        raise empty_input(paths)
    if not allow_empty and not listing["images"]:  # lists that hold nothing: a sync would delete every policy
        raise InputError(f"no image to mirror in {', '.join(paths) if paths else 'stdin'}: harbor sync would delete every "
                         "replication policy it manages. A stream rendered with the values overlay lists nothing (its "
                         "images already point at the registry): render the mirror list without the overlay. To delete "
                         "them all, pass --allow-empty")
    body, notes = harbor_format.bodies(listing)
    for note in notes:
        reporter.warning(f"{note.source}: {note.reason}")
    client = Harbor(url or f"https://{registry}", credentials, ca_file=ca_file, insecure=insecure)
    planned = plan(client, body, project_public)
    out = _out
    for change in planned.changes if dry_run else ():
        out(str(change))
    out(planned.summary() + (" (dry run: nothing changed)" if dry_run else ""))
    if dry_run:
        return
    policies = apply(client, planned, out)
    if wait:
        replicate(client, policies, out, poll_interval, wait_timeout)


def _out(line: str) -> None:
    write_stdout((escape(line) + "\n").encode("utf-8"))  # progress, as it happens; a closed or full stdout is exit 1


def _credentials(from_stdin: bool) -> Credentials:
    username = os.environ.get(USERNAME_ENV, "")
    if from_stdin:
        from ..readall import FILE_LIMIT, read_all

        try:  # bounded: /dev/zero or an endless pipe is a clear error, not the whole memory
            data = read_all("-", "the password on stdin", limit=FILE_LIMIT, error=ConfigError) if sys.stdin is not None else b""
        except OSError as exc:
            raise ConfigError(f"cannot read the password on stdin: {exc.strerror or exc}") from None
        try:
            password = data.decode("utf-8").removesuffix("\n").removesuffix("\r")  # `echo "$TOKEN" |` adds one
        except UnicodeDecodeError:
            raise ConfigError("the password on stdin is not UTF-8 text") from None
    else:
        password = os.environ.get(PASSWORD_ENV, "")
    if not username:
        raise ConfigError(f"no Harbor user: set {USERNAME_ENV} (an admin, or a robot account such as robot$sync)")
    if not password:
        raise ConfigError(f"no Harbor password: set {PASSWORD_ENV} or pipe it to --password-stdin")
    return Credentials(username, password)
