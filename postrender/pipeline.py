"""The post-render pipeline, start to end, as one pure function of text and settings.

stream -> documents -> rule matching -> image sites -> plan -> text edits -> output
"""
from __future__ import annotations

import functools
from itertools import groupby
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import field, replace
from typing import Any

from . import liststream
from .bounds import PIECE_BYTES, SECRET_BYTES, BoundedList, Budget
from .documents import (Piece, Stream, collector_paused, decode_text, documents, loader_for, piece_where,
                        resolve_document_merges, split)
from .errors import InputError, PostrenderError, Where
from .finder import DocContext, EmbeddedObject, Findings, SecretSite, Site, find, item_context
from .nodes import MappingNode, Node, Scalar, cut_to
from .plan import Plan, is_private, make_plan
from .prescan import TopLines, rules_that_may_skip, text_holds_nothing, unsure_past_top_lines
from .reference import parse_reference
from .pullsecrets import secret_edits
from .rules import Rule, RuleSet, load_rules
from .selfcheck import check_edited
from .settings import Settings
from .splice import Edit, OverlappingEdits, in_order, joined_in_empty_flow_mappings, pieces, render_value, scalar_edits
from .implied import resolve as resolve_implied
from .validation import Validation
from .value_edits import edit_value
from .records import record

EMPTY_OUTPUT = "# civitas-postrender: the input stream held no documents\n"


@record
class Result:
    data: bytes  # the input (no BOM)
    bom: str
    pieces: list[Piece]  # the stream's documents; those with edits keep their text
    plan: Plan
    findings: Findings
    warnings: list[str] = field(default_factory=list)

    def chunks(self) -> Iterator[bytes]:
        """The output stream in pieces: unchanged documents as the very input bytes, the
        others spliced (the whole output is never held twice)."""
        if not self.data or self.data.isspace():
            yield EMPTY_OUTPUT.encode()  # Helm 4 rejects an empty post-renderer output
            return
        yield self.bom.encode()
        view = memoryview(self.data)
        for piece in self.pieces:
            if piece.edits:
                assert piece.text is not None
                for chunk in pieces(piece.text, piece.edits):
                    yield chunk.encode("utf-8")
            else:
                yield bytes(view[piece.start:piece.end])

    @property
    def output(self) -> str:
        return b"".join(self.chunks()).decode("utf-8")

    def image_list(self, settings: Settings) -> dict[str, Any]:
        from .imagelist import image_list  # only with --images-out: json and tempfile cost start-up time

        return image_list(self.plan, settings.registry, settings.folder)


def collect(text: str, rules: RuleSet, data: bytes | None = None, *, keep_secret_sites: bool = True) -> Findings:
    """Every image site and pod spec in the stream (nothing is changed).

    Without ``keep_secret_sites`` each pod spec's node tree can go as soon as its document
    is read (memory: a pod spec holds its whole subtree).
    """
    findings = Findings()
    for root, ctx in documents(text, data):
        first = len(findings.secrets)
        _find(root, ctx, rules, findings, text)
        if not keep_secret_sites:
            del findings.secrets[first:]
    resolve_implied(findings)
    return findings


def _find(root: Node, ctx: DocContext, rules: RuleSet, findings: Findings, text: str) -> None:
    if ctx.kind is None:
        raise InputError(f"{ctx.where(root)}: the document has no 'kind'; it is not a Kubernetes object")
    find(root, ctx, rules, findings, text=text)


def post_render(stream: Stream, settings: Settings, rules: RuleSet | None = None) -> Result:
    registry = settings.require_registry()
    rules = rules if rules is not None else load_rules(settings.rules)
    budget = Budget.for_input(stream.data)
    findings, parts = read_stream(stream.data, rules, settings.pull_secrets, service_accounts=settings.service_account_pull_secrets,
                                  budget=budget)
    plan = make_plan(findings.sites, settings, registry)
    warnings = checked_warnings(findings, plan, settings, "left as is")
    prefixes = registry_rewrites(findings, registry, settings.folder)
    if prefixes and settings.overrides:
        warnings += [f"{site.where()}: registry setting {site.text!r} rewritten to {new!r}: images an override moves elsewhere "
                     "are not found there; name them explicitly" for site, new in prefixes]
    warnings += _add_image_edits(parts, plan, findings, settings.pull_secrets, prefixes)
    for piece in parts:
        assert piece.text is not None or not piece.edits
        piece.edits = joined_in_empty_flow_mappings(piece.text or "", in_order(piece.edits))
        for before, after in zip(piece.edits, piece.edits[1:]):
            if after.start < before.end:  # checked now, so a bug never shows up half-way through writing
                raise OverlappingEdits(f"edits overlap at character {after.start} of document {piece.index}")
        if not piece.edits:
            piece.text = None
    largest = max((sys.getsizeof(piece.text) for piece in parts if piece.text is not None), default=0)
    budget.hold(2 * largest, "checking the largest edited document (read whole, twice)")
    check_edited(parts)  # every edited document still parses, or exit 3 with nothing written
    return Result(stream.data, stream.bom, parts, plan, findings, warnings)


