"""The post-render pipeline, start to end, as one pure function of text and settings.

stream -> documents -> rule matching -> image sites -> plan -> text edits -> output
"""
from __future__ import annotations

from itertools import groupby
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .documents import Piece, Stream, collector_paused, decode_text, documents, split, validate
from .errors import InputError
from .finder import DEFAULT_HINT, DocContext, EmbeddedObject, Findings, Site, find
from .nodes import Node, Scalar
from .plan import Plan, is_private, make_plan
from .reference import parse_reference
from .pullsecrets import secret_edits
from .rules import RuleSet, load_rules
from .selfcheck import check_edited
from .settings import Settings
from .splice import Edit, OverlappingEdits, in_order, pieces, render_value, scalar_edits
from .implied import resolve as resolve_implied
from .value_edits import edit_value

EMPTY_OUTPUT = "# civitas-postrender: the input stream held no documents\n"


@dataclass
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
    findings, parts = read_stream(stream.data, rules, settings.pull_secrets, service_accounts=settings.service_account_pull_secrets)
    plan = make_plan(findings.sites, settings, registry)
    warnings = checked_warnings(findings, plan, settings, "left as is")
    prefixes = registry_rewrites(findings, registry, settings.folder)
    if prefixes and settings.overrides:
        warnings += [f"{site.where()}: registry setting {site.text!r} rewritten to {new!r}: images an override moves elsewhere "
                     "are not found there; name them explicitly" for site, new in prefixes]
    warnings += _add_image_edits(parts, plan, findings, settings.pull_secrets, prefixes)
    for piece in parts:
        piece.edits = in_order(piece.edits)
        for before, after in zip(piece.edits, piece.edits[1:]):
            if after.start < before.end:  # checked now, so a bug never shows up half-way through writing
                raise OverlappingEdits(f"edits overlap at character {after.start} of document {piece.index}")
        if not piece.edits:
            piece.text = None
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
                keep_text: bool = True, service_accounts: bool = True, keep_secret_sites: bool = False) -> tuple[Findings, list[Piece]]:
    """Read the stream one document at a time: its text is decoded, parsed, matched, given its
    pull-secret edits, and kept only if it will be edited (memory: see ``Stream``).  Documents
    that cannot hold images are only validated.  ``keep_secret_sites``: pod specs stay in the
    findings (``check`` judges them), each holding its document's tree."""
    findings = Findings()
    parts = split(data)
    with collector_paused():
        whole = len(parts) == 1
        for number, piece in enumerate(parts):
            raw = data[piece.start:piece.end]
            text = decode_text(raw, piece.index, piece.line)
            if not whole and (piece.empty or cannot_hold_images(text, rules)):
                validate(text, raw, first_index=piece.index, line_offset=piece.line)  # in C: no nodes built
                continue
            first_site, first_secret, first_embedded = len(findings.sites), len(findings.secrets), len(findings.embedded)
            first_implied, first_setting = len(findings.implied), len(findings.registry_settings)
            for root, ctx in documents(text, raw, first_index=piece.index, line_offset=piece.line, piece=number):
                _find(root, ctx, rules, findings, text)
            if pull_secrets:
                sites = [s for s in findings.secrets[first_secret:] if service_accounts or s.rule != SERVICE_ACCOUNT_RULE]
                piece.edits += secret_edits(text, sites, pull_secrets, findings.warnings)
            if not keep_secret_sites:
                del findings.secrets[first_secret:]  # the pod-spec trees can go
            if keep_text and (piece.edits or len(findings.sites) > first_site or len(findings.embedded) > first_embedded
                              or len(findings.implied) > first_implied or len(findings.registry_settings) > first_setting):
                piece.text = text
    resolve_implied(findings)
    return findings, parts


# Matched at the start of each line that begins with the key (found by str.find: a MULTILINE
# pattern that starts with "^" tries every position of a 1 MB CRD).
_TOP_KIND = re.compile(r"kind:[ \t]*([A-Za-z][\w.-]*)[ \t]*\r?$", re.MULTILINE)
_TOP_API_VERSION = re.compile(r"apiVersion:[ \t]*([\w./-]+)[ \t]*\r?$", re.MULTILINE)
# Kubernetes takes the last of duplicate keys, and a key can be written in ways the two lines
# above do not read (see _unsure).  Each pattern starts with a literal: found fast in a large CRD.
_KEY_LINE = re.compile(r"\n(?:kind|apiVersion)[ \t]*:")
_ODD_LINE = re.compile(r"""\n["'?&!*{\[<]""")
_ODD_START = "\"'?&!*{[<"
_ALIAS_TOKEN = re.compile(r"\*[\w-]+(?=[\s,:\]}]|\Z)")  # libyaml's anchor names: letters, digits, "_", "-"


def cannot_hold_images(text: str, rules: RuleSet) -> bool:
    """True for a document whose kind's rules look nowhere (a Service, a Role) or only at CRD
    schema defaults its text has none of: matching it would find nothing, so it is only
    checked to be valid YAML.  Decided from its text, conservatively: one plain top-level
    ``kind:`` and ``apiVersion:`` line each and no other way of writing them, else it is
    parsed like any other."""
    kinds, versions = _top_level(text, "kind:", _TOP_KIND), _top_level(text, "apiVersion:", _TOP_API_VERSION)
    if len(kinds) != 1 or len(versions) != 1:
        return False
    if _unsure(text):
        return False
    matched = rules.for_kind(versions[0], kinds[0])
    if not matched:
        return False  # kinds no rule covers are searched for candidates
    for rule in matched:
        if rule.looks_past_schema_defaults:
            return False
        if rule.schema_defaults and DEFAULT_HINT.search(text):
            return False
    return True


def _top_level(text: str, key: str, pattern: re.Pattern[str]) -> list[str]:
    """What ``pattern`` reads on each line that starts with ``key`` (as ``^pattern`` would, MULTILINE)."""
    starts = [0] if text.startswith(key) else []
    at = text.find("\n" + key)
    while at != -1:
        starts.append(at + 1)
        at = text.find("\n" + key, at + 1)
    matches = (pattern.match(text, start) for start in starts)
    return [match.group(1) for match in matches if match]


def _unsure(text: str) -> bool:
    """Whether the text may name its kind or apiVersion a second way (quoted, with a comment,
    explicit, anchored, tagged, by a merge key, in JSON, after a line break the patterns do not
    see: a lone CR, NEL, U+2028/9) or hold an alias (an undefined one is found only by composing)."""
    key_lines = len(_KEY_LINE.findall(text)) + int(text.startswith(("kind", "apiVersion")))
    if key_lines != 2 or (text[:1] and text[:1] in _ODD_START) or _ODD_LINE.search(text):
        return True
    if text.count("\r") != text.count("\r\n") or "\x85" in text or "\u2028" in text or "\u2029" in text:
        return True
    return any(_is_alias(text, m.start()) for m in _ALIAS_TOKEN.finditer(text))


def _is_alias(text: str, star: int) -> bool:
    """A ``*name`` where a value or key starts: after ":", "-", "?", "[", "{", "," or a line break."""
    before = text[max(0, star - 80):star].rstrip(" \t")
    return not before or before[-1] in ":-?[{,\r\n"


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
    for site, target in plan.rewrites:
        if site.insert is not None:  # an implied image made explicit
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
