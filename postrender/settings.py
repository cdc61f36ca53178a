"""Settings: one frozen value, resolved from flags > environment > config file.

Ansible's ``kubernetes.core.helm`` runs a post-renderer as one executable path
with no arguments, so every setting must be reachable through an environment
variable or a config file too.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .records import record

ENV_PREFIX = "CIVITAS_POSTRENDER_"

# Docker's domain grammar (distribution/reference).
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*(?::[0-9]{{1,5}})?\Z")
# One repository path component, as Docker allows it.
_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*\Z")
# Docker Hub answers under these names too; references name it "docker.io".
_DOCKER_HUB_ALIASES = frozenset({"docker.io", "registry-1.docker.io", "index.docker.io"})
_DEFAULT_PORTS = (":443", ":80")
# Docker's limit on a repository name, registry included (distribution/reference NameTotalLengthMax).
MAX_NAME_LENGTH = 255
# A Kubernetes object name (DNS-1123 subdomain).
_K8S_NAME = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*\Z")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@record(frozen=True)
class Settings:
    registry: str | None = None
    folder: str | None = None
    pull_secrets: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    rules: tuple[Path, ...] = ()
    images_out: Path | None = None
    strict: bool = False
    rewrite_candidates: bool = False
    service_account_pull_secrets: bool = True  # ServiceAccounts in the stream list the pull secrets too
    log_file: Path | None = None
    # (source glob, target repository below the registry), first match wins
    overrides: tuple[tuple[str, str], ...] = ()
    config_file: Path | None = field(default=None, compare=False)

    def require_registry(self) -> str:
        if not self.registry:
            raise ConfigError(
                "no registry given: pass --registry HOST[:PORT], set "
                f"{ENV_PREFIX}REGISTRY, or put 'registry:' in the config file"
            )
        return self.registry


# name in Settings -> (env var suffix, config-file keys, kind)
_FIELDS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "registry": ("REGISTRY", ("registry",), "str"),
    "folder": ("FOLDER", ("folder",), "str"),
    "pull_secrets": ("PULL_SECRETS", ("pullSecrets", "pull_secrets"), "list"),
    "exclude": ("EXCLUDE", ("exclude",), "list"),
    "rules": ("RULES", ("rules",), "paths"),
    "images_out": ("IMAGES_OUT", ("imagesOut", "images_out"), "path"),
    "strict": ("STRICT", ("strict",), "bool"),
    "rewrite_candidates": ("REWRITE_CANDIDATES", ("rewriteCandidates", "rewrite_candidates"), "bool"),
    "service_account_pull_secrets": ("SERVICE_ACCOUNT_PULL_SECRETS", ("serviceAccountPullSecrets", "service_account_pull_secrets"), "bool"),
    "log_file": ("LOG", ("logFile", "log_file"), "path"),
    "overrides": ("OVERRIDES", ("overrides",), "overrides"),
}


def resolve(flags: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Settings:
    """Merge flags (``None``/empty = not given), environment and config file, then validate."""
    env = os.environ if env is None else env
    config_path = flags.get("config") or env.get(ENV_PREFIX + "CONFIG") or None
    file_values = _read_config_file(Path(config_path)) if config_path else {}
    base_dir = Path(config_path).parent if config_path else Path.cwd()

    values: dict[str, Any] = {}
    for name, (env_suffix, file_keys, kind) in _FIELDS.items():
        flag = flags.get(name)
        if flag not in (None, (), [], ""):
            values[name] = _coerce(flag, kind, f"--{name.replace('_', '-')}", Path.cwd())
            continue
        env_name = ENV_PREFIX + env_suffix
        if name == "images_out" and env_name in env and not env[env_name].strip():
            # set, but empty: a playbook variable that rendered to nothing; "no list" must be said, not assumed
            raise ConfigError(f"{env_name} is set but empty: name the image list's file or directory, or unset it")
        if env.get(env_name, "") != "":
            values[name] = _coerce(env[env_name], kind, env_name, Path.cwd())
            continue
        for key in file_keys:
            if key in file_values and file_values[key] is not None:
                values[name] = _coerce(file_values[key], kind, f"{config_path}: {key}", base_dir)
                break
    if values.get("folder") is not None:
        values["folder"] = values["folder"].strip("/") or None  # "/civitas/" means "civitas"
    _split_registry_path(values)
    settings = Settings(**values, config_file=Path(config_path) if config_path else None)
    validate(settings)
    return settings


def _split_registry_path(values: dict[str, Any]) -> None:
    """``registry.intern/civitas`` (CIVITAS/CORE inventories keep one ``registry_full_url``) is the
    registry ``registry.intern`` with the folder ``civitas``; a --folder that says otherwise is refused."""
    registry = values.get("registry")
    if not registry or "/" not in registry or "://" in registry:
        return
    host, _, path = registry.partition("/")
    if not host:
        raise ConfigError(f"registry {registry!r} must start with a host[:port], e.g. registry.intern/civitas")
    path = path.strip("/")
    folder = values.get("folder")
    if path and folder is not None and folder != path:
        raise ConfigError(f"registry {registry!r} names the folder {path!r}, but the folder is set to {folder!r}: "
                          "give the folder once (in the registry or as --folder)")
    values["registry"] = host
    values["folder"] = path or folder


def validate(settings: Settings) -> None:
    problems: list[str] = []
    if settings.registry is not None:
        problems += _registry_problems(settings.registry)
    if settings.folder is not None:
        bad = [c for c in settings.folder.split("/") if not _PATH_COMPONENT.match(c)]
        if bad:
            problems.append(
                f"folder {settings.folder!r} is not a valid repository path: "
                f"{', '.join(repr(b) for b in bad)} must be lowercase letters and digits "
                "joined by '.', '_', '__' or '-', segments separated by single '/'"
            )
    for pattern, repository in settings.overrides:
        bad = [c for c in repository.split("/") if not _PATH_COMPONENT.match(c)]
        if bad or not pattern:
            problems.append(
                f"override {pattern!r}: {repository!r} is not a repository path below the registry "
                "(lowercase letters and digits joined by '.', '_', '__' or '-', segments separated by single '/')"
            )
    if settings.registry is not None and settings.folder is not None and not problems:
        prefix = f"{settings.registry}/{settings.folder}/"
        if len(prefix) + 1 > MAX_NAME_LENGTH:
            problems.append(f"registry and folder {prefix!r} leave no room for an image name within Docker's "
                            f"{MAX_NAME_LENGTH}-character limit: use a shorter folder")
    for secret in settings.pull_secrets:
        if len(secret) > 253 or not _K8S_NAME.match(secret):
            problems.append(
                f"pull secret name {secret!r} is not a valid Kubernetes name "
                "(lowercase letters, digits, '-' and '.', at most 253 characters)"
            )
    if problems:
        raise ConfigError(*problems)


def registry_host(registry: str) -> str:
    """A registry's identity: host names are case-insensitive, ``:443``/``:80`` are the ports a
    client uses anyway, and Docker Hub has aliases (``registry-1.docker.io`` is ``docker.io``)."""
    host = registry.lower()
    for port in _DEFAULT_PORTS:
        if host.endswith(port):
            host = host[: -len(port)]
            break
    return "docker.io" if host in _DOCKER_HUB_ALIASES else host


def _registry_problems(registry: str) -> list[str]:
    if len(registry) > 253 + 6:  # a DNS name and a port; also spares the patterns below a huge string
        return [f"registry {registry[:40]!r}... is {len(registry)} characters long: not a host[:port]"]
    if "://" in registry:
        return [f"registry {registry!r} must be a host[:port] without a scheme, e.g. registry.intern"]
    if "/" in registry:
        return [f"registry {registry!r} must be a host[:port]; put a path into --folder instead"]
    if registry.startswith("["):
        return [f"registry {registry!r}: IPv6 literals are not supported (docker-image-py cannot parse them); use a host name"]
    if not _HOST.match(registry):
        return [f"registry {registry!r} is not a valid host[:port]"]
    host, _, port = registry.partition(":")
    if port and not 1 <= int(port) <= 65535:
        return [f"registry {registry!r}: port {port} is not a TCP port (1-65535)"]
    if len(host) > 253 or any(len(label) > 63 for label in host.split(".")):
        return [f"registry {registry!r} is not a valid host name (at most 253 characters, 63 per label)"]
    if "." not in host and ":" not in registry and host != "localhost":
        # Docker reads "registry/app" as the Docker Hub repository "registry/app".
        return [
            f"registry {registry!r} would be read by Docker as a Docker Hub namespace: "
            "use a fully qualified host name (with a '.') or add a port"
        ]
    return []


def _coerce(value: Any, kind: str, origin: str, base_dir: Path) -> Any:
    if kind == "str":
        if not isinstance(value, str):
            raise ConfigError(f"{origin}: expected a string, got {type(value).__name__}")
        return value.strip()
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ConfigError(f"{origin}: expected true or false, got {value!r}")
    if kind == "path":
        if not isinstance(value, (str, os.PathLike)):
            raise ConfigError(f"{origin}: expected a file path, got {type(value).__name__}")
        if not str(value).strip():  # Path("") is ".": the config file's directory would be used silently
            raise ConfigError(f"{origin}: the file name is empty")
        path = _resolve_path(Path(value), base_dir)
        if str(value).endswith(("/", os.sep)) and not path.is_dir():  # Path() drops the "/" that says directory
            raise ConfigError(f"{origin}: {value} names a directory, and there is none: create it first (mkdir -p {value})")
        return path
    if kind == "overrides":
        return _as_overrides(value, origin)
    items = _as_list(value, origin)
    if kind == "paths":
        return tuple(_resolve_path(Path(item), base_dir) for item in items)
    return tuple(items)


def _as_list(value: Any, origin: str) -> list[str]:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if isinstance(value, Sequence) and all(isinstance(item, str) for item in value):
        out: list[str] = []
        for item in value:
            out += [part.strip() for part in item.split(",") if part.strip()]
        return out
    raise ConfigError(f"{origin}: expected a list of strings or a comma-separated string")


def _as_overrides(value: Any, origin: str) -> tuple[tuple[str, str], ...]:
    """``{source glob: target repository}`` from the config file, ``glob=repository,...`` from
    the environment; both keep their order (the first matching glob wins)."""
    if isinstance(value, str):
        pairs = [item.partition("=") for item in _as_list(value, origin)]
        if all(sep and glob.strip() and target.strip() for glob, sep, target in pairs):
            return tuple((glob.strip(), target.strip().strip("/")) for glob, _, target in pairs)
    elif isinstance(value, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        return tuple((k.strip(), v.strip().strip("/")) for k, v in value.items())
    raise ConfigError(f"{origin}: expected source globs mapped to target repositories "
                      "(config file: 'overrides: {docker.io/apache/superset: civitas/upstream/superset}'; "
                      "environment: 'GLOB=REPOSITORY,...')")


def _resolve_path(path: Path, base_dir: Path) -> Path:
    path = path.expanduser()
    return path if path.is_absolute() else base_dir / path


def _read_config_file(path: Path) -> dict[str, Any]:
    from .yamlfile import read_yaml_file

    data = read_yaml_file(path, "config file")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: expected a mapping of settings, got {type(data).__name__}")
    known = {key for _, keys, _ in _FIELDS.values() for key in keys}
    unknown = sorted(str(k) for k in data if k not in known)
    if unknown:
        raise ConfigError(
            f"config file {path}: unknown setting(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(k for _, keys, _ in _FIELDS.values() for k in keys[:1]))}"
        )
    return data
