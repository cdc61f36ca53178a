"""``civitas-postrender secret``: a dockerconfigjson Secret per namespace; the password only inside it."""
from __future__ import annotations

import base64
import os
import subprocess
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import CLI, cli_env, run_cli
from postrender.commands.secret import dockerconfigjson

PASSWORD = "s3cr:et pä$$ \"word\""
ENV = {"CIVITAS_POSTRENDER_PASSWORD": PASSWORD}


def secret(*args: str, env: dict[str, str] | None = None, stdin: bytes | str = b"") -> Any:
    return run_cli(["secret", *args], stdin=stdin, env=env)


def decoded(document: dict[str, Any]) -> dict[str, Any]:
    return json.loads(base64.b64decode(document["data"][".dockerconfigjson"]))  # type: ignore[no-any-return]


def assert_password_only_in_data(stdout: bytes, stderr: bytes, password: str = PASSWORD) -> None:
    for encoding in (password, base64.b64encode(password.encode()).decode()):
        assert encoding not in stdout.decode() and encoding not in stderr.decode()


def test_one_secret_per_namespace_with_the_right_auths_entry() -> None:
    result = secret("--registry", "registry.intern", "-n", "identity", "--namespace", "analytics", "-n", "identity",
                    "--username", "robot$civitas+pull", env=ENV)
    assert result.returncode == 0, result.stderr.decode()
    documents = list(yaml.safe_load_all(result.stdout))
    assert [d["metadata"]["namespace"] for d in documents] == ["analytics", "identity"]
    for document in documents:
        assert (document["apiVersion"], document["kind"], document["type"]) == ("v1", "Secret", "kubernetes.io/dockerconfigjson")
        assert document["metadata"]["name"] == "regcred"
        auths = decoded(document)["auths"]
        assert list(auths) == ["registry.intern"]
        entry = auths["registry.intern"]
        assert (entry["username"], entry["password"]) == ("robot$civitas+pull", PASSWORD)
        assert base64.b64decode(entry["auth"]).decode() == f"robot$civitas+pull:{PASSWORD}"
    assert result.stderr == b""
    assert_password_only_in_data(result.stdout, result.stderr)


def test_password_stdin_username_env_and_name_from_pull_secret_setting() -> None:
    env = {"CIVITAS_POSTRENDER_USERNAME": "ci", "CIVITAS_POSTRENDER_REGISTRY": "harbor.example.org:8443",
           "CIVITAS_POSTRENDER_PULL_SECRETS": "harbor-pull"}
    result = secret("-n", "apps", "--password-stdin", env=env, stdin=f"{PASSWORD}\n")
    assert result.returncode == 0, result.stderr.decode()
    (document,) = yaml.safe_load_all(result.stdout)
    assert document["metadata"]["name"] == "harbor-pull"
    assert decoded(document)["auths"]["harbor.example.org:8443"]["password"] == PASSWORD  # one newline stripped
    assert_password_only_in_data(result.stdout, result.stderr)


def test_name_flag_and_config_file(tmp_path: Path) -> None:
    config = tmp_path / "postrender.yaml"
    config.write_text("registry: registry.intern\nfolder: civitas\n")
    result = secret("--config", str(config), "-n", "x", "--name", "mirror-pull", "--username", "u", env=ENV)
    (document,) = yaml.safe_load_all(result.stdout)
    assert document["metadata"] == {"name": "mirror-pull", "namespace": "x",
                                    "labels": {"app.kubernetes.io/managed-by": "civitas-postrender"}}
    assert list(decoded(document)["auths"]) == ["registry.intern"]


@pytest.mark.parametrize("argv", [["--password", PASSWORD], [f"--password={PASSWORD}"]])
def test_password_is_refused_on_the_command_line_without_echoing_it(argv: list[str]) -> None:
    result = secret("--registry", "registry.intern", "-n", "x", "--username", "u", *argv)
    assert result.returncode == 1 and result.stdout == b""
    assert "never taken from the command line" in result.stderr.decode()
    assert_password_only_in_data(result.stdout, result.stderr)


@pytest.mark.parametrize(("args", "env", "message"), [
    (["-n", "x", "--username", "u"], ENV, "no registry given"),
    (["--registry", "registry.intern", "-n", "x"], ENV, "no username"),
    (["--registry", "registry.intern", "-n", "x", "--username", "u"], {}, "no password"),
    (["--registry", "registry.intern", "-n", "Bad_NS", "--username", "u"], ENV, "namespace 'Bad_NS'"),
    (["--registry", "registry.intern", "-n", "x", "--username", "u", "--name", "Reg_Cred"], ENV, "secret name 'Reg_Cred'"),
    (["--registry", "registry.intern", "-n", "x", "--username", "a:b"], ENV, "must not contain ':'"),
    (["--registry", "registry.intern", "--username", "u"], ENV, "--namespace"),
])
def test_errors_never_show_the_password(args: list[str], env: dict[str, str], message: str, tmp_path: Path) -> None:
    log = tmp_path / "postrender.log"
    result = secret(*args, "--log-file", str(log), env=env)
    assert result.returncode == 1 and result.stdout == b""
    assert message in result.stderr.decode()
    assert_password_only_in_data(result.stdout, result.stderr)
    if log.exists():
        assert PASSWORD not in log.read_text(encoding="utf-8")


def test_empty_password_stdin_is_an_error() -> None:
    result = secret("--registry", "registry.intern", "-n", "x", "--username", "u", "--password-stdin", stdin="\n")
    assert result.returncode == 1 and "no password" in result.stderr.decode()


