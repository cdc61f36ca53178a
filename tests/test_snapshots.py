"""Snapshot tests: every fixture stream post-rendered, stored as one readable .yaml per case.

Each snapshot holds the settings, the line diff the tool made, the image list and the
warnings, so a review of a snapshot change reads like a review of the tool's output.
"""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import FIXTURES
from postrender.testing import render

STREAMS = sorted([*FIXTURES.glob("*.yaml"), *FIXTURES.glob("operators/*.yaml"), *FIXTURES.glob("data/*.yaml")])
FOLDER = {"registry": "registry.intern", "folder": "civitas", "pull_secrets": ("regcred",)}
CASES: list[tuple[Path, dict[str, Any]]] = [(path, FOLDER) for path in STREAMS] + [
    (FIXTURES / "civitas-analytics.yaml", {"registry": "harbor.example:8443", "pull_secrets": ("regcred", "backup")}),
    (FIXTURES / "operators" / "unknown-kinds.yaml", {**FOLDER, "rewrite_candidates": True}),
    (FIXTURES / "civitas-analytics.yaml", {**FOLDER, "exclude": ("docker.io/library/busybox", "docker.io/bitnami/**")}),
]


class _LiteralDumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_LiteralDumper.add_representer(str, _str)


def _case_id(case: tuple[Path, dict[str, Any]]) -> str:
    path, settings = case
    extra = [k for k in settings if k not in FOLDER or settings[k] != FOLDER[k]]
    return f"{path.parent.name}-{path.stem}" + (f"-{'-'.join(sorted(extra))}" if extra else "")


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_snapshot(case: tuple[Path, dict[str, Any]], snapshot_yaml: Any) -> None:
    path, settings = case
    source = path.read_text(encoding="utf-8")
    result = render(source, **dict(settings))
    diff = "".join(
        line if line.endswith("\n") else line + "\n"
        for line in difflib.unified_diff(source.splitlines(keepends=True), result.output.splitlines(keepends=True),
                                         "input", "output", n=1)
    )
    images = [
        {"source": img.source, "target": img.target, "rule": sorted({s.rule for s in img.sites}),
         "rewritten": img.rewrite, "at": [f"{s.doc.index} {s.doc.kind}/{s.doc.name} {s.path}" for s in img.sites]}
        for img in result.plan.images
    ]
    document = {
        "fixture": str(path.relative_to(FIXTURES)),
        "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()},
        "images": images,
        "untouched": sorted({f"{s.text} ({'excluded' if s in result.plan.excluded else 'private'})"
                             for s in [*result.plan.excluded, *result.plan.private]}),
        "warnings": result.warnings,
        "diff": diff,
    }
    assert yaml.dump(document, Dumper=_LiteralDumper, sort_keys=False, width=200, allow_unicode=True) == snapshot_yaml


def test_every_rule_has_a_fixture() -> None:
    """Adding an operator is one rule file, one fixture, one snapshot: each rule must be exercised."""
    from postrender.rules import load_rules

    from postrender.pipeline import collect

    rules = load_rules()
    used: set[str] = set()
    for path in STREAMS:
        findings = collect(path.read_text(encoding="utf-8"), rules)
        used |= {site.rule.split(":")[0] for site in findings.sites}  # "rule:heuristic" for data searched by shape
        used |= {secret.rule for secret in findings.secrets}
        used |= set(findings.reported_by)  # rules that report what they cannot rewrite (a chart installed in the cluster)
    unused = {rule.id for rule in rules.rules} - used - {"kubernetes/no-images", "kubernetes/list"}
    assert unused == set(), f"rules no fixture exercises: {sorted(unused)}"

