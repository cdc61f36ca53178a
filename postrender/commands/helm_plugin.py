"""``helm-plugin DIR``: write a Helm 4 post-renderer plugin that runs this installation.

Helm 4 takes only a ``postrenderer/v1`` plugin for ``--post-renderer`` (a path
fails: helm/helm#31340).  What Helm does with the plugin, and so what is written
here (helm/helm, read at the commits named):

- ``internal/plugin/loader.go`` (10e993a5) decodes an ``apiVersion: v1`` plugin.yaml
  with ``KnownFields(true)``: only the keys of ``MetadataV1``
  (``internal/plugin/metadata_v1.go``, 36c8539e) are allowed, ``name`` must match
  ``^[A-Za-z0-9_-]+$`` (``internal/plugin/plugin.go``) and ``version`` must be strict
  SemVer (``internal/plugin/metadata.go``).
- ``config`` is decoded strictly into the type's config struct, which is empty for
  ``postrenderer/v1`` (``internal/plugin/config.go``): no keys may go there.
- ``internal/plugin/runtime_subprocess.go`` (0151d855) ``runPostrenderer`` picks a
  ``runtimeConfig.platformCommand`` entry (``internal/plugin/subprocess_commands.go``:
  exact os+arch, then os, then an entry with neither), expands ``${HELM_PLUGIN_DIR}``
  from the environment it builds, appends ``--post-renderer-args`` as arguments,
  writes the manifests to stdin, reads stdout, and keeps stderr to itself: a failure
  shows only "plugin ... exited with error".  ``pkg/postrenderer/postrenderer.go``
  rejects empty output.

The launcher ``exec``s the tool, so argv, stdin, stdout and the exit code are the
tool's own.  It tries the console script and interpreter recorded when this command
ran, then ``civitas-postrender`` on PATH.
"""
from __future__ import annotations

import os
import re
import shlex
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import click

from .. import __version__
from ..errors import ConfigError
from ..outfile import write_output, write_stdout
from ..report import PROG, escape

LAUNCHER = "launch.sh"  # not PROG: a plugin dir on PATH must not shadow the real executable
PLUGIN_NAME = PROG
_NAME = re.compile(r"[A-Za-z0-9_-]+\Z")  # internal/plugin/plugin.go validPluginName
_SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?\Z")


@dataclass(frozen=True)
class Target:
    """What the launcher runs: console scripts first, then ``python -m postrender``."""

    executables: tuple[str, ...] = ()
    interpreter: str | None = None
    package_dir: str | None = None  # the interpreter is used only while the package is still there


def plugin_version(version: str = __version__) -> str:
    """Helm wants strict SemVer; PEP 440 spellings (``0.2.0.dev3``, ``1.0.0rc1``) are mapped onto it."""
    if _SEMVER.match(version):
        return version
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?[.-]?(.*)\Z", version)
    if not match:
        raise ConfigError(f"package version {version!r} cannot be expressed as SemVer for Helm")
    major, minor, patch, rest = match.groups()
    core = ".".join(str(int(p)) for p in (major, minor, patch or "0"))
    local = ""
    if "+" in rest:
        rest, local = rest.split("+", 1)
        local = "+" + re.sub(r"[^0-9A-Za-z.-]", ".", local)
    rest = re.sub(r"[^0-9A-Za-z.-]", ".", rest).strip(".-")
    result = core + (f"-{rest}" if rest else "") + local
    if not _SEMVER.match(result):
        raise ConfigError(f"package version {version!r} cannot be expressed as SemVer for Helm")
    return result


def plugin_yaml(name: str = PLUGIN_NAME, version: str | None = None) -> str:
    if not _NAME.match(name):
        raise ConfigError(f"plugin name {name!r} may contain only A-Z, a-z, 0-9, '_' and '-' (Helm's rule)")
    return (
        f"# Helm 4 post-renderer plugin for {PROG}: helm plugin install <this directory>, then\n"
        f"#   helm install --post-renderer {name} [--post-renderer-args=--registry=HOST ...] ...\n"
        "# Settings also come from CIVITAS_POSTRENDER_* variables or CIVITAS_POSTRENDER_CONFIG.\n"
        "# Helm 4 shows only \"plugin exited with error\" on failure: set CIVITAS_POSTRENDER_LOG=FILE to keep the reason.\n"
        "apiVersion: v1\n"
        "type: postrenderer/v1\n"
        f"name: {name}\n"
        f'version: "{version or plugin_version()}"\n'
        "runtime: subprocess\n"
        "runtimeConfig:\n"
        "  platformCommand:\n"
        f'    - command: "${{HELM_PLUGIN_DIR}}/{LAUNCHER}"\n'
    )