def checked_warnings(findings: Findings, plan: Plan, settings: Settings, outcome: str) -> list[str]:
    """Everything to warn about; with --strict, values that look like images but are not
    rewritten (non-references, unruled candidates) are errors instead."""
    unruled = [f"{s.where()}: {s.text!r} looks like an image{_where_candidate(s)}; "
               f"{outcome} (add a rule, or use --rewrite-candidates)" for s in plan.candidates_left]
    problems = findings.not_references + findings.left_public + unruled
    if settings.strict and problems:
        raise InputError(*(f"strict: {p}" for p in problems))
    return findings.warnings + problems


def _where_candidate(site: Site) -> str:
    if site.rule.endswith(("/text", ":text")):
        return " in free text"
    if site.location == "candidate":
        return " in a kind no rule covers"
    if site.location == "unclaimed":
        return f" in a field the rules for {site.doc.kind} do not name"
    return ""


SERVICE_ACCOUNT_RULE = "kubernetes/service-account"


def read_stream(data: bytes, rules: RuleSet, pull_secrets: Sequence[str] = (), *,
                keep_text: bool = True, service_accounts: bool = True, keep_secret_sites: bool = False,
                budget: Budget | None = None) -> tuple[Findings, list[Piece]]:
    """Read the stream one document at a time: its text is decoded, parsed, matched, given its
    pull-secret edits, and kept only if it will be edited (memory: see ``Stream``).  Documents
    that cannot hold images (told by their text first, ``read_or_check``) are only checked to be
    valid YAML, in a child process when there is much to check (validation.py), the first error
    in stream order reported either way.  ``keep_secret_sites``: pod specs stay in the
    findings (``check`` judges them), cut down to their pull-secret fields.  A large List is read
    one item at a time (liststream.py).  What is kept counts against the memory bound (``budget``,
    see bounds.py); a document too large for it is refused before it is composed."""
    findings = Findings()
    budget = budget if budget is not None else Budget.for_input(data)
    findings.sites = BoundedList(budget)
    parts = split(data)
    budget.hold(len(parts) * PIECE_BYTES, f"the stream's {len(parts):,} documents")
    read, stop = read_or_check(data, parts, rules)
    validation = Validation(data, parts, [number for number, reading in enumerate(read) if not reading])
    reader = _Reader(data, rules, findings, budget, pull_secrets, keep_text, service_accounts, keep_secret_sites)
    failure: Exception | None = None
    at = 0  # the piece being read: an error there comes after any the validation finds before it
    try:
        with collector_paused():
            for at, piece in enumerate(parts[:len(read)]):
                if not read[at]:
                    validation.here(at)
                    continue
                reader.read(piece, at)
            at = len(read)
        failure = validation.first_error() or stop
    except Exception as exc:  # (a bug too: an invalid document before it is still what is reported, as before)
        failure = validation.first_error(before=at) or exc
    finally:
        validation.close()
    if failure is not None:
        raise failure
    resolve_implied(findings)
    return findings, parts


def read_or_check(data: bytes, parts: list[Piece], rules: RuleSet) -> tuple[list[bool], PostrenderError | None]:
    """For each piece, whether it is read (composed and matched) or only checked to be valid
    YAML, decided on its kind (from ``split``) and, where that allows a check, its text.  A piece
    checked on its text that is not UTF-8 stops the list there, with its error (the pieces before
    it are still read and checked: the first error in stream order is reported; a piece that is
    read is decoded, and so told, in its turn)."""
    whole = len(parts) == 1
    view = memoryview(data)
    read: list[bool] = []
    for piece in parts:
        matched = None if whole or piece.empty else rules_that_may_skip(rules, piece.top)
        if matched is None and not piece.empty:
            read.append(True)  # its kind says so: decoded when it is read
            continue
        try:
            text = decode_text(view[piece.start:piece.end], piece.index, piece.line)
        except InputError as exc:
            return read, exc
        read.append(matched is not None and not text_holds_nothing(text, matched))
    return read, None


