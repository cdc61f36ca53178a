"""pytest plugin: snapshot a chart's post-rendered output in the chart repository's CI.

Registered through the ``pytest11`` entry point, so pytest imports this module in every
run of every project where civitas-postrender is installed: it imports nothing but
pytest at import time; the pipeline and syrupy are loaded inside the fixtures.

Fixtures:

- ``postrender_settings``: the default settings (a dict of ``registry=``, ``folder=``,
  ``pull_secrets=``, ...); override it in a ``conftest.py`` for the whole repository.
- ``postrender``: ``postrender(stream, **settings) -> Result`` post-renders a stream (text,
  bytes or a path, e.g. a saved ``helm template`` output) exactly as the command does;
  ``.output`` is the text, ``.warnings`` and ``.image_list(...)`` the rest.
- ``postrender_snapshot``: syrupy's ``snapshot`` storing each value as one readable
  ``.yaml`` file in ``__snapshots__/`` (syrupy must be installed).
"""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture
def postrender_settings() -> dict[str, Any]:
    """Settings every ``postrender(...)`` call starts from; override in conftest.py."""
    return {}


@pytest.fixture
def postrender(postrender_settings: dict[str, Any]) -> Callable[..., Any]:
    from .testing import render

    def run(stream: str | bytes | os.PathLike[str], **settings: Any) -> Any:
        if isinstance(stream, os.PathLike):
            with open(stream, "rb") as handle:
                stream = handle.read()
        return render(stream, **{**postrender_settings, **settings})

    return run


@pytest.fixture
def postrender_snapshot(request: pytest.FixtureRequest) -> Any:
    try:
        snapshot = request.getfixturevalue("snapshot")
    except pytest.FixtureLookupError:
        pytest.fail("postrender_snapshot needs syrupy: pip install syrupy", pytrace=False)
    from .testing import yaml_snapshot_extension

    return snapshot.use_extension(yaml_snapshot_extension())
