"""``verify``: does the private registry hold everything the manifests will pull?

The same inputs as ``images`` (streams and image lists, which keep their coordinates); each
target is asked for with ``HEAD /v2/<name>/manifests/<tag-or-digest>``.  A digest-pinned
target must be there by its digest, as the runtime pulls it; when only its tag is there, the
tag moved upstream before the mirror copied it (Harbor selects by tag).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from ..cli import resolve_settings, settings_options
from ..distribution import Credentials, Registry, docker_config_credentials
from ..errors import ConfigError, InputError
from ..inputs import STDIN, empty_input
from ..mirror import first_seen, repository_below
from ..mirror.coordinates import coordinates
from ..outfile import write_stdout
from ..report import Reporter
from ..settings import ENV_PREFIX
from .images import build_listing, readable_inputs

USERNAME_ENV, PASSWORD_ENV = ENV_PREFIX + "USERNAME", ENV_PREFIX + "PASSWORD"


@click.command("verify", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("paths", nargs=-1, metavar="[PATH ...]")
@click.option("--docker-config", metavar="FILE",
              help=f"Docker config (a pull secret's .dockerconfigjson) with the registry's credentials. "
                   f"[else env: {USERNAME_ENV}, {PASSWORD_ENV}]")
@click.option("--ca-file", metavar="FILE", help="CA bundle for a registry with a private CA.")
@click.option("--insecure", is_flag=True, help="Allow plain HTTP and TLS without verification.")
@click.option("--retarget", is_flag=True, help="Recompute the targets of image lists written for other settings.")
@click.option("--allow-empty", is_flag=True, help="Accept input that holds no documents and no image lists.")
@settings_options
def verify(paths: tuple[str, ...], docker_config: str | None, ca_file: str | None, insecure: bool, retarget: bool,
           allow_empty: bool, **params: Any) -> None:
    """Exit 1 listing every image the manifests pull that the registry does not hold.

    PATH is as for `images`: rendered streams, --images-out lists, directories, '-' for stdin.
    """
    settings = resolve_settings(params)
    reporter = Reporter(settings.log_file)
    inputs = readable_inputs(paths or (STDIN,))
    settings = coordinates(inputs.lists, settings, retarget)
    registry_host = settings.require_registry()
    listing = build_listing(inputs, settings, reporter)
    if not allow_empty and not inputs.lists and not inputs.content:
        raise empty_input(paths)
    registry = Registry(registry_host, _credentials(docker_config, registry_host), ca_file=ca_file, insecure=insecure)
    missing = []
    for image in listing["images"]:
        problem = _missing(registry, image, repository_below(image, settings.folder))
        if problem:
            missing.append(f"{problem} (the target of {image['source']}, first seen at {first_seen(image)})")
    if missing:
        raise InputError(*missing, f"{len(missing)} of {len(listing['images'])} images are missing from {registry_host}")
    write_stdout(f"all {len(listing['images'])} images are on {registry_host}\n".encode("utf-8"))


def _missing(registry: Registry, image: dict[str, Any], repository: str) -> str | None:
    """Why the registry does not serve this image as the runtime pulls it, or ``None``."""
    shown = f"{registry.host}/{repository}"
    tag, digest = image["tag"], image["digest"]
    if not digest:
        tag = tag or "latest"
        return None if registry.has_manifest(repository, tag) else f"{shown}:{tag} is missing"
    if registry.has_manifest(repository, digest):
        return None
    if tag and registry.has_manifest(repository, tag):
        return (f"{shown}:{tag}@{digest} is missing by its digest, while the tag {tag} is there: the tag moved upstream "
                "before the mirror copied it (Harbor selects by tag); copy it by digest (images --format skopeo)")
    return f"{shown}{':' + tag if tag else ''}@{digest} is missing"


def _credentials(docker_config: str | None, registry: str) -> Credentials | None:
    if docker_config:
        credentials = docker_config_credentials(Path(docker_config), registry)
        if credentials is None:
            raise ConfigError(f"{docker_config}: holds no credentials for {registry}")
        return credentials
    username, password = os.environ.get(USERNAME_ENV), os.environ.get(PASSWORD_ENV)
    if username and password:
        return Credentials(username, password)
    if username or password:
        raise ConfigError(f"set both {USERNAME_ENV} and {PASSWORD_ENV}, or neither (anonymous pulls)")
    return None
