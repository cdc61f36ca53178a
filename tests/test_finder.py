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