def launcher_script(target: Target, config: Path | None = None, log_file: Path | None = None) -> str:
    """The launcher: every path and value in it is one single-quoted word (``shlex.quote``) in a
    plain assignment or a command's argument, never inside ``"${VAR:=...}"``, ``echo`` or ``eval``,
    so no ``$()``, backtick, quote, space or newline in it is ever evaluated by the shell."""
    q = shlex.quote
    lines = [
        "#!/bin/sh",
        f"# Launcher of the {PROG} Helm 4 plugin (written by `{PROG} helm-plugin`, version {__version__}).",
        "# Helm writes the rendered manifests to stdin, reads the result from stdout and appends",
        "# --post-renderer-args as arguments; exec hands all of that, and the exit code, to the tool.",
        "# Helm 4 drops stderr: set CIVITAS_POSTRENDER_LOG=FILE to keep warnings and errors.",
    ]
    for var, value in (("CIVITAS_POSTRENDER_CONFIG", config), ("CIVITAS_POSTRENDER_LOG", log_file)):
        if value is not None:  # a default only: the caller's environment still wins
            lines.append(f'if [ -z "${{{var}:-}}" ]; then {var}={q(str(value))}; export {var}; fi')
    for exe in target.executables:
        lines.append(f"if [ -x {q(exe)} ]; then exec {q(exe)} \"$@\"; fi")
    if target.interpreter and target.package_dir:
        lines.append(f"if [ -x {q(target.interpreter)} ] && [ -d {q(target.package_dir)} ]; then "
                     f"exec {q(target.interpreter)} -m postrender \"$@\"; fi")
    recorded = ", ".join([*target.executables, *([f"{target.interpreter} -m postrender"] if target.interpreter else [])])
    looked = f"{recorded}, or {PROG} on PATH" if recorded else f"{PROG} on PATH"
    message = escape(f"{PROG} Helm plugin: cannot find {PROG} (looked for {looked}); install it "
                     f"(pip install {PROG}) and run '{PROG} helm-plugin DIR' again")  # one line, as every message
    lines += [
        f"if command -v {PROG} >/dev/null 2>&1; then exec {PROG} \"$@\"; fi",
        f"message={q(message)}",
        "printf '%s\\n' \"$message\" >&2",  # not echo: dash's echo expands backslashes in the paths
        'if [ -n "${CIVITAS_POSTRENDER_LOG:-}" ]; then '
        "printf '%s %s\\n' \"$(date +%Y-%m-%dT%H:%M:%S%z)\" \"$message\" >> \"$CIVITAS_POSTRENDER_LOG\"; fi",
        "exit 1",
    ]
    return "\n".join(lines) + "\n"


def current_target() -> Target:
    """This installation: the console script(s) beside the running interpreter, and the interpreter."""
    import postrender

    candidates: list[Path] = []
    argv0 = Path(sys.argv[0])
    if argv0.name == PROG:
        candidates.append(argv0.absolute())  # absolute, not resolved: a venv's bin/ must stay in the path
    for scheme in (None, f"{os.name}_user"):
        try:
            scripts = sysconfig.get_path("scripts", scheme) if scheme else sysconfig.get_path("scripts")
        except KeyError:
            continue
        candidates.append(Path(scripts) / PROG)
    executables: list[str] = []
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK) and str(path) not in executables:
            executables.append(str(path))
    interpreter = str(Path(sys.executable).absolute()) if sys.executable else None
    return Target(tuple(executables), interpreter, str(Path(postrender.__file__).resolve().parent))


def plugin_directories(env: Mapping[str, str] | None = None) -> list[Path]:
    """Where Helm looks for plugins (``helm env HELM_PLUGINS``): ``$HELM_PLUGINS`` (a path list),
    else ``$HELM_DATA_HOME/plugins``, else ``$XDG_DATA_HOME/helm/plugins``, else the platform's
    data directory (helm's ``pkg/helmpath/lazypath*.go``)."""
    env = os.environ if env is None else env
    if env.get("HELM_PLUGINS"):
        return [Path(p) for p in env["HELM_PLUGINS"].split(os.pathsep) if p]
    if env.get("HELM_DATA_HOME"):
        return [Path(env["HELM_DATA_HOME"]) / "plugins"]
    if env.get("XDG_DATA_HOME"):
        return [Path(env["XDG_DATA_HOME"]) / "helm" / "plugins"]
    home = Path(env.get("HOME") or Path.home())
    data = home / "Library" if sys.platform == "darwin" else home / ".local" / "share"
    return [data / "helm" / "plugins"]


