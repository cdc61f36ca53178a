"""``yamlfile.read_yaml_files_cached``: the built-in rules' parsed YAML kept beside the bytes it
came from, as Python keeps bytecode; never stale, never required, never in the way."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from postrender import yamlfile
from postrender.errors import ConfigError
from postrender.rules import builtin_rules_dir, load_rules


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The paths parsed as YAML (not loaded from the cache)."""
    seen: list[Path] = []
    real = yamlfile._parse

    def counting(text: str, path: Path, what: str) -> Any:
        seen.append(path)
        return real(text, path, what)

    monkeypatch.setattr(yamlfile, "_parse", counting)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    return seen


def _files(tmp_path: Path, **contents: str) -> list[Path]:
    paths = []
    for name, text in contents.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(text)
        paths.append(path)
    return paths


def test_a_second_read_comes_from_the_cache(tmp_path: Path, parses: list[Path]) -> None:
    paths = _files(tmp_path, a="rules: [{id: a}]\n", b="x: [1, 2.5, true, null]\n")
    first = yamlfile.read_yaml_files_cached(paths, "rule file", tmp_path / "__pycache__")
    assert parses == paths
    assert yamlfile.read_yaml_files_cached(paths, "rule file", tmp_path / "__pycache__") == first
    assert parses == paths  # nothing parsed the second time
    assert first == [{"rules": [{"id": "a"}]}, {"x": [1, 2.5, True, None]}]


def test_a_changed_file_is_parsed_again(tmp_path: Path, parses: list[Path]) -> None:
    paths = _files(tmp_path, a="a: 1\n", b="b: 1\n")
    yamlfile.read_yaml_files_cached(paths, "rule file", tmp_path / "c")
    paths[1].write_text("b: 2\n")  # same size, maybe the same second: the bytes are compared
    assert yamlfile.read_yaml_files_cached(paths, "rule file", tmp_path / "c") == [{"a": 1}, {"b": 2}]
    assert len(parses) == 4
    assert yamlfile.read_yaml_files_cached(paths[:1], "rule file", tmp_path / "c") == [{"a": 1}]  # fewer files


@pytest.mark.parametrize("damage", [b"", b"\x00garbage", b"\xe3" + b"\x00" * 8])
def test_a_damaged_cache_is_ignored_and_written_again(tmp_path: Path, parses: list[Path], damage: bytes) -> None:
    paths = _files(tmp_path, a="a: 1\n")
    yamlfile.read_yaml_files_cached(paths, "rule file", tmp_path)
    (cache,) = tmp_path.glob("*.marshal")
    cache.write_bytes(damage)
    assert yamlfile.read_yaml_files_cached(paths, "rule file", tmp_path) == [{"a": 1}]
    assert yamlfile.read_yaml_files_cached(paths, "rule file", tmp_path) == [{"a": 1}]
    assert len(parses) == 2


