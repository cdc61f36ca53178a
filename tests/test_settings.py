"""settings: registries that no client could use are refused before a byte is read."""
from __future__ import annotations

from pathlib import Path

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


# -- an image list asked for with an empty name is an error, wherever the name comes from ------------
@pytest.mark.parametrize("value", ["", " ", "\t"])
def test_empty_images_out_in_the_environment_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="CIVITAS_POSTRENDER_IMAGES_OUT is set but empty"):
        resolve({}, env={"CIVITAS_POSTRENDER_IMAGES_OUT": value})


@pytest.mark.parametrize(("key", "value"), [("imagesOut", '""'), ("images_out", "''"), ("imagesOut", '" "'), ("logFile", '""')])
def test_empty_file_name_in_the_config_file_is_refused(tmp_path: Path, key: str, value: str) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"registry: registry.intern\n{key}: {value}\n")
    with pytest.raises(ConfigError, match=f"c.yaml: {key}: the file name is empty"):
        resolve({"config": str(config)}, env={})


def test_unset_or_null_images_out_means_no_list(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("registry: registry.intern\nimagesOut: null\n")
    assert resolve({"config": str(config)}, env={}).images_out is None
    assert resolve({}, env={}).images_out is None


@pytest.mark.parametrize("source", ["flag", "env", "config"])
def test_a_path_ending_in_a_slash_is_a_directory_that_must_exist(tmp_path: Path, source: str) -> None:
    """``--images-out lists/`` means a directory of lists: never a file named ``lists``."""
    missing, existing = f"{tmp_path}/lists/", tmp_path / "there"
    existing.mkdir()
    config = tmp_path / "c.yaml"

    def settings(value: str) -> Path | None:
        config.write_text(f"registry: r.example\nimagesOut: {value}\n")
        if source == "flag":
            return resolve({"registry": "r.example", "images_out": value}, env={}).images_out
        if source == "env":
            return resolve({"registry": "r.example"}, env={"CIVITAS_POSTRENDER_IMAGES_OUT": value}).images_out
        return resolve({"config": str(config)}, env={}).images_out

    with pytest.raises(ConfigError, match="names a directory, and there is none: create it first"):
        settings(missing)
    assert not Path(missing).exists()
    assert settings(f"{existing}/") == existing
    assert settings(str(tmp_path / "file.json")) == tmp_path / "file.json"  # no slash: a file, as before
