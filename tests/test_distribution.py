"""Reading registry credentials from Docker configs (the HTTP side is in test_verify.py)."""
from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from postrender.distribution import Credentials, docker_config_credentials
from postrender.errors import ConfigError


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(("auths", "expected"), [
    ({"registry.intern": {"auth": b64("robot:pw:with:colons")}}, Credentials("robot", "pw:with:colons")),
    ({"https://registry.intern/v2/": {"auth": b64("robot:pw")}}, Credentials("robot", "pw")),
    ({"registry.intern": {"username": "u", "password": "p", "auth": b64("x:y")}}, Credentials("u", "p")),
    ({"other.example": {"auth": b64("robot:pw")}}, None),
    ({"registry.intern:5000": {"auth": b64("robot:pw")}}, None),
])
def test_credentials_for_the_registry(tmp_path: Path, auths: dict[str, Any], expected: Credentials | None) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"auths": auths}))
    assert docker_config_credentials(config, "registry.intern") == expected


@pytest.mark.parametrize(("content", "message"), [
    ("{", "invalid JSON"),
    ('{"credsStore": "desktop"}', "no 'auths' object"),
    (json.dumps({"auths": {"registry.intern": {"auth": "not base64!"}}}), "not base64 of 'username:password'"),
    (json.dumps({"auths": {"registry.intern": {"auth": b64("no-colon")}}}), "not base64 of 'username:password'"),
])
def test_bad_configs_are_config_errors(tmp_path: Path, content: str, message: str) -> None:
    config = tmp_path / "config.json"
    config.write_text(content)
    with pytest.raises(ConfigError, match=message):
        docker_config_credentials(config, "registry.intern")


def test_a_password_is_never_shown() -> None:
    assert "pw" not in repr(Credentials("robot", "pw")) and "robot" in repr(Credentials("robot", "pw"))
