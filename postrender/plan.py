"""Plan: decide the target of every found image, detect collisions, build the image list.

The plan is a plain value: it can be printed, tested and snapshotted before a
single byte of the stream changes.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .errors import CollisionError
from .finder import Site
from .reference import ImageRef, parse_reference
from .settings import Settings


@dataclass(frozen=True)
class Image:
    """One distinct source image and everywhere it occurs."""

    ref: ImageRef
    target: str
    sites: tuple[Site, ...]
    candidate: bool  # found only under image-like keys of kinds no rule covers
    rewrite: bool  # whether the stream is edited for it

    @property
    def source(self) -> str:
        return self.ref.normalized


@dataclass
class Plan:
    images: list[Image] = field(default_factory=list)
    excluded: list[Site] = field(default_factory=list)
    private: list[Site] = field(default_factory=list)
    candidates_left: list[Site] = field(default_factory=list)

    @property
    def rewrites(self) -> list[tuple[Site, str]]:
        """(site, new text) for every occurrence to edit."""
        return [(site, image.target) for image in self.images if image.rewrite for site in image.sites]


def make_plan(sites: Sequence[Site], settings: Settings, registry: str) -> Plan:
    plan = Plan()
    grouped: dict[str, list[Site]] = {}
    refs: dict[str, ImageRef] = {}
    for site in sites:
        ref = parse_reference(site.text)
        if ref is None:  # finder only keeps parseable values
            continue
        if is_private(ref, registry):
            plan.private.append(site)
        elif is_excluded(ref, settings.exclude):
            plan.excluded.append(site)
        else:
            grouped.setdefault(ref.normalized, []).append(site)
            refs[ref.normalized] = ref
    for source in sorted(grouped):
        group = grouped[source]
        candidate = all(site.candidate for site in group)
        rewrite = not candidate or settings.rewrite_candidates
        ref = refs[source]
        plan.images.append(Image(ref, ref.at(registry, settings.folder), tuple(group), candidate, rewrite))
        if candidate and not rewrite:
            plan.candidates_left += group
    _check_collisions(plan.images)
    return plan


def is_private(ref: ImageRef, registry: str) -> bool:
    """Already served by the private registry: never rewritten, so a second run changes nothing."""
    return ref.domain == registry


def is_excluded(ref: ImageRef, patterns: Sequence[str]) -> bool:
    return any(_glob(p).match(ref.name) or _glob(p).match(ref.normalized) for p in patterns)


@functools.lru_cache(maxsize=256)
def _glob(pattern: str) -> re.Pattern[str]:
    """``*`` within one path segment, ``**`` across segments, ``?`` one character."""
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            parts.append(".*")
            i += 2
        elif pattern[i] == "*":
            parts.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            parts.append("[^/]")
            i += 1
        else:
            parts.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(parts) + r"\Z")


def _check_collisions(images: Sequence[Image]) -> None:
    by_target: dict[str, list[Image]] = {}
    for image in images:
        if image.rewrite:
            by_target.setdefault(image.target, []).append(image)
    problems = []
    for target, clashing in sorted(by_target.items()):
        if len(clashing) > 1:
            sources = "; ".join(f"{img.source} (first at {img.sites[0].doc.where(img.sites[0].node, img.sites[0].path)})" for img in clashing)
            problems.append(f"collision: {len(clashing)} different images would all become {target}: {sources}")
    if problems:
        raise CollisionError(*problems)