@record
class _Reader:
    """What reading the stream's pieces one after another shares."""

    data: bytes
    rules: RuleSet
    findings: Findings
    budget: Budget
    pull_secrets: Sequence[str]
    keep_text: bool
    service_accounts: bool
    keep_secret_sites: bool

    def read(self, piece: Piece, number: int) -> None:
        """Compose and match one piece; keep its text if it will be edited."""
        raw = self.data[piece.start:piece.end]
        text = decode_text(raw, piece.index, piece.line)
        findings, budget = self.findings, self.budget
        first_site, first_secret, first_embedded = len(findings.sites), len(findings.secrets), len(findings.embedded)
        first_implied, first_setting = len(findings.implied), len(findings.registry_settings)
        where_of = functools.partial(piece_where, text, piece)
        pod_specs = PodSpecs(self.pull_secrets, self.service_accounts, self.keep_secret_sites, budget, where_of)
        items = list_layout(text, raw, self.rules)
        if items is not None:  # a large List: one item's nodes at a time
            piece.edits += _read_list(text, items, piece, number, self.rules, findings, budget, pod_specs)
        else:
            budget.check_document(text, raw, functools.partial(piece_where, text, piece, raw))  # before any node is built
            for root, ctx in documents(text, raw, first_index=piece.index, line_offset=piece.line, piece=number):
                _find(root, ctx, self.rules, findings, text)
            piece.edits += pod_specs.settle(text, findings, first_secret, findings.warnings)
        budget.keep_sites(where_of)
        if self.keep_text and (piece.edits or len(findings.sites) > first_site or len(findings.embedded) > first_embedded
                               or len(findings.implied) > first_implied or len(findings.registry_settings) > first_setting):
            piece.text = text
            budget.hold(sys.getsizeof(text), "the documents to edit", lambda: piece_where(text, piece))


@record
class PodSpecs:
    """What becomes of the pod specs a document's reading found: their pull-secret edits, then
    either nothing (their trees can go) or, for ``check``, their pull-secret fields."""

    pull_secrets: Sequence[str]
    service_accounts: bool
    keep: bool
    budget: Budget
    where_of: Callable[[], Where]

    def settle(self, text: str, findings: Findings, first: int, warnings: list[str], shift: int = 0) -> list[Edit]:
        edits: list[Edit] = []
        if self.pull_secrets:
            sites = [s for s in findings.secrets[first:] if self.service_accounts or s.rule != SERVICE_ACCOUNT_RULE]
            edits = [Edit(e.start + shift, e.end + shift, e.text) for e in secret_edits(text, sites, self.pull_secrets, warnings)]
        if not self.keep:
            del findings.secrets[first:]  # the pod-spec trees can go
        else:
            kept = cut_to_secret_fields(findings.secrets, first)
            self.budget.hold(kept * SECRET_BYTES, "the pod specs checked for pull secrets", self.where_of)
        return edits


def list_layout(text: str, raw: bytes, rules: RuleSet) -> liststream.Layout | None:
    """The items of a large List read one at a time, when reading them so finds what reading the
    whole document would: the List's rules only read its items, nothing else names its kind."""
    if len(text) < liststream.STREAM_FROM:
        return None
    json_list = liststream.json_layout(text) if "{" in text[:4096] else None
    if json_list is not None:
        found, kind, version = json_list
    else:
        named = TopLines.of(raw).named()
        if named is None or unsure_past_top_lines(text):
            return None
        found, (version, kind) = None, named
    if kind is None or version is None:  # (aliases: refused above in YAML; JSON has none)
        return None
    group = version.rpartition("/")[0]
    matched = rules.for_kind(version, kind)
    if not matched or ("." in group and not group.endswith(".k8s.io")):
        return None  # a custom resource is swept whole
    if not all([path.text for path in rule.items] == ["$.items[*]"] and not _reads_more(rule) for rule in matched):
        return None
    found = found or liststream.layout(text)
    return found if found is not None and liststream.proven(raw, text, found) else None


