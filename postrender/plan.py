"""Plan: decide the target of every found image, detect collisions, build the image list.

The plan is a plain value: it can be printed, tested and snapshotted before a
single byte of the stream changes.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import field

from . import collisions
from .errors import ConfigError, InputError
from .finder import Site
from .reference import ImageRef, parse_reference
from .split import part_text
from .settings import MAX_NAME_LENGTH, Settings, registry_host
from .records import record


@record(frozen=True)
class Image:
    """One distinct source image and everywhere it occurs."""

    ref: ImageRef
    target: str
    sites: tuple[Site, ...]
    candidate: bool  # found only under image-like keys of kinds no rule covers
    rewrite: bool  # whether the stream is edited for it
    override: str | None = None  # the target repository an 'overrides' entry gives it

    @property
    def source(self) -> str:
        return self.ref.normalized


@record
class Plan:
    images: list[Image] = field(default_factory=list)
    excluded: list[Site] = field(default_factory=list)
    private: list[Site] = field(default_factory=list)
    candidates_left: list[Site] = field(default_factory=list)

    rewrite_candidates: bool = False
    reemitted: set[tuple[int, int]] = field(default_factory=set)  # (piece, start) of strings written again whole

    @property
    def rewrites(self) -> list[tuple[Site, str]]:
        """(site, new text) for every occurrence to edit: the target, or for one part of a split
        reference (``repository:`` beside ``tag:``) that part of the target."""
        out = []
        for image in self.images:
            target = parse_reference(image.target) if any(site.part for site in image.sites) else None
            for site in image.sites:
                if site.candidate and not self.rewrite_candidates or site.implied and site.insert is None:
                    continue  # a candidate left as is; an implied image with no place to write it (listed only)
                if site.part is None:
                    out.append((site, image.target))
                elif target is not None:
                    out.append((site, part_text(site.part, site.replaced, target)))
        return out


def make_plan(sites: Sequence[Site], settings: Settings, registry: str) -> Plan:
    plan = Plan(rewrite_candidates=settings.rewrite_candidates)
    grouped: dict[str, list[Site]] = {}
    refs: dict[str, ImageRef] = {}
    for site in sites:
        ref = parse_reference(site.text)
        if ref is None:  # finder only keeps parseable values
            continue
        if is_private(ref, registry, settings):
            plan.private.append(site)
        elif is_excluded(ref, settings.exclude):
            plan.excluded.append(site)
        else:
            grouped.setdefault(ref.normalized, []).append(site)
            refs[ref.normalized] = ref
    for source in sorted(grouped):
        group = grouped[source]
        # A candidate place is judged on its own, whether or not the image is also found where
        # a rule or a heuristic is sure: rewritten only with --rewrite-candidates, else reported.
        candidate = all(site.candidate for site in group)
        rewrite = not candidate or settings.rewrite_candidates
        if not settings.rewrite_candidates:
            plan.candidates_left += [site for site in group if site.candidate and not candidate]
        ref = refs[source]
        override = override_for(ref, settings.overrides)
        plan.images.append(Image(ref, ref.at(registry, settings.folder, override), tuple(group), candidate, rewrite, override))
        if candidate and not rewrite:
            plan.candidates_left += group
    _check_name_lengths(plan.images)
    _check_collisions(plan.images, registry, settings.folder)
    return plan


def is_private(ref: ImageRef, registry: str, settings: Settings | None = None) -> bool:
    """Already served by the private registry: never rewritten, so a second run changes nothing.

    Its host is the registry's (``registry_host``: case, default ports, Docker Hub's aliases)
    and, in folder mode, its path lies below the folder or is a repository an override names:
    ``registry.intern/bitnami/redis`` is not where ``--folder civitas`` mirrors anything.
    """
    if not registry or registry_host(ref.domain) != registry_host(registry):
        return False
    if settings is None or not settings.folder or ref.path.startswith(settings.folder + "/"):
        return True
    return any(ref.path == repository for _, repository in settings.overrides)


def outside_folder(ref: ImageRef, registry: str, settings: Settings) -> bool:
    """On the private registry's host, but not below the folder: reported with its target."""
    return bool(registry) and registry_host(ref.domain) == registry_host(registry) and not is_private(ref, registry, settings)


def folder_warnings(plan: Plan, registry: str, settings: Settings) -> list[str]:
    """Images on the registry's host but outside the folder: rewritten like any public image,
    and said so, because the chart (or a values overlay) pointed them at a path nothing mirrors."""
    return [f"{image.sites[0].doc.where(image.sites[0].node, image.sites[0].path)}: {image.ref.normalized} is on "
            f"{registry} but outside the folder {settings.folder}, where the mirror puts nothing: "
            f"{'rewritten to' if image.rewrite else 'it should be'} {image.target}"
            for image in plan.images if outside_folder(image.ref, registry, settings)]


