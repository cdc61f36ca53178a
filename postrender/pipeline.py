"""The post-render pipeline, start to end, as one pure function of text and settings.

stream -> documents -> rule matching -> image sites -> plan -> text edits -> output
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .documents import Stream, documents
from .errors import InputError
from .finder import Findings, Site, find
from .plan import Plan, make_plan
from .pullsecrets import secret_edits
from .rules import RuleSet, load_rules
from .settings import Settings
from .splice import Edit, OverlappingEdits, in_order, pieces, render_value, scalar_edits

EMPTY_OUTPUT = "# civitas-postrender: the input stream held no documents\n"


@dataclass
class Result:
    text: str  # the input text (no BOM)
    bom: str
    edits: list[Edit]
    plan: Plan
    findings: Findings
    warnings: list[str] = field(default_factory=list)

    def chunks(self) -> Iterator[str]:
        """The output stream in pieces (the whole output is never held twice)."""
        if not self.text or self.text.isspace():  # (strip() would copy a large stream)
            yield EMPTY_OUTPUT  # Helm 4 rejects an empty post-renderer output
            return
        yield self.bom
        yield from pieces(self.text, self.edits)

    @property
    def output(self) -> str:
        return "".join(self.chunks())

    def image_list(self, settings: Settings) -> dict[str, Any]:
        from .imagelist import image_list  # only with --images-out: json and tempfile cost start-up time

        return image_list(self.plan, settings.registry, settings.folder)


def collect(text: str, rules: RuleSet, data: bytes | None = None, *,
            pull_secrets: Sequence[str] = (), keep_secret_sites: bool = True) -> Findings:
    """Every image site and pod spec in the stream (nothing is changed).

    With ``pull_secrets`` the pull-secret edits are made document by document; without
    ``keep_secret_sites`` each pod spec's node tree can then go (memory: a pod spec holds
    its whole subtree, and a 100 MB stream holds tens of thousands of them).
    """
    findings = Findings()
    for root, ctx in documents(text, data):
        if ctx.kind is None:
            raise InputError(f"{ctx.where(root)}: the document has no 'kind'; it is not a Kubernetes object")
        first = len(findings.secrets)
        find(root, ctx, rules, findings, text=text)
        if pull_secrets:
            findings.secret_edits += secret_edits(text, findings.secrets[first:], pull_secrets, findings.warnings)
        if not keep_secret_sites:
            del findings.secrets[first:]
    return findings


def post_render(stream: Stream, settings: Settings, rules: RuleSet | None = None) -> Result:
    registry = settings.require_registry()
    rules = rules if rules is not None else load_rules(settings.rules)
    text = stream.text
    findings = collect(text, rules, stream.data, pull_secrets=settings.pull_secrets, keep_secret_sites=False)
    stream.data = None  # parsed: let the raw bytes go before the output is built
    plan = make_plan(findings.sites, settings, registry)
    unruled = [f"{s.doc.where(s.node, s.path)}: {s.text!r} looks like an image in a kind no rule covers; "
               "left as is (add a rule, or use --rewrite-candidates)" for s in plan.candidates_left]
    if settings.strict and (findings.not_references or unruled):
        raise InputError(*(f"strict: {p}" for p in findings.not_references + unruled))
    warnings = findings.warnings + findings.not_references + unruled
    edits = _image_edits(text, plan) + findings.secret_edits
    ordered = in_order(edits)
    for before, after in zip(ordered, ordered[1:]):
        if after.start < before.end:  # checked now, so a bug never shows up half-way through writing
            raise OverlappingEdits(f"edits overlap at character {after.start}")
    return Result(text, stream.bom, ordered, plan, findings, warnings)


def _image_edits(text: str, plan: Plan) -> list[Edit]:
    """Edit each scalar where it is written; where a node is reached only through aliases
    (``image: *ref`` anchored on some other value), replace the alias tokens instead."""
    sites_by_node: dict[tuple[int, int], list[tuple[Site, str]]] = defaultdict(list)
    for site, target in plan.rewrites:
        sites_by_node[site.node.span].append((site, target))  # one node, reached once or through aliases
    edits: list[Edit] = []
    for group in sites_by_node.values():
        node = group[0][0].node
        replacements = [(site.offset, site.text, target) for site, target in group]
        if any(site.alias is None for site, _ in group):
            edits += scalar_edits(text, node, replacements)
            continue
        rendered = render_value(node.value, replacements)
        edits += {Edit(*site.alias, rendered) for site, _ in group if site.alias is not None}
    return edits
