"""settings: registries that no client could use are refused before a byte is read."""
from __future__ import annotations

import pytest

from postrender.errors import ConfigError
from postrender.settings import resolve


@pytest.mark.parametrize(("registry", "fragment"), [
    ("registry.intern:0", "port 0 is not a TCP port"),
    ("registry.intern:99999", "port 99999 is not a TCP port"),
    ("registry.intern:65536", "port 65536 is not a TCP port"),
    ("r" * 6000 + ".intern", "6007 characters long"),
    ("a" * 64 + ".intern", "63 per label"),
    (".".join(["a" * 63] * 4), "at most 253 characters"),
])
def test_unusable_registry_is_refused(registry: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as error:
        resolve({"registry": registry}, env={})
    assert fragment in str(error.value)
    assert len(str(error.value)) < 400  # a huge value is not echoed whole


@pytest.mark.parametrize("registry", ["registry.intern:1", "registry.intern:65535", "localhost:5000", "a" * 63 + ".intern"])
def test_usable_registry_is_accepted(registry: str) -> None:
    assert resolve({"registry": registry}, env={}).registry == registry


def test_registry_and_folder_leaving_no_room_for_a_name() -> None:
    with pytest.raises(ConfigError, match="no room for an image name"):
        resolve({"registry": "registry.intern", "folder": "/".join(["f" * 60] * 4)}, env={})