def test_nothing_is_written_where_bytecode_would_not_be(tmp_path: Path, parses: list[Path],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    paths = _files(tmp_path, a="a: 1\n")
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # PYTHONDONTWRITEBYTECODE
    assert yamlfile.read_yaml_files_cached(paths, "rule file", tmp_path / "c") == [{"a": 1}]
    assert not (tmp_path / "c").exists()
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    if os.geteuid() != 0:  # root writes anyway
        (tmp_path / "ro").mkdir(mode=0o555)
        assert yamlfile.read_yaml_files_cached(paths, "rule file", tmp_path / "ro" / "c") == [{"a": 1}]
        assert not (tmp_path / "ro" / "c").exists()
    (tmp_path / "file").write_text("")  # the cache directory cannot be made: read, not kept
    assert yamlfile.read_yaml_files_cached(paths, "rule file", tmp_path / "file" / "c") == [{"a": 1}]
    assert not list(tmp_path.glob("**/*.tmp"))


def test_values_marshal_cannot_keep_are_parsed_each_time(tmp_path: Path, parses: list[Path]) -> None:
    paths = _files(tmp_path, a="when: 2026-12-01\n")
    for _ in range(2):
        assert str(yamlfile.read_yaml_files_cached(paths, "rule file", tmp_path / "c")[0]["when"]) == "2026-12-01"
    assert len(parses) == 2 and not list((tmp_path / "c").glob("*"))


def test_errors_name_the_file_as_before(tmp_path: Path, parses: list[Path]) -> None:
    paths = _files(tmp_path, a="a: [\n")
    with pytest.raises(ConfigError, match=r"rule file .*a\.yaml line 2 column 1: invalid YAML"):
        yamlfile.read_yaml_files_cached(paths, "rule file", tmp_path / "c")


def test_built_in_rules_loaded_from_the_cache_equal_those_parsed() -> None:
    parsed = [yamlfile.read_yaml_file(path, "rule file") for path in sorted(builtin_rules_dir().glob("*.yaml"))]
    cached = yamlfile.read_yaml_files_cached(sorted(builtin_rules_dir().glob("*.yaml")), "rule file",
                                             builtin_rules_dir() / "__pycache__")
    assert cached == parsed
    assert [rule.id for rule in load_rules().rules] == [rule.id for rule in load_rules().rules]


# -- review (helper-22) --------------------------------------------------------------------------
def test_a_cache_whose_data_does_not_fit_its_sources_is_parsed_again(tmp_path: Path, parses: list[Path]) -> None:
    import marshal

    paths = _files(tmp_path, a="a: 1\n", b="b: 1\n")
    yamlfile.read_yaml_files_cached(paths, "rule file", tmp_path)
    (cache,) = tmp_path.glob("*.marshal")
    reader, sources, data = marshal.loads(cache.read_bytes())
    cache.write_bytes(marshal.dumps((reader, sources, data[:1])))  # the sources as they are, one file's data lost
    assert yamlfile.read_yaml_files_cached(paths, "rule file", tmp_path) == [{"a": 1}, {"b": 1}]  # (load_rules zips: b's rules dropped)


def test_the_first_broken_rule_file_is_the_one_reported(tmp_path: Path) -> None:
    """As before the cache: files are taken in order, each parsed and its ids checked before the next."""
    duplicate, broken = _files(tmp_path, a="rules:\n- id: kubernetes/pod\n  description: x\n  match: [{group: '', kinds: [Pod]}]\n",
                               b="rules: [\n")
    with pytest.raises(ConfigError, match=r"a\.yaml: rule 'kubernetes/pod' is already defined"):
        load_rules((duplicate, broken))


def test_another_pyyaml_reads_the_files_again(tmp_path: Path, parses: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    paths = _files(tmp_path, a="a: yes\n")
    yamlfile.read_yaml_files_cached(paths, "rule file", tmp_path / "c")
    monkeypatch.setattr(yaml, "__version__", "0.0-another")
    yamlfile.read_yaml_files_cached(paths, "rule file", tmp_path / "c")
    assert len(parses) == 2


def test_the_cache_follows_pythonpycacheprefix(tmp_path: Path, parses: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    paths = _files(tmp_path, a="a: 1\n")
    monkeypatch.setattr(sys, "pycache_prefix", str(tmp_path / "prefix"))
    yamlfile.read_yaml_files_cached(paths, "rule file", tmp_path / "rules" / "__pycache__")
    assert not (tmp_path / "rules").exists()
    assert list((tmp_path / "prefix").glob("**/*.marshal"))


def test_another_parse_reads_the_files_again(tmp_path: Path, parses: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache is keyed on the code that parsed it too (a release that reads rules otherwise)."""
    paths = _files(tmp_path, a="a: 1\n")
    yamlfile.read_yaml_files_cached(paths, "rule file", tmp_path / "c")
    counting = yamlfile._parse

    def other(text: str, path: Path, what: str) -> Any:
        return counting(text, path, what)

    monkeypatch.setattr(yamlfile, "_parse", other)
    yamlfile.read_yaml_files_cached(paths, "rule file", tmp_path / "c")
    assert len(parses) == 2
