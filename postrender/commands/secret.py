"""``secret``: the pull secret the rewritten pods name, one per namespace.

The password never comes from argv (shell history, ``ps``) and never appears in a
message: only in the base64 ``.dockerconfigjson`` on stdout.
"""
from __future__ import annotations

import base64
import json
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

import click

from ..cli import resolve_settings, settings_options
from ..errors import ConfigError
from ..outfile import write_stdout
from ..settings import ENV_PREFIX

PASSWORD_ENV = ENV_PREFIX + "PASSWORD"
USERNAME_ENV = ENV_PREFIX + "USERNAME"
DEFAULT_NAME = "regcred"
_NAMESPACE = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?\Z")  # a DNS-1123 label


def _refuse_password(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if value is not None:  # the value itself is never echoed
        raise click.UsageError(f"a password is never taken from the command line: set {PASSWORD_ENV} "
                               "or pipe it to --password-stdin")


# Stray words are collected, not parsed: click would echo them ("Got unexpected extra argument
# (hunter2)"), and a password typed where it does not belong is the likeliest stray word.
@click.command("secret", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100,
                                           "ignore_unknown_options": True, "allow_extra_args": True})
@click.option("-n", "--namespace", "namespaces", multiple=True, required=True, metavar="NS",
              help="Namespace to create the Secret in (repeatable).")
@click.option("--name", metavar="NAME", help=f"Secret name; default: the first --pull-secret, else {DEFAULT_NAME}.")
@click.option("--username", metavar="USER", help=f"Registry user (or robot account). [env: {USERNAME_ENV}]")
@click.option("--password-stdin", is_flag=True, help=f"Read the password or token from stdin. [else env: {PASSWORD_ENV}]")
@click.option("--password", hidden=True, expose_value=False, callback=_refuse_password, is_eager=True)
@click.option("--default-service-account-patch", "sa_patch", is_flag=True,
              help="Instead of the Secrets, print kubectl commands (for sh) that add the Secret's name to the imagePullSecrets "
                   "of each namespace's default ServiceAccount, for the pods operators create under it. No credentials needed.")
@settings_options
@click.pass_context
def secret(ctx: click.Context, /, namespaces: tuple[str, ...], name: str | None, username: str | None,
           password_stdin: bool, sa_patch: bool, **params: Any) -> None:
    """Print a kubernetes.io/dockerconfigjson Secret for the private registry, per namespace."""
    if ctx.args:
        raise click.UsageError(f"{len(ctx.args)} unexpected argument(s), not shown here: they may hold a password, "
                               f"which is never taken from the command line (set {PASSWORD_ENV} or pipe it to "
                               "--password-stdin)")
    settings = resolve_settings(params)
    name = name or (settings.pull_secrets[0] if settings.pull_secrets else DEFAULT_NAME)
    if sa_patch:
        _validate(name, namespaces, "unused")
        write_stdout(service_account_patches(name, namespaces).encode("utf-8"))
        return
    registry = settings.require_registry()
    username = username or os.environ.get(USERNAME_ENV) or None
    password = _password(password_stdin)
    _validate(name, namespaces, username)
    assert username is not None
    write_stdout(secrets_yaml(registry, username, password, name, namespaces).encode("utf-8"))


def _password(from_stdin: bool) -> str:
    if from_stdin:
        from ..readall import FILE_LIMIT, read_all

        # bounded: /dev/zero or an endless pipe is a clear error, not the whole memory
        value = _utf8(read_all("-", "the password on stdin", limit=FILE_LIMIT, error=ConfigError) if sys.stdin is not None else b"",
                      "the password on stdin")
        value = value[:-1] if value.endswith("\n") else value  # `echo "$TOKEN" |` adds one
        value = value[:-1] if value.endswith("\r") else value
        origin = "stdin (--password-stdin)"
    else:
        value = os.environ.get(PASSWORD_ENV, "")
        origin = PASSWORD_ENV
        _utf8(os.fsencode(value), f"the password in {PASSWORD_ENV}")
    if not value:
        raise ConfigError(f"no password: {origin} is empty; set {PASSWORD_ENV} or pipe it to --password-stdin")
    return value


def _utf8(data: bytes, what: str) -> str:
    """``data`` as text; the message never shows it (it may be a password)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{what} is not UTF-8 text") from None


def _is_utf8(text: str) -> bool:
    try:
        os.fsencode(text).decode("utf-8")
    except UnicodeError:
        return False
    return True


def _validate(name: str, namespaces: Sequence[str], username: str | None) -> None:
    from ..settings import Settings, validate

    problems: list[str] = []
    if username is None:
        problems.append(f"no username: pass --username or set {USERNAME_ENV}")
    elif not _is_utf8(username):
        problems.append("the username is not UTF-8 text")
    elif ":" in username:
        problems.append("the username must not contain ':' (the registry reads user:password)")
    try:
        validate(Settings(pull_secrets=(name,)))
    except ConfigError as exc:
        problems += [p.replace("pull secret name", "secret name") for p in exc.problems]
    problems += [f"namespace {ns!r} is not a valid Kubernetes namespace (a DNS-1123 label)"
                 for ns in namespaces if not _NAMESPACE.match(ns)]
    if problems:
        raise ConfigError(*problems)


def dockerconfigjson(registry: str, username: str, password: str) -> str:
    auth = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return json.dumps({"auths": {registry: {"username": username, "password": password, "auth": auth}}},
                      separators=(",", ":"))


def service_account_patches(name: str, namespaces: Sequence[str]) -> str:
    """``kubectl patch`` commands adding ``name`` to each namespace's default ServiceAccount: appended
    to an existing imagePullSecrets list (a JSON patch: the list is atomic, a merge patch would
    replace it), else set as a new list; a name already listed is left alone."""
    entry = json.dumps({"name": name})
    lines = ["#!/bin/sh", f"# civitas-postrender: add the pull secret {name} to the default ServiceAccount of each namespace", "set -e"]
    for namespace in sorted(set(namespaces)):
        get = f"kubectl get serviceaccount default -n {namespace} -o jsonpath='{{.imagePullSecrets[*].name}}'"
        append = (f"kubectl patch serviceaccount default -n {namespace} --type json "
                  f"-p '[{{\"op\": \"add\", \"path\": \"/imagePullSecrets/-\", \"value\": {entry}}}]'")
        create = f"kubectl patch serviceaccount default -n {namespace} -p '{{\"imagePullSecrets\": [{entry}]}}'"
        lines.append(f"case \" $({get}) \" in *\" {name} \"*) ;; \"  \") {create} ;; *) {append} ;; esac")
    return "\n".join(lines) + "\n"


def secrets_yaml(registry: str, username: str, password: str, name: str, namespaces: Sequence[str]) -> str:
    """One Secret document per namespace, sorted and deduplicated."""
    import yaml

    data = base64.b64encode(dockerconfigjson(registry, username, password).encode()).decode("ascii")
    documents = []
    for namespace in sorted(set(namespaces)):
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace,
                         "labels": {"app.kubernetes.io/managed-by": "civitas-postrender"}},
            "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": data},
        }
        documents.append("---\n" + yaml.safe_dump(secret, sort_keys=False, width=100000))
    return "".join(documents)
