"""The custom-resource sweep (finder.Sweep): shapes of placement no rule names, found or reported, never silent."""
from __future__ import annotations

import pytest

from postrender.testing import render

BROKER = """\
apiVersion: platform.example.io/v1
kind: Broker
metadata:
  name: b
spec:
  image:
    application: example/broker:7.1.0
    init: quay.io/example/init:2.3.0
    pullPolicy: IfNotPresent
  images:
    gateway: example/lite:v17
    db:
      compatible: example/lite:v17
    exporter: prom/exporter:v0.11.0
  imageSettings:
    mode: fast
  sidecars:
    - name: logs
      role: fluent/fluent-bit:3.2
"""


def test_values_of_an_image_map_are_images_or_candidates() -> None:
    """``image: {application: REF, init: REF}`` and ``images: {component: REF}`` (two levels deep):
    a qualified reference there is rewritten, a bare one reported; was silent (no key said image)."""
    result = render(BROKER, registry="registry.intern", folder="civitas")
    assert "init: registry.intern/civitas/example/init:2.3.0" in result.output
    assert {s.path for s in result.plan.candidates_left} == {
        "spec.image.application", "spec.images.gateway", "spec.images.db.compatible", "spec.images.exporter"}
    assert result.output.count("registry.intern") == 1  # candidates stay as they are


@pytest.mark.parametrize("path", ["spec.image.pullPolicy", "spec.imageSettings.mode", "spec.sidecars[0].role"])
def test_not_an_image_map(path: str) -> None:
    """A setting's word under an image map, a map whose key is about images, a list item's
    fields: nothing found (a list item is its own object, its keys say what it holds)."""
    result = render(BROKER, registry="registry.intern", folder="civitas")
    assert path not in {s.path for s in result.findings.sites}


def test_image_map_with_rewrite_candidates() -> None:
    result = render(BROKER, registry="registry.intern", folder="civitas", rewrite_candidates=True)
    for ref in ("example/broker:7.1.0", "example/lite:v17", "prom/exporter:v0.11.0"):
        assert f"registry.intern/civitas/{ref}" in result.output
    assert "mode: fast" in result.output and "pullPolicy: IfNotPresent" in result.output


IMAGE_MAP_DECOYS = """\
apiVersion: platform.example.io/v1
kind: Broker
metadata:
  name: b
spec:
  image:
    repository: quay.io/x/y
    tag: "1.0"
    digest: "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
  images:
    docs: "https://example.com/images/list"
    mirror: "registry.example.com:5000"
    dir: /var/lib/images
    version: "1.2:3"
    pullPolicy: IfNotPresent
"""


def test_image_map_decoys_are_not_candidates() -> None:
    """Beside a split block or among images: a digest, a registry endpoint, a URL, a path and
    settings about images are none (they would fail --strict for nothing)."""
    result = render(IMAGE_MAP_DECOYS, registry="registry.intern", folder="civitas")
    assert not result.plan.candidates_left
    assert result.output == IMAGE_MAP_DECOYS.replace("quay.io/x/y", "registry.intern/civitas/x/y")


SPLIT_ENV = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: scheduler
spec:
  template:
    spec:
      containers:
        - name: scheduler
          image: example/scheduler:2.9.3
          env:
            - name: WORKER_IMAGE_REPOSITORY
              value: example/worker
            - name: WORKER_IMAGE_TAG
              value: "1.4"
            - name: HELPER_REGISTRY
              value: quay.io
            - name: HELPER_REPOSITORY
              value: example/helper
            - name: HELPER_TAG
              value: v2
            - name: CACHE_REPOSITORY
              value: /var/cache/repo
            - name: CACHE_TAG
              value: nightly
"""


@pytest.mark.parametrize("name, old, new", [
    ("WORKER_IMAGE_REPOSITORY", "example/worker", "registry.intern/civitas/example/worker"),
    ("HELPER_REPOSITORY", "example/helper", "civitas/example/helper"),
    ("HELPER_REGISTRY", "quay.io", "registry.intern"),
])
def test_split_reference_in_env_pairs(name: str, old: str, new: str) -> None:
    """``X_REPOSITORY`` + ``X_TAG`` (and ``X_REGISTRY``) as container env, the way ConfigMap data
    already was read (an executor's worker image): the name parts rewritten, the tag untouched;
    was silent in env."""
    result = render(SPLIT_ENV, registry="registry.intern", folder="civitas")
    assert f"- name: {name}\n              value: {new}\n" in result.output
    assert 'value: "1.4"' in result.output and "value: v2" in result.output
    images = {i.ref.normalized for i in result.plan.images}
    assert {"docker.io/example/worker:1.4", "quay.io/example/helper:v2"} <= images


def test_split_env_pair_that_is_no_image() -> None:
    """A path and a word under ``_REPOSITORY``/``_TAG`` names: nothing found, nothing changed."""
    result = render(SPLIT_ENV, registry="registry.intern", folder="civitas")
    assert "value: /var/cache/repo" in result.output and "value: nightly" in result.output
    assert not any("env[7]" in s.path or "env[8]" in s.path for s in result.findings.sites)
