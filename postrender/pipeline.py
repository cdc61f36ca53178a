"""The post-render pipeline, start to end, as one pure function of text and settings.

stream -> documents -> rule matching -> image sites -> plan -> text edits -> output
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from .documents import Stream, documents
from .errors import InputError
from .finder import Findings, find
from .imagelist import image_list
from .plan import Plan, make_plan
from .pullsecrets import secret_edits
from .rules import RuleSet, load_rules
from .settings import Settings
from .splice import Edit, apply, scalar_edits

EMPTY_OUTPUT = "# civitas-postrender: the input stream held no documents\n"


@dataclass
class Result:
    output: str
    plan: Plan
    findings: Findings
    warnings: list[str] = field(default_factory=list)

    def image_list(self, settings: Settings) -> dict[str, Any]:
        return image_list(self.plan, settings.registry, settings.folder)


def collect(text: str, rules: RuleSet) -> Findings:
    """Every image site and pod spec in the stream (nothing is changed)."""
    findings = Findings()
    for root, ctx in documents(text):
        if ctx.kind is None:
            raise InputError(f"{ctx.where(root)}: the document has no 'kind'; it is not a Kubernetes object")
        find(root, ctx, rules, findings, text=text)
    return findings


def post_render(stream: Stream, settings: Settings, rules: RuleSet | None = None) -> Result:
    registry = settings.require_registry()
    rules = rules if rules is not None else load_rules(settings.rules)
    text = stream.text
    findings = collect(text, rules)
    plan = make_plan(findings.sites, settings, registry)
    unruled = [f"{s.doc.where(s.node, s.path)}: {s.text!r} looks like an image in a kind no rule covers; "
               "left as is (add a rule, or use --rewrite-candidates)" for s in plan.candidates_left]
    if settings.strict and (findings.not_references or unruled):
        raise InputError(*(f"strict: {p}" for p in findings.not_references + unruled))
    warnings = findings.warnings + findings.not_references + unruled
    edits = _image_edits(text, plan) + secret_edits(text, findings.secrets, settings.pull_secrets, warnings)
    if not text.strip():
        return Result(EMPTY_OUTPUT, plan, findings, warnings)
    return Result(stream.bom + apply(text, edits), plan, findings, warnings)


def _image_edits(text: str, plan: Plan) -> list[Edit]:
    by_node: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    nodes = {}
    for site, target in plan.rewrites:
        by_node[id(site.node)].append((site.offset, site.text, target))
        nodes[id(site.node)] = site.node
    edits: list[Edit] = []
    for key, replacements in by_node.items():
        edits += scalar_edits(text, nodes[key], replacements)
    return edits
