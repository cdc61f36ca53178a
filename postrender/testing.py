"""Helpers for snapshot tests of post-rendered charts (ours, and users' through the pytest plugin).

syrupy is imported only when a snapshot extension is asked for, so importing
this module costs nothing in production.
"""
from __future__ import annotations

from typing import Any

from .documents import decode
from .pipeline import Result, post_render
from .settings import Settings, validate


def render(text: str | bytes, **settings: Any) -> Result:
    """Post-render ``text`` with settings given as keyword arguments (``registry=``, ``folder=``,
    ``pull_secrets=``, ...), exactly as the command would, and return the whole result."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    for key in ("pull_secrets", "exclude", "rules"):
        if key in settings and isinstance(settings[key], (list, str)):
            settings[key] = tuple([settings[key]] if isinstance(settings[key], str) else settings[key])
    resolved = Settings(**settings)
    validate(resolved)
    return post_render(decode(data), resolved)


def yaml_snapshot_extension() -> type:
    """A syrupy extension that stores each snapshot as one readable ``.yaml`` file."""
    from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

    class YAMLSnapshotExtension(SingleFileSnapshotExtension):
        file_extension = "yaml"
        _write_mode = WriteMode.TEXT

        def serialize(self, data: Any, **kwargs: Any) -> str:
            if isinstance(data, bytes):
                data = data.decode("utf-8")
            if not isinstance(data, str):
                import yaml

                data = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)
            return str(data)

    return YAMLSnapshotExtension
