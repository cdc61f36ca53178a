"""Read a small YAML file we are given (config, rules): every failure a ConfigError naming it."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import ConfigError
from .readall import FILE_LIMIT, read_all


def read_yaml_file(path: Path, what: str) -> Any:
    """The data of ``path``; ``what`` ("config file", "rule file") starts every message."""
    import yaml

    try:
        text = read_all(path, f"{what} {path}", limit=FILE_LIMIT, error=ConfigError).decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"{what} {path}: cannot read it: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what} {path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        return yaml.load(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{what} {path}{where}: invalid YAML: {problem}") from None
