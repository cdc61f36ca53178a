"""A per-image override gives one target in every command: post-render, the values overlay and check."""
from __future__ import annotations

from postrender.commands.check import Outcome, check_stream
from postrender.rules import load_rules
from postrender.settings import Settings
from postrender.testing import render
from postrender.values_overlay import build_overlay

SETTINGS = Settings(registry="registry.intern", folder="civitas", overrides=(("docker.io/bitnami/**", "vendor/bitnami/redis"),))
POD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: a\n      image: bitnami/redis:8.2.1\n"
TARGET = "registry.intern/vendor/bitnami/redis:8.2.1"


def test_post_render_values_and_check_agree_on_an_overridden_target() -> None:
    assert f"image: {TARGET}" in render(POD, registry="registry.intern", folder="civitas", overrides=SETTINGS.overrides).output
    overlay = build_overlay("image: bitnami/redis:8.2.1\nredis:\n  image:\n    repository: bitnami/redis\n    tag: 8.2.1\n", SETTINGS)
    assert [str(c.new) for c in overlay.changes] == [TARGET, "registry.intern/vendor/bitnami/redis"]
    outcome = Outcome()
    check_stream(POD, "pod.yaml", SETTINGS, load_rules(), outcome)
    assert [p.message for p in outcome.problems] == [f"bitnami/redis:8.2.1 is not served by registry.intern (post-render makes it {TARGET})"]
