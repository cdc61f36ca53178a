"""``civitas-postrender secret``: a dockerconfigjson Secret per namespace; the password only inside it."""
from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import run_cli
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