def _reads_more(rule: Rule) -> bool:
    return any((rule.pod_specs, rule.containers, rule.images, rule.named_values, rule.pull_secrets, rule.data,
                rule.implied, rule.split, rule.versions_or_images, rule.listed, rule.schema_defaults))


def _read_list(text: str, found: liststream.Layout, piece: Piece, number: int, rules: RuleSet, findings: Findings,
               budget: Budget, pod_specs: PodSpecs) -> list[Edit]:
    """Find in each item of a List as ``find`` does through the List rule (same paths, contexts
    and order: the items, then the List's own annotations), composing one item at a time."""
    ((root, ctx),) = documents(text, found.blanked(text), first_index=piece.index, line_offset=piece.line, piece=number)
    edits: list[Edit] = []
    secret_warnings: list[str] = []
    line, counted = piece.line, 0
    for index, (item, own, masked) in enumerate(found.item_texts(text)):
        line += text.count("\n", counted, item.start)
        counted = item.start
        def item_where(*_: object) -> Where:
            return Where(document=piece.index, template=ctx.template, kind=ctx.kind, name=ctx.name, line=line + 1,
                         path=f"items[{index}]")  # (called at once, in this iteration)

        budget.check_document(masked, None, item_where)
        node = _compose_item(masked, piece.index, ctx.template, line)
        if not isinstance(node, MappingNode):
            continue  # the List rule reads mappings only
        first = _Marks.of(findings)
        first_secret = len(findings.secrets)
        find(node, item_context(node, ctx, line), rules, findings, ("items", index), own)
        first.shift(findings, item.start)
        edits += pod_specs.settle(own, findings, first_secret, secret_warnings, item.start)
        budget.keep_sites(item_where)
        del node
    _find(root, ctx, rules, findings, text)  # (the text tells find where it need not look: any superset will do)
    findings.warnings += secret_warnings
    return edits


def _compose_item(masked: str, index: int, template: str | None, line: int) -> Node:
    loader = loader_for(masked)
    try:
        node: Node = loader.get_single_node()
    except RecursionError:
        raise InputError(f"{Where(document=index, template=template)}: nesting is too deep to process") from None
    finally:
        loader.dispose()
    if "<<" in masked:
        resolve_document_merges(node, masked, index, template, line)
    return node


@record
class _Marks:
    """How long each list of findings with positions was before an item was read."""

    sites: int
    settings: int
    embedded: int
    implied: int
    claimed: int

    @classmethod
    def of(cls, findings: Findings) -> _Marks:
        return cls(len(findings.sites), len(findings.registry_settings), len(findings.embedded), len(findings.implied),
                   len(findings.claimed))

    def shift(self, findings: Findings, by: int) -> None:
        """Positions in the item's text become positions in its document's text."""
        def moved(node: Scalar) -> Scalar:
            return replace(node, start=node.start + by, end=node.end + by)
        for sites, first in ((findings.sites, self.sites), (findings.registry_settings, self.settings)):
            for i in range(first, len(sites)):
                sites[i] = replace(sites[i], node=moved(sites[i].node))
        for i in range(self.embedded, len(findings.embedded)):
            findings.embedded[i] = replace(findings.embedded[i], node=moved(findings.embedded[i].node))
        for i in range(self.implied, len(findings.implied)):
            findings.implied[i] = replace(findings.implied[i], node=moved(findings.implied[i].node))
        findings.claimed[self.claimed:] = [start + by for start in findings.claimed[self.claimed:]]


def cut_to_secret_fields(secrets: list[SecretSite], first: int) -> int:
    """Cut each pod spec from ``first`` on down to its pull-secret fields (``check`` judges only
    those; the whole tree would be kept for every document).  One pod spec named by two rules
    stays one object (``check`` judges it once).  Returns how many cut pod specs are kept."""
    fields: dict[int, list[tuple[str, ...]]] = {}
    for site in secrets[first:]:
        fields.setdefault(id(site.anchor), []).append(site.field)
    cut: dict[int, MappingNode] = {}
    for index in range(first, len(secrets)):
        site = secrets[index]
        key = id(site.anchor)
        if key not in cut:
            cut[key] = cut_to(site.anchor, fields[key])
        secrets[index] = replace(site, anchor=cut[key])
    return len(cut)


