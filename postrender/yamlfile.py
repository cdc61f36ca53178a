"""Read a small YAML file we are given (config, rules): every failure a ConfigError naming it."""
from __future__ import annotations

import marshal
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .readall import FILE_LIMIT, read_all


def read_yaml_file(path: Path, what: str) -> Any:
    """The data of ``path``; ``what`` ("config file", "rule file") starts every message."""
    return _parse(_read(path, what), path, what)


def read_yaml_files_cached(paths: Sequence[Path], what: str, cache_dir: Path) -> list[Any]:
    """The data of each of ``paths``, kept in ``cache_dir`` (a ``__pycache__``) beside the very
    bytes it was read from, as Python keeps bytecode (and, as Python, not written where it cannot
    be or under PYTHONDONTWRITEBYTECODE, and under PYTHONPYCACHEPREFIX when that is set).  For the
    built-in rules: parsing their YAML is 15% of a one-document run (110M of 760M instructions);
    loading it back is 1%."""
    import yaml

    # What read them, as a .pyc keeps its magic number: another PyYAML or another _parse may read them otherwise.
    reader = f"{yaml.__version__} {marshal.dumps(_parse.__code__).hex()}"
    sources = tuple(_read(path, what) for path in paths)
    if sys.pycache_prefix:  # PYTHONPYCACHEPREFIX: kept where Python keeps bytecode
        cache_dir = Path(sys.pycache_prefix) / cache_dir.resolve().parent.relative_to(cache_dir.resolve().anchor)
    cache = cache_dir / f"{what.replace(' ', '-')}s.{sys.implementation.cache_tag}.marshal"
    try:
        kept_reader, kept_sources, kept = marshal.loads(cache.read_bytes())
        if (kept_reader, kept_sources) == (reader, sources) and isinstance(kept, list) and len(kept) == len(paths):
            return kept
    except (OSError, ValueError, EOFError, TypeError):
        pass  # none yet, or unreadable: parsed below
    data = [_parse(source, path, what) for source, path in zip(sources, paths)]
    if not sys.dont_write_bytecode:
        try:
            content = marshal.dumps((reader, sources, data))
        except ValueError:  # a value marshal does not keep (a YAML timestamp): parsed each time
            return data
        _write_atomically(cache, content)
    return data


def _write_atomically(path: Path, content: bytes) -> None:
    """Write ``path`` whole or not at all (concurrent runs each write the same content)."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(content)
        os.replace(temporary, path)
    except OSError:  # a read-only installation: parsed again next time
        try:
            temporary.unlink()
        except OSError:
            pass


def _read(path: Path, what: str) -> str:
    try:
        return read_all(path, f"{what} {path}", limit=FILE_LIMIT, error=ConfigError).decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"{what} {path}: cannot read it: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what} {path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _parse(text: str, path: Path, what: str) -> Any:
    import yaml

    try:
        return yaml.load(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{what} {path}{where}: invalid YAML: {problem}") from None
