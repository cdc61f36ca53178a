"""The one collision check, keyed on what a registry stores.

A registry keeps a repository's manifests by digest and points tags at them.  So two
images clash when they land on one target repository and one tag (an untagged,
undigested reference is pulled as ``latest``; a ``tag@digest`` reference lands on its
tag) and are not the same image: a different source repository, or the same tag pinned
to two digests.  One would overwrite the other in the mirror and a pod would run the
wrong image.  Digest-only references are stored under their digest, which names their
content: two sources with one digest are one manifest, never a clash.

Post-render (``plan``) and ``images`` (``mirror``) both call ``check``.
"""
from __future__ import annotations

from collections.abc import Iterable

from .errors import CollisionError
from .reference import ImageRef
from .records import record

WAYS_OUT = ("ways out: --exclude one of them (it is then pulled from its source), or give one its own target "
            "repository with an 'overrides' entry in the config file, e.g. 'overrides: {{{source}: {example}}}'")


@record(frozen=True)
class Landing:
    """One source image, the repository it gets below the registry, and where it was first seen."""

    ref: ImageRef
    repository: str
    first_seen: str


def landing_key(ref: ImageRef, repository: str) -> tuple[str, str]:
    """(repository, ``:tag`` or ``@digest``): the name the registry stores the image under."""
    if ref.tag or not ref.digest:
        return repository, f":{ref.tag or 'latest'}"
    return repository, f"@{ref.digest}"


def check(landings: Iterable[Landing], registry: str | None) -> None:
    """Raise one ``CollisionError`` naming every clash, sorted by target."""
    by_key: dict[tuple[str, str], list[Landing]] = {}
    for landing in landings:
        by_key.setdefault(landing_key(landing.ref, landing.repository), []).append(landing)
    problems = [_message(key, group, registry) for key, group in sorted(by_key.items()) if _clash(key, group)]
    if problems:
        raise CollisionError(*problems)


def _clash(key: tuple[str, str], group: list[Landing]) -> bool:
    if key[1].startswith("@"):
        return False  # one digest is one manifest, whichever repository it came from
    names = {landing.ref.name for landing in group}
    digests = {landing.ref.digest for landing in group if landing.ref.digest}
    return len(names) > 1 or len(digests) > 1


def _message(key: tuple[str, str], group: list[Landing], registry: str | None) -> str:
    repository, version = key
    target = f"{registry}/{repository}{version}" if registry else f"{repository}{version} below the registry"
    group = sorted(group, key=lambda landing: landing.ref.normalized)
    names = {landing.ref.name for landing in group}
    why = ("" if len(names) > 1 else
           f" (one tag points at one digest: the pins {', '.join(sorted({str(g.ref.digest) for g in group if g.ref.digest}))} cannot all hold)")
    sources = "; ".join(f"{landing.ref.normalized} (first seen at {landing.first_seen})" for landing in group)
    last = group[-1].ref
    parent, _, leaf = repository.rpartition("/")  # an override keeps the project and the last component
    example = "/".join(p for p in (parent, last.domain.replace(":", "-").lower(), leaf) if p)
    count = "2 different images would both" if len(group) == 2 else f"{len(group)} different images would all"
    return (f"collision: {count} be stored as {target}{why}: {sources}; "
            + WAYS_OUT.format(source=last.name if len(names) > 1 else last.normalized, example=example))
