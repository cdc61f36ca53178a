"""The mapping from a source reference to its private target, as a table."""
from __future__ import annotations

import pytest

from postrender.plan import is_excluded, is_private
from postrender.reference import parse_reference

DIGEST = "sha256:" + "a" * 64

# (source as written, registry, folder, expected target)
CASES = [
    ("docker.io/apache/superset:4.1.2", "registry.intern", None, "registry.intern/apache/superset:4.1.2"),
    ("docker.io/apache/superset:4.1.2", "registry.intern", "folder", "registry.intern/folder/apache/superset:4.1.2"),
    ("apache/superset:4.1.2", "registry.intern", None, "registry.intern/apache/superset:4.1.2"),
    ("nginx:1.27", "registry.intern", "folder", "registry.intern/folder/library/nginx:1.27"),
    ("nginx", "registry.intern", None, "registry.intern/library/nginx"),  # no :latest invented
    ("index.docker.io/library/nginx:1.27", "registry.intern", None, "registry.intern/library/nginx:1.27"),
    ("quay.io/prometheus/node-exporter:v1.8.0", "registry.intern", "a/b", "registry.intern/a/b/prometheus/node-exporter:v1.8.0"),
    (f"nginx@{DIGEST}", "registry.intern", None, f"registry.intern/library/nginx@{DIGEST}"),
    (f"ghcr.io/org/app:1.0@{DIGEST}", "registry.intern", "f", f"registry.intern/f/org/app:1.0@{DIGEST}"),
    ("localhost:5000/team/app:dev", "registry.intern", None, "registry.intern/team/app:dev"),
    ("registry.k8s.io/ingress-nginx/controller:v1.12.0", "registry.intern:8443", None, "registry.intern:8443/ingress-nginx/controller:v1.12.0"),
    ("ttl.sh/app:24h", "registry.intern", "mirror", "registry.intern/mirror/app:24h"),
    ("gcr.io/knative-releases/knative.dev/eventing/cmd/event_display", "r.example", None, "r.example/knative-releases/knative.dev/eventing/cmd/event_display"),
    ("my-image", "registry.intern", None, "registry.intern/library/my-image"),
    ("kafka:latest", "registry.intern", None, "registry.intern/library/kafka:latest"),
]


@pytest.mark.parametrize(("source", "registry", "folder", "target"), CASES)
def test_target(source: str, registry: str, folder: str | None, target: str) -> None:
    ref = parse_reference(source)
    assert ref is not None
    assert ref.at(registry, folder) == target
    # the target is itself a valid reference that names the private registry
    again = parse_reference(target)
    assert again is not None and again.domain == registry


@pytest.mark.parametrize(
    "value",
    ["", "$(params.IMAGE)", "ko://knative.dev/serving/cmd/x", "{{ .Values.image }}", "nginx:1.25\n",
     "https://example.com/x", "UPPER/Case:1", "a" * 600, "nginx:", "nginx@sha256:abc", "image with spaces"],
)
def test_not_a_reference(value: str) -> None:
    assert parse_reference(value) is None


@pytest.mark.parametrize(
    ("source", "normalized"),
    [("nginx", "docker.io/library/nginx"), ("bitnami/redis:8", "docker.io/bitnami/redis:8"),
     (f"quay.io/a/b:1@{DIGEST}", f"quay.io/a/b:1@{DIGEST}")],
)
def test_normalized(source: str, normalized: str) -> None:
    ref = parse_reference(source)
    assert ref is not None and ref.normalized == normalized


@pytest.mark.parametrize(
    ("source", "registry", "private"),
    [("registry.intern/x/y:1", "registry.intern", True),
     ("registry.intern/folder/library/nginx:1", "registry.intern", True),
     ("registry.intern:5000/x:1", "registry.intern", False),
     ("docker.io/registry.intern/x:1", "registry.intern", False)],
)
def test_private(source: str, registry: str, private: bool) -> None:
    ref = parse_reference(source)
    assert ref is not None and is_private(ref, registry) is private


@pytest.mark.parametrize(
    ("source", "pattern", "excluded"),
    [("busybox:1.37", "docker.io/library/busybox", True),
     ("busybox:1.37", "docker.io/library/busybox:1.36", False),
     ("busybox:1.37", "docker.io/library/busybox:1.37", True),
     ("ghcr.io/acme/team/app:1", "ghcr.io/acme/**", True),
     ("ghcr.io/acme/team/app:1", "ghcr.io/acme/*", False),
     ("ghcr.io/acme/app:1", "ghcr.io/acme/*", True),
     ("ghcr.io/acmex/app:1", "ghcr.io/acme/**", False),
     ("quay.io/jetstack/cert-manager-controller:v1", "quay.io/jetstack/cert-manager-*", True)],
)
def test_exclude(source: str, pattern: str, excluded: bool) -> None:
    ref = parse_reference(source)
    assert ref is not None and is_excluded(ref, [pattern]) is excluded
