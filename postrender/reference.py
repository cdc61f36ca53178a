"""The one adapter around docker-image-py: parse an image reference as Docker does.

docker-image-py costs ~30 µs a call and ~44 ms to import (its ``regex``
patterns), so it is imported on first use and every answer is cached by
string: charts repeat the same few images many times.
"""
from __future__ import annotations

import functools
import re

from .records import record

# Longer strings are never references (Docker caps a name at 255 characters) and
# docker-image-py's parse time grows quadratically on hostile input.
MAX_REFERENCE_LENGTH = 512

# Cheap pre-check: characters a reference can hold at all.  Anything with spaces,
# "$(", "{{", "://" and so on is rejected before docker-image-py sees it.
_REFERENCE_CHARS = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]*\Z")


@record(frozen=True)
class ImageRef:
    """A parsed, normalised image reference."""

    domain: str  # e.g. "docker.io", "quay.io", "registry.intern:5000"
    path: str  # repository path without the domain, e.g. "library/nginx"
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        return f"{self.domain}/{self.path}"

    @property
    def normalized(self) -> str:
        return self.name + self.suffix

    @property
    def suffix(self) -> str:
        """The tag and digest exactly as they follow the name."""
        return (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    def repository_at(self, folder: str | None, override: str | None = None) -> str:
        """The repository this image gets below the private registry: the override's when one
        names it, else its own path below the folder."""
        if override:
            return override
        return f"{folder}/{self.path}" if folder else self.path

    def at(self, registry: str, folder: str | None, override: str | None = None) -> str:
        """This image's reference under another registry (and folder, or its override)."""
        return f"{registry}/{self.repository_at(folder, override)}{self.suffix}"


@functools.lru_cache(maxsize=8192)
def parse_reference(value: str) -> ImageRef | None:
    """Parse ``value`` like Docker's ``ParseNormalizedNamed``; ``None`` when it is not a reference."""
    if not value or len(value) > MAX_REFERENCE_LENGTH or not _REFERENCE_CHARS.match(value):
        return None
    from docker_image import digest as _digest
    from docker_image import reference as _reference

    try:
        ref = _reference.Reference.parse_normalized_named(value)
    except (_reference.InvalidReference, _digest.InvalidDigest, TypeError, ValueError):
        return None
    name = ref["name"]
    domain, _, path = name.partition("/")
    if not path:
        return None
    # One identity per registry (Quay.IO is quay.io, registry-1.docker.io is docker.io): two
    # spellings of one image are one source, never a collision.
    from .settings import registry_host

    canonical = registry_host(domain)
    if canonical == "docker.io" and domain != canonical and "/" not in path:
        path = f"library/{path}"  # as Docker names official images on Docker Hub
    return ImageRef(domain=canonical, path=path, tag=ref["tag"], digest=ref["digest"])


def has_explicit_registry(value: str) -> bool:
    """True when ``value`` names its registry itself (``quay.io/x``, ``localhost:5000/x``).

    Docker's rule: the first path component is a registry when it holds a ``.``
    or ``:`` or is ``localhost``.
    """
    first, sep, _ = value.partition("/")
    return bool(sep) and ("." in first or ":" in first or first == "localhost")


def is_qualified_reference(value: str) -> bool:
    """A reference that names its registry and a tag or digest: strong evidence of an image
    even where no key says "image" (``quay.io/strimzi/maven-builder:1.2.0``)."""
    if not has_explicit_registry(value):
        return False
    ref = parse_reference(value)
    return ref is not None and (ref.tag is not None or ref.digest is not None)