def installed_plugins(name: str, env: Mapping[str, str] | None = None) -> list[Path]:
    """Installed plugin directories whose plugin.yaml is named ``name`` (unreadable ones are skipped:
    Helm reports those itself)."""
    import yaml

    found: list[Path] = []
    for plugins in plugin_directories(env):
        try:
            entries = sorted(plugins.iterdir())
        except OSError:
            continue
        for entry in entries:
            try:
                meta = yaml.safe_load((entry / "plugin.yaml").read_bytes())
            except (OSError, yaml.YAMLError):
                continue
            if isinstance(meta, dict) and meta.get("name") == name:
                found.append(entry)
    return found


def _same_directory(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def write_plugin(directory: Path, target: Target, name: str = PLUGIN_NAME, config: Path | None = None,
                 log_file: Path | None = None, force: bool = False,
                 env: Mapping[str, str] | None = None) -> list[Path]:
    files = {directory / "plugin.yaml": plugin_yaml(name), directory / LAUNCHER: launcher_script(target, config, log_file)}
    # A local install is a link to its directory: rewriting that same directory is an update, not a second plugin.
    others = [p for p in installed_plugins(name, env) if not _same_directory(p, directory)]
    if others and not force:
        where = ", ".join(str(p) for p in others)
        raise ConfigError(
            f"a Helm plugin named {name!r} is already installed ({where}); with a second one Helm 4 fails "
            f"on every plugin command and every --post-renderer {name}. Remove it first "
            f"(helm plugin uninstall {name}, or rm -r {shlex.quote(str(others[0]))}), choose another --name, "
            "or pass --force to write anyway")
    if not force:
        existing = [str(p) for p in files if p.exists()]
        if existing:
            raise ConfigError(f"{', '.join(existing)} already exist(s); pass --force to overwrite")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for path, text in files.items():  # paths that are not UTF-8 are written back as the bytes they were
            write_output(path, text.encode("utf-8", "surrogateescape"), "the plugin file")
        (directory / LAUNCHER).chmod(0o755)
    except OSError as exc:
        raise ConfigError(f"cannot write the plugin to {directory}: {exc.strerror or exc}") from None
    return list(files)


@click.command("helm-plugin")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", default=PLUGIN_NAME, show_default=True, help="Plugin name, the value of helm's --post-renderer.")
@click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path),
              help="Default config file for the plugin (CIVITAS_POSTRENDER_CONFIG still wins).")
@click.option("--log-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Default log file for the plugin (CIVITAS_POSTRENDER_LOG still wins).")
@click.option("--force", is_flag=True,
              help="Overwrite an existing plugin.yaml / launcher, even when a plugin of this name is installed elsewhere.")
def helm_plugin(directory: Path, name: str, config: Path | None, log_file: Path | None, force: bool) -> None:
    """Write a Helm 4 post-renderer plugin into DIRECTORY that runs this installation.

    Then: helm plugin install DIRECTORY; helm install --post-renderer civitas-postrender ...
    """
    target = current_target()
    if force:
        for other in installed_plugins(name):
            if not _same_directory(other, directory):
                click.echo(escape(f"warning: a Helm plugin named {name!r} is also installed at {other}: "
                                  "remove one before using Helm 4"), err=True)
    written = write_plugin(directory, target, name, config and config.absolute(), log_file and log_file.absolute(), force)
    runs = target.executables[0] if target.executables else f"{target.interpreter} -m postrender"
    lines = [*(f"wrote {path}" for path in written),
             f"the plugin runs {runs} (falling back to {PROG} on PATH)",
             f"next: helm plugin install {shlex.quote(str(directory))} && helm install --post-renderer {name} "
             "--post-renderer-args=--registry=HOST ... RELEASE CHART",
             "Helm 4 shows only 'plugin exited with error' on failure: set CIVITAS_POSTRENDER_LOG=FILE to keep the reason"]
    write_stdout("".join(escape(line) + "\n" for line in lines).encode("utf-8", "surrogateescape"))  # a full stdout: exit 1