def test_dockerconfigjson_is_what_kubelet_reads() -> None:
    data = json.loads(dockerconfigjson("registry.intern", "u", "p"))
    assert data == {"auths": {"registry.intern": {"username": "u", "password": "p", "auth": "dTpw"}}}


# -- stray arguments: where a mistyped password lands ---------------------------------------------
@pytest.mark.parametrize("stray", [
    [PASSWORD],  # the password typed as an argument
    ["hunter2", "more words"],
    [f"--{PASSWORD}"],  # looks like an option
    ["--", "hunter2"],
    ["-n"],  # -n's value missing... is the next word below
])
def test_stray_arguments_are_refused_without_echoing_them(stray: list[str], tmp_path: Path) -> None:
    log = tmp_path / "postrender.log"
    args = ["--registry", "registry.intern", "--username", "u", "--log-file", str(log)]
    args = [*args, "-n", "x", *stray] if stray != ["-n"] else [*args, "-n", "x", "hunter2", "-n"]
    result = secret(*args, env=ENV)
    assert result.returncode in (1, 2) and result.stdout == b""
    stderr = result.stderr.decode()
    assert stderr.startswith("civitas-postrender: error: ")
    for word in [*stray, "hunter2", "more words"]:
        if word not in ("-n", "--"):
            assert word.lstrip("-") not in stderr
            assert not log.exists() or word.lstrip("-") not in log.read_text(encoding="utf-8")
    assert_password_only_in_data(result.stdout, result.stderr)


def test_stray_argument_before_the_options_is_refused_too() -> None:
    result = secret("hunter2", "--registry", "registry.intern", "-n", "x", "--username", "u", env=ENV)
    assert result.returncode == 1 and "hunter2" not in result.stderr.decode()
    assert "unexpected argument(s), not shown" in result.stderr.decode()


# -- non-UTF-8 secrets: exit 1, never shown ---------------------------------------------------------
@pytest.mark.parametrize("password", [b"\xff\xfe", b"pa\xc3ss", b"ok-until-\xed\xa0\x80", b"\x80"])
def test_non_utf8_password_on_stdin_is_exit_1(password: bytes) -> None:
    result = secret("--registry", "registry.intern", "-n", "x", "--username", "u", "--password-stdin", stdin=password)
    assert result.returncode == 1 and result.stdout == b""
    assert "the password on stdin is not UTF-8 text" in result.stderr.decode()
    assert password not in result.stderr


def test_non_utf8_password_and_username_in_the_environment_are_exit_1() -> None:
    import os

    def run(env: dict[bytes, bytes]) -> Any:
        import subprocess
        import sys

        base = {k.encode(): v.encode() for k, v in os.environ.items() if not k.startswith("CIVITAS_POSTRENDER_")}
        return subprocess.run([sys.executable, "-m", "postrender", "secret", "--registry", "registry.intern", "-n", "x"],
                              env={**base, **env}, capture_output=True, timeout=120)

    bad_password = run({b"CIVITAS_POSTRENDER_PASSWORD": b"s3cr\xe9t", b"CIVITAS_POSTRENDER_USERNAME": b"u"})
    assert bad_password.returncode == 1 and b"not UTF-8 text" in bad_password.stderr and b"s3cr" not in bad_password.stderr
    bad_user = run({b"CIVITAS_POSTRENDER_PASSWORD": b"pw", b"CIVITAS_POSTRENDER_USERNAME": b"r\xf6bot"})
    assert bad_user.returncode == 1 and b"the username is not UTF-8 text" in bad_user.stderr


@pytest.mark.parametrize(("listed", "expected"), [
    ("", "patch serviceaccount default -n analytics -p {\"imagePullSecrets\": [{\"name\": \"regcred\"}]}"),
    ("other", "patch serviceaccount default -n analytics --type json -p [{\"op\": \"add\", \"path\": \"/imagePullSecrets/-\", \"value\": {\"name\": \"regcred\"}}]"),
    ("other regcred", None),
])
def test_default_service_account_patch_runs_as_kubectl_expects(tmp_path: Path, listed: str, expected: str | None) -> None:
    """The printed script, run by sh against a kubectl stand-in that answers `get` with the names
    listed: a missing list is created, an existing one appended to, a listed name left alone."""
    result = run_cli(["secret", "--registry", "registry.intern", "-n", "analytics", "--name", "regcred",
                      "--default-service-account-patch"])
    assert result.returncode == 0, result.stderr
    calls = tmp_path / "calls"
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(f'#!/bin/sh\nif [ "$1" = get ]; then printf %s "{listed}"; exit 0; fi\n'
                       f'printf "%s " "$@" >> {calls}\nprintf "\\n" >> {calls}\n')
    kubectl.chmod(0o755)
    script = tmp_path / "patch.sh"
    script.write_bytes(result.stdout)
    done = subprocess.run(["sh", str(script)], env={**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"},
                          capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    made = calls.read_text().strip() if calls.exists() else None
    assert made == expected


def test_an_endless_password_on_stdin_is_a_clear_error() -> None:
    with open("/dev/zero", "rb") as endless:
        result = subprocess.run([*CLI, "secret", "--registry", "registry.intern", "--username", "u", "-n", "a", "--password-stdin"],
                                stdin=endless, capture_output=True, env=cli_env(), timeout=120, check=False)
    assert result.returncode == 1 and b"too large" in result.stderr and result.stdout == b""