def exclude_warnings(plan: Plan, settings: Settings) -> list[str]:
    """--exclude patterns that matched none of the stream's images."""
    if not settings.exclude:
        return []
    refs = (parse_reference(site.text) for site in [*plan.excluded, *plan.private])
    return unmatched_excludes(settings.exclude, (ref for ref in refs if ref is not None))


def _check_name_lengths(images: Sequence[Image]) -> None:
    """Docker refuses a repository name over 255 characters: fail now, not at the pull."""
    problems = [f"{image.sites[0].doc.where(image.sites[0].node, image.sites[0].path)}: {image.ref.normalized} would become "
                f"a name of {len(image.target) - len(image.ref.suffix)} characters, over Docker's limit of {MAX_NAME_LENGTH}: "
                "use a shorter --folder (or an override)"
                for image in images if image.rewrite and len(image.target) - len(image.ref.suffix) > MAX_NAME_LENGTH]
    if problems:
        raise InputError(*problems)


def is_excluded(ref: ImageRef, patterns: Sequence[str]) -> bool:
    """Whether a glob matches the reference's name or its name with tag/digest, both normalised
    as ``exclude_pattern`` normalises the patterns."""
    name = f"{registry_host(ref.domain)}/{ref.path}"
    return any(_glob(p).match(name) or _glob(p).match(name + ref.suffix) for p in map(exclude_pattern, patterns))


@functools.lru_cache(maxsize=256)
def exclude_pattern(pattern: str) -> str:
    """A pattern as users write it, normalised as a reference is: ``busybox`` is
    ``docker.io/library/busybox``, ``bitnami/*`` is ``docker.io/bitnami/*``, a registry host is
    compared as ``registry_host`` compares it.  A pattern starting with a wildcard is kept."""
    first, sep, rest = pattern.partition("/")
    if not pattern or first.startswith(("*", "?")):
        return pattern
    if sep and ("." in first or ":" in first or first == "localhost"):
        return f"{registry_host(first)}/{rest}"
    return f"docker.io/{pattern}" if sep else f"docker.io/library/{pattern}"


def unmatched_excludes(patterns: Sequence[str], refs: Iterable[ImageRef]) -> list[str]:
    """The --exclude patterns no image matched: a typo or a short form that means something else."""
    left = list(dict.fromkeys(patterns))
    for ref in refs:
        left = [p for p in left if not is_excluded(ref, (p,))]
        if not left:
            break
    return [f"--exclude {p!r} matched no image (compared as {exclude_pattern(p)!r} with names such as "
            "docker.io/library/busybox:1.36)" for p in left]


def override_for(ref: ImageRef, overrides: Sequence[tuple[str, str]]) -> str | None:
    """The target repository the first matching override gives ``ref`` (the --exclude glob)."""
    for pattern, repository in overrides:
        if is_excluded(ref, (pattern,)):
            leaf = ref.path.rpartition("/")[2]
            if repository.rpartition("/")[2] != leaf:
                raise ConfigError(
                    f"override {pattern!r}: {ref.normalized} would be stored as {repository}, but Harbor replication "
                    f"and skopeo sync keep an image's last path component: end the target with '/{leaf}'")
            return repository
    return None


@functools.lru_cache(maxsize=256)
def _glob(pattern: str) -> Glob:
    """``*`` within one path segment, ``**`` across segments, ``?`` one character."""
    return Glob(pattern)


class Glob:
    """A glob matched in time linear in the name (a regular expression backtracks
    exponentially on ``**a*a*a*...b``): the set of pattern positions reached so far is one
    integer, bit i set when the first i tokens match what was read."""

    def __init__(self, pattern: str) -> None:
        self.literal: dict[str, int] = {}  # character -> tokens that match it
        self.one = self.star = self.any = 0  # tokens "?", "*", "**"
        position = 0
        index = 0
        while index < len(pattern):
            bit = 1 << position
            if pattern.startswith("**", index):
                self.any |= bit
                index += 2
            elif pattern[index] in "*?":
                if pattern[index] == "*":
                    self.star |= bit
                else:
                    self.one |= bit
                index += 1
            else:
                self.literal[pattern[index]] = self.literal.get(pattern[index], 0) | bit
                index += 1
            position += 1
        self.final = 1 << position

    def _closure(self, states: int) -> int:
        """Stars may match nothing: a state at a star reaches the token after it too."""
        while True:
            reached = states | ((states & (self.star | self.any)) << 1)
            if reached == states:
                return states
            states = reached

    def match(self, name: str) -> bool:
        states = self._closure(1)
        for char in name:
            step = self.literal.get(char, 0)
            stay = self.any
            if char != "/":
                step |= self.one
                stay |= self.star
            states = self._closure(((states & step) << 1) | (states & stay))
            if not states:
                return False
        return bool(states & self.final)


def _check_collisions(images: Sequence[Image], registry: str, folder: str | None) -> None:
    """Only images the stream is edited for land on the registry."""
    collisions.check((collisions.Landing(image.ref, image.ref.repository_at(folder, image.override),
                                         str(image.sites[0].doc.where(image.sites[0].node, image.sites[0].path)))
                      for image in images if image.rewrite), registry or None)
