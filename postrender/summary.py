"""The one-line run summary: what was rewritten where, and what was left behind.

Printed on every run (stderr and the log file) so a user sees at a glance when a
reference was left public, without reading every warning.
"""
from __future__ import annotations

from .finder import Findings
from .plan import Plan

# Image-list locations, grouped as people think of them (first match wins).
CATEGORIES: tuple[tuple[str, frozenset[str]], ...] = (
    ("pod specs", frozenset({"container"})),
    ("custom resources", frozenset({"cr-field", "cr-container", "crd-schema-default", "candidate", "unclaimed"})),
    ("env/args", frozenset({"env", "args"})),
    ("data", frozenset({"config"})),
    ("split", frozenset({"split"})),
    ("embedded", frozenset({"embedded"})),
    ("implied", frozenset({"implied"})),
)


def category(location: str) -> str:
    return next((name for name, locations in CATEGORIES if location in locations), "other")


def summary(plan: Plan, findings: Findings) -> str:
    rewrites = plan.rewrites
    by_category: dict[str, int] = {}
    for site, _ in rewrites:
        name = category(site.location)
        by_category[name] = by_category.get(name, 0) + 1
    images = len({site.text for site, _ in rewrites})
    order = [name for name, _ in CATEGORIES] + ["other"]
    places = ", ".join(f"{name} {by_category[name]}" for name in order if by_category.get(name))
    parts = [f"{_count(images, 'image')} rewritten at {_count(len(rewrites), 'place')}" + (f" ({places})" if places else "")]
    if findings.registry_settings:
        parts.append(f"{_count(len(findings.registry_settings), 'registry setting')} found")
    parts.append(f"{_count(len(plan.candidates_left), 'candidate')} left as is")
    installs = len(findings.installs_left)
    parts.append(f"{_count(len(findings.left_public) - installs, 'reference-shaped value')} that cannot be rewritten")
    if installs or findings.installs_mirrored:  # charts and manifests a controller installs in the cluster
        parts.append(f"{_count(installs, 'install')} in the cluster left public"
                     + (f" ({len(findings.installs_mirrored)} more marked mirrored)" if findings.installs_mirrored else ""))
    parts.append(f"{_count(len(findings.not_references), 'image field')} holding no reference")
    parts.append(f"{len(plan.excluded)} excluded, {len(plan.private)} already private")
    return "; ".join(parts)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