def registry_rewrites(findings: Findings, registry: str, folder: str | None) -> list[tuple[Site, str]]:
    """Registry settings an operator prefixes images with, each as the prefix under which the
    mirror stores what it prefixes (``docker.elastic.co`` -> ``registry.intern/civitas``)."""
    out = []
    for site in findings.registry_settings:
        new = prefix_target(site.text, registry, folder)
        if new is not None and new != site.text:
            out.append((site, new))
    return out


def prefix_target(prefix: str, registry: str, folder: str | None) -> str | None:
    probe = "/probe/probe:1"  # two components: Docker Hub's library/ is not added
    ref = parse_reference(prefix + probe)
    if ref is None or is_private(ref, registry):
        return None
    target = ref.at(registry, folder)
    return target[:-len(probe)] if target.endswith(probe) else None


def _add_image_edits(parts: list[Piece], plan: Plan, findings: Findings, pull_secrets: Sequence[str],
                     settings_rewrites: Sequence[tuple[Site, str]] = ()) -> list[str]:
    """Edit each scalar where it is written; where a node is reached only through aliases
    (``image: *ref`` anchored on some other value), replace the alias tokens instead.  Strings
    whose value is edited inside (data, embedded configs, Secret base64) go through
    ``value_edits``.  Returns warnings (a string that had to be written again whole)."""
    warnings: list[str] = []
    inserts = _embedded_secret_edits(findings, pull_secrets, warnings)
    for site, target in [*plan.rewrites, *settings_rewrites]:
        if site.insert is not None:  # an implied image (or registry) made explicit
            parts[site.doc.piece].edits.append(Edit(site.node.start, site.node.start, site.insert.replace("\0", target)))
    # Sorted, then grouped: one node may hold several images (a version=image list) or be
    # reached through aliases.  (A list sorts in place; a dict of lists would cost far more.)
    rewrites = sorted(((site.doc.piece, site.node.start, site.node.end, site.offset, site, target)
                       for site, target in [*plan.rewrites, *settings_rewrites] if not site.implied), key=lambda r: r[:4])
    for (number, start, _), group_iter in groupby(rewrites, key=lambda r: r[:3]):
        group = [(r[4], r[5]) for r in group_iter]
        piece = parts[number]
        assert piece.text is not None
        first = group[0][0]
        node = first.node
        replacements = [(site.offset, site.replaced, target) for site, target in group]
        inserted = inserts.pop((number, start), None)
        if first.codec is not None or inserted is not None or any(s.part is not None or s.old is not None for s, _ in group):
            edits = [Edit(offset, offset + len(old), new) for offset, old, new in replacements]
            warnings += _value_edits(piece, node, first, edits + (inserted[1] if inserted else []), plan.reemitted)
            continue
        if any(site.alias is None for site, _ in group):
            piece.edits += scalar_edits(piece.text, node, replacements)
            continue
        rendered = render_value(node.value, replacements)
        piece.edits += {Edit(*site.alias, rendered) for site, _ in group if site.alias is not None}
    for (number, _), (embedded, edits) in sorted(inserts.items()):
        piece = parts[number]
        warnings += _value_edits(piece, embedded.node, embedded, edits, plan.reemitted)
    return warnings


def _value_edits(piece: Piece, node: Scalar, site: Site | EmbeddedObject, edits: list[Edit], reemitted: set[tuple[int, int]]) -> list[str]:
    assert piece.text is not None
    made, whole = edit_value(piece.text, node, site.codec, edits)
    piece.edits += made
    if not whole:
        return []
    reemitted.add((site.doc.piece, node.start))
    return [f"{site.doc.where(node, getattr(site, 'path', None))}: this string is written again whole as a double-quoted "
            "string (its style cannot be edited in place); the content is the same but for the images"]


def _embedded_secret_edits(findings: Findings, pull_secrets: Sequence[str],
                           warnings: list[str]) -> dict[tuple[int, int], tuple[EmbeddedObject, list[Edit]]]:
    """Pull-secret insertions into pod specs embedded in strings, in each string's value coordinates."""
    out: dict[tuple[int, int], tuple[EmbeddedObject, list[Edit]]] = {}
    if not pull_secrets:
        return out
    for embedded in findings.embedded:
        edits = secret_edits(embedded.text, embedded.secrets, pull_secrets, warnings)
        if edits:
            out.setdefault((embedded.doc.piece, embedded.node.start), (embedded, []))[1].extend(edits)
    return out
