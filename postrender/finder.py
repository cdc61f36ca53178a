"""Rule matching: from one parsed document to the image sites and pod specs in it.

Matching only reads nodes; it never sees modified data.  Every site keeps a compact
record of its scalar (value, style, position in the stream) for the splice step.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import field, replace
from sys import intern
from typing import Any

from . import heuristics, split
from .discovery import Found, Search, decode_value, may_hold, same_place, search_data, value_name
from .errors import InputError, Where
from .nodes import (MappingNode, Node, Scalar, ScalarNode, SequenceNode, alias_tokens, duplicate_keys, get, get_str, is_blank,
                    is_null, items, written)
from .paths import PathPart, format_path
from .reference import has_explicit_registry, parse_reference
from .rules import CompiledPath, Implied, Install, Listed, NamedValues, RegistryField, Rule, RuleSet, SplitPaths
from .records import record

POD_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")
# Set on a resource that installs a chart or manifests in the cluster (Flux's HelmRelease, Argo CD's
# Application) once what it installs is rendered through the post-renderer or its values point at the mirror.
INSTALLS_MIRRORED = ("civitas-postrender/installs", "mirrored")
CANDIDATE_RULE = "heuristic/image-key"
# A `default:` whose value could be a reference (a quick text test before walking a schema):
# a name with a path, tag or digest ("/", "@", or ":" followed by a non-space; a nested property
# named `default` is followed by a key, whose ":" ends its line).
# No leading \b: a literal first lets the search skip ahead (~40x faster); it matches a superset.
# A schema whose only image default is a bare word ("busybox") is therefore not walked.
DEFAULT_HINT = re.compile(r"""default["']?\s*:\s*["']?[A-Za-z0-9][\w.-]*(?:[@/]|:\S)""")


@record(frozen=True, slots=True)
class DocContext:
    """What identifies a document (or an item of a List) in messages and the image list."""

    index: int
    template: str | None
    kind: str | None
    name: str | None
    namespace: str | None
    api_version: str | None
    hook: str | None
    line_offset: int = 0  # where the text the nodes were read from begins in the stream
    piece: int = 0  # which piece of the stream (post-render mode reads one document at a time)

    def where(self, node: Node | Scalar | None = None, path: str | None = None) -> Where:
        mark = node.start_mark if node is not None else None
        return Where(
            document=self.index, template=self.template, kind=self.kind, name=self.name,
            line=self.line_offset + mark.line + 1 if mark else None, column=mark.column + 1 if mark else None, path=path,
        )


@record(frozen=True, slots=True)
class Site:
    """One place an image reference is written: ``node.value[offset:offset+len(text)]``."""

    doc: DocContext
    node: Scalar
    offset: int
    text: str
    path: str  # dotted path, plus " (after --flag=)" where the image is part of a string
    rule: str
    location: str
    candidate: bool = False
    # Set when this place holds an alias (``image: *ref``): the ``*ref`` token's span.  The node
    # itself sits at its anchor, which may not be an image field at all.
    alias: tuple[int, int] | None = None
    old: str | None = None  # the characters replaced, when not ``text`` itself (a split part)
    part: str | None = None  # a split reference's part: "registry" or "name"; None: the whole reference
    codec: str | None = None  # "base64": ``offset`` is in the node's decoded value (Secret data)
    implied: bool = False  # an image the operator derives (no field names it): ``node`` marks where it goes
    insert: str | None = None  # for an implied image: the text to insert, "\0" standing for the target

    @property
    def replaced(self) -> str:
        return self.old if self.old is not None else self.text

    def where(self) -> Where:
        """Document, template, kind/name, path and the line of the reference itself (inside a
        multi-line string: a config in a ConfigMap names the line the image is on)."""
        where = self.doc.where(self.node, self.path)
        if self.codec is None and "\n" in self.node.value[:self.offset] and where.line is not None:
            header = 1 if self.node.style in ("|", ">") else 0
            return replace(where, line=where.line + header + self.node.value.count("\n", 0, self.offset), column=None)
        return where


@record(frozen=True)
class SecretSite:
    """A pod spec (or CR field) that must list the pull secrets."""

    doc: DocContext
    anchor: MappingNode
    field: tuple[str, ...]
    style: str
    path: str
    rule: str


@record(frozen=True)
class EmbeddedObject:
    """A Kubernetes object inside a string (a pod template in a ConfigMap): its pod specs get
    the pull secrets too, as edits of that string's value."""

    doc: DocContext
    node: Scalar  # the string in the stream
    codec: str | None
    text: str  # its (decoded) value
    secrets: tuple[SecretSite, ...]  # in ``text``'s coordinates


@record(frozen=True)
class ImpliedRequest:
    """An image a resource implies (``Implied`` rule), resolved once the whole stream is read:
    an operator's version list may come later in the stream."""

    doc: DocContext
    rule: str
    path: str
    node: Scalar  # where it is inserted (or the resource, when there is no place for it)
    insert: str | None
    default: str | None  # the rule's template, filled in
    lookup: str | None  # env var of version=image lines
    key: str | None  # ... and the version to look up
    missing: tuple[str, ...] = ()  # template fields the resource does not set
    note: str | None = None  # which image the operator runs (a rule with no template: reported, never guessed)


@record
class Findings:
    sites: list[Site] = field(default_factory=list)
    secrets: list[SecretSite] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    not_references: list[str] = field(default_factory=list)  # image fields holding no reference
    left_public: list[str] = field(default_factory=list)  # reference-shaped values that cannot be rewritten
    embedded: list[EmbeddedObject] = field(default_factory=list)
    implied: list[ImpliedRequest] = field(default_factory=list)
    tables: dict[str, dict[str, str]] = field(default_factory=dict)  # env var -> version -> image (version=image lists)
    registry_settings: list[Site] = field(default_factory=list)  # text: the registry an operator prefixes images with
    claimed: list[int] = field(default_factory=list)  # starts of scalars a rule read as parts of an image (not swept)
    installs_left: list[str] = field(default_factory=list)  # installs reported (also in left_public: strict and check fail)
    installs_mirrored: list[str] = field(default_factory=list)  # installs a resource's annotation says are mirrored
    reported_by: list[str] = field(default_factory=list)  # rules that reported what no site holds (installs, derived images)


def context_of(root: Node, index: int, template: str | None, line_offset: int = 0, piece: int = 0) -> DocContext:
    def shared(value: str | None) -> str | None:
        return None if value is None else intern(value)  # repeated across documents

    metadata = get(root, "metadata")
    annotations = get(metadata, "annotations")
    return DocContext(
        index=index,
        template=shared(template or get_str(annotations, "postrenderer.helm.sh/postrender-filename")),
        kind=shared(get_str(root, "kind")),
        name=shared(get_str(metadata, "name")),
        namespace=shared(get_str(metadata, "namespace")),
        api_version=shared(get_str(root, "apiVersion")),
        hook=shared(get_str(annotations, "helm.sh/hook")),
        line_offset=line_offset,
        piece=piece,
    )


def item_context(node: Node, list_ctx: DocContext, line_offset: int) -> DocContext:
    """An item of a List.  A typed List (``DeploymentList``, ``PodList``, as clients print them) leaves
    out its items' kind and apiVersion: the List's own say what they are, so the item is read by
    its kind's rules (not searched for candidates as an object of no kind)."""
    ctx = context_of(node, list_ctx.index, list_ctx.template, line_offset, list_ctx.piece)
    kind = list_ctx.kind
    if ctx.kind is None and kind and kind.endswith("List") and kind != "List":
        return replace(ctx, kind=intern(kind[:-len("List")]), api_version=ctx.api_version or list_ctx.api_version)
    return ctx


def find(root: Node, ctx: DocContext, rules: RuleSet, out: Findings, prefix: tuple[PathPart, ...] = (), text: str | None = None,
         _ancestors: tuple[int, ...] = ()) -> None:
    """Collect every image site and pod spec of one document into ``out``.

    ``text`` (the stream the nodes were composed from) lets large subtrees be skipped when
    their text cannot hold what a walk would look for.
    """
    first, first_claimed = len(out.sites), len(out.claimed)
    matched = rules.for_kind(ctx.api_version, ctx.kind)
    for rule in matched:
        _Matcher(rule, ctx, rules, out, text).run(root, prefix, _ancestors)
    if isinstance(root, MappingNode):
        sweep = Sweep(ctx, rules, out, text)
        sweep.annotations(root, prefix)
        if (not matched or is_custom_resource(ctx)) and all(rule.looks for rule in matched):
            sweep.run(root, prefix, ruled=any(rule.names_places for rule in matched), first=first,
                      parts_read=out.claimed[first_claimed:])
    _dedupe(out.sites, first)


def is_custom_resource(ctx: DocContext) -> bool:
    """A kind outside Kubernetes' own API groups (whose rules are complete), CRDs aside."""
    group = ctx.api_version.rpartition("/")[0] if ctx.api_version and "/" in ctx.api_version else ""
    return "." in group and not group.endswith(".k8s.io") and ctx.kind != "CustomResourceDefinition"


def _by_shape(rule: str) -> bool:
    """Found by a heuristic (``heuristic/...``, or ``rule:heuristic`` for data a rule searches by shape)."""
    return rule.startswith("heuristic/") or ":" in rule


def _dedupe(sites: list[Site], first: int) -> None:
    """One site per place: a rule's own find wins over a heuristic's (a ConfigMap key a rule names)."""
    kept: dict[tuple[int, int, str | None, tuple[int, int] | None, str], int] = {}
    drop: set[int] = set()
    for index in range(first, len(sites)):
        site = sites[index]
        # an anchor reached through aliases: each alias counts; images listed from parts may share a part
        key = (site.node.start, site.offset, site.part, site.alias, site.text)
        if key not in kept:
            kept[key] = index
        elif _by_shape(sites[kept[key]].rule) and not _by_shape(site.rule):
            drop.add(kept[key])
            kept[key] = index
        else:
            drop.add(index)
    if drop:
        sites[first:] = [s for i, s in enumerate(sites[first:], first) if i not in drop]


def _no_cycle(node: Node, ctx: DocContext, ancestors: tuple[int, ...]) -> None:
    if id(node) in ancestors:  # Go's YAML decoder rejects this too
        raise InputError(f"{ctx.where(node)}: an alias makes this object contain itself")


class _Matcher:
    def __init__(self, rule: Rule, ctx: DocContext, rules: RuleSet, out: Findings, text: str | None) -> None:
        self.rule, self.ctx, self.rules, self.out, self.text = rule, ctx, rules, out, text
        self.root: Node | None = None
        self.prefix: tuple[PathPart, ...] = ()

    def run(self, root: Node, prefix: tuple[PathPart, ...], ancestors: tuple[int, ...] = ()) -> None:
        rule = self.rule
        self.root, self.prefix = root, prefix
        for path in rule.images:
            for node, parts in path.evaluate(root, prefix):
                self.image_field(node, parts, rule.image_location)
        for path in rule.containers:
            for node, parts in path.evaluate(root, prefix):
                self.container(node, parts, rule.container_location)
        for path in rule.pod_specs:
            for node, parts in path.evaluate(root, prefix):
                self.pod_spec(node, parts)
        for named in rule.named_values:
            self.named_values(root, prefix, named, "cr-field")
        for placement in rule.pull_secrets:
            for node, parts in placement.anchor.evaluate(root, prefix):
                if isinstance(node, MappingNode):
                    self.out.secrets.append(SecretSite(self.ctx, node, placement.field, placement.style,
                                                       format_path((*parts, *placement.field)), rule.id))
        for path in rule.schema_defaults:
            for node, parts in path.evaluate(root, prefix):
                self.schema_defaults(node, parts)
        for data in rule.data:
            for node, parts in data.path.evaluate(root, prefix):
                self.data_map(node, parts, None if data.encoding == "text" else data.encoding)
        for implied in rule.implied:
            self.implied(root, prefix, implied)
        for registry in rule.registries:
            self.registry_field(root, prefix, registry)
        for install in rule.installs:
            self.install(root, prefix, install)
        for pair in rule.split:
            self.split_paths(root, prefix, pair)
        for listed in rule.listed:
            self.listed(root, prefix, listed)
        for path in rule.versions_or_images:
            for node, parts in path.evaluate(root, prefix):
                # Grafana operator's spec.version: "10.4.3" is a version, "docker.io/grafana/grafana:10.4.3" an image
                if isinstance(node, ScalarNode) and any(c in node.value for c in "/@") and parse_reference(node.value):
                    self.image_field(node, parts, rule.image_location)
        seen: set[int] = set()
        for path in rule.items:
            for node, parts in path.evaluate(root, prefix):
                if isinstance(node, MappingNode):
                    _no_cycle(node, self.ctx, (*ancestors, id(root)))
                    if id(node) in seen:  # one object listed twice through aliases: read it once
                        continue
                    seen.add(id(node))
                    item_ctx = item_context(node, self.ctx, self.ctx.line_offset)
                    find(node, item_ctx, self.rules, self.out, parts, self.text, (*ancestors, id(root)))

    # -- the places images live ------------------------------------------------------------
    def image_field(self, node: Node, parts: tuple[PathPart, ...], location: str) -> None:
        path = format_path(parts)
        if not isinstance(node, ScalarNode):
            self.out.warnings.append(f"{self.ctx.where(node, path)}: image field is not a string; left as is")
            return
        if is_null(node):
            return  # an optional field left unset
        if _typed(node):  # image: true, image: 2 — not strings (Kubernetes refuses them): never an image
            self.out.not_references.append(f"{self.ctx.where(node, path)}: {node.value!r} is not a string; left as is")
            return
        prefixed = heuristics.transport(node.value)
        if prefixed is not None:  # oci://REF (a model or package kept as an OCI image)
            self.add(node, prefixed[0], prefixed[1], f"{format_path(parts)} (after {prefixed[2]})", location, self.parent_of(parts), parts[-1])
            return
        if parse_reference(node.value) is None:
            self.out.not_references.append(
                f"{self.ctx.where(node, path)}: {node.value!r} is not an image reference; left as is"
            )
            return
        parent = self.parent_of(parts)
        if isinstance(parent, MappingNode) and isinstance(parts[-1], str) and parts[-1] in duplicate_keys(parent):
            self.out.warnings.append(
                f"{self.ctx.where(node, path)}: duplicate key {parts[-1]!r}; Kubernetes uses the last value, "
                "so that one is rewritten and the earlier one is left as is"
            )
        self.add(node, 0, node.value, path, location, parent, parts[-1])

    def parent_of(self, parts: tuple[PathPart, ...]) -> Node | None:
        """The collection holding the node at ``parts`` (a few steps down from the rule's root)."""
        node = self.root
        for part in parts[len(self.prefix):-1]:
            if isinstance(part, int):
                node = node.value[part] if isinstance(node, SequenceNode) and part < len(node.value) else None
            else:
                node = get(node, part)
        return node

    def container(self, node: Node, parts: tuple[PathPart, ...], location: str) -> None:
        if not isinstance(node, MappingNode):
            return
        image = get(node, "image")
        if image is not None:
            self.image_field(image, (*parts, "image"), location)
        self.named_values(node, parts, _ENV, "env")
        for key in ("command", "args"):
            seq = get(node, key)
            if isinstance(seq, SequenceNode):
                self.args(seq, (*parts, key))

    def pod_spec(self, node: Node, parts: tuple[PathPart, ...]) -> None:
        if not isinstance(node, MappingNode):
            return
        for key in POD_CONTAINER_LISTS:
            seq = get(node, key)
            if isinstance(seq, SequenceNode):
                for index, container in enumerate(seq.value):
                    self.container(container, (*parts, key, index), self.rule.container_location)
        volumes = get(node, "volumes")
        if isinstance(volumes, SequenceNode):
            for index, volume in enumerate(volumes.value):
                reference = get(get(volume, "image"), "reference")
                if reference is not None:
                    self.image_field(reference, (*parts, "volumes", index, "image", "reference"), self.rule.container_location)
        self.out.secrets.append(SecretSite(self.ctx, node, ("imagePullSecrets",), "names",
                                           format_path((*parts, "imagePullSecrets")), self.rule.id))

    def named_values(self, root: Node, prefix: tuple[PathPart, ...], named: NamedValues, location: str) -> None:
        for entry, parts in named.path.evaluate(root, prefix):
            if isinstance(entry, SequenceNode):  # a path to the list itself
                entries: list[tuple[Node, tuple[PathPart, ...]]] = [(e, (*parts, i)) for i, e in enumerate(entry.value)]
            else:
                entries = [(entry, parts)]
            paired = self.registry_prefixes(entries, named.value_key, location)
            paired |= self.flat_splits(entries, named.value_key)
            for item, item_parts in entries:
                name = get_str(item, "name")
                value = get(item, named.value_key)
                if name is None or name in paired or not isinstance(value, ScalarNode) or not value.value:
                    continue
                path = format_path((*item_parts, named.value_key))
                registry = heuristics.registry_setting(name, value.value)
                if registry is not None:
                    self.setting(value, value.value.index(registry), registry, path, item, named.value_key)
                    continue
                for offset, text, label in heuristics.in_value(value.value, name):
                    if label and label.startswith("after ") and label.endswith("="):  # version=image: a table to look up
                        self.out.tables.setdefault(name, {})[label[len("after "):-1]] = text
                    self.add(value, offset, text, f"{path} ({label})" if label else path, location, item, named.value_key)

    def registry_prefixes(self, entries: list[tuple[Node, tuple[PathPart, ...]]], value_key: str, location: str) -> set[str]:
        """``X_REGISTRY`` + ``X_IMAGE`` among named values: the image is relative to the registry
        setting, which is rewritten (to where the mirror puts what it prefixes); neither is
        read alone.  Returns the names paired."""
        values = _named(entries, value_key)
        paired: set[str] = set()
        for registry_name, image_name, ref in split.prefix_pairs({k: v[2].value for k, v in values.items()}):
            item, item_parts, node = values[registry_name]
            old, rest = node.value.strip().rstrip("/"), values[image_name][2].value.strip()
            path = f"{format_path((*item_parts, value_key))} (registry of {image_name})"
            self.out.sites.append(Site(self.ctx, Scalar.of(node), node.value.index(old), intern(ref), intern(path), self.rule.id,
                                       location, alias=alias_span(self.text, item, value_key, node), old=old, part=f"prefix:{rest}"))
            paired |= {registry_name, image_name}
        return paired

    def flat_splits(self, entries: list[tuple[Node, tuple[PathPart, ...]]], value_key: str) -> set[str]:
        """``X_REPOSITORY`` + ``X_TAG`` (optionally ``X_REGISTRY``) among named values, as ConfigMap
        data holds them (an executor's worker image in env): the repository (and registry) values
        are rewritten as split parts, the tag untouched.  Returns the names paired."""
        values = _named(entries, value_key)
        paired: set[str] = set()
        for members, block in split.flat_blocks({k: v[2].value for k, v in values.items()}):
            for part, member in block.parts.items():
                name = members.get(member)
                if name is None or not values[name][2].value.strip():
                    continue
                item, item_parts, node = values[name]
                stripped = node.value.strip()
                path = f"{format_path((*item_parts, value_key))} (split: {part})"
                self.out.sites.append(Site(self.ctx, Scalar.of(node), node.value.index(stripped), intern(block.ref.normalized), intern(path),
                                           self.rule.id, "split", alias=alias_span(self.text, item, value_key, node), old=stripped, part=part))
            paired.update(members.values())
        return paired

    def setting(self, node: ScalarNode, offset: int, registry: str, path: str, parent: Node | None, link: PathPart) -> None:
        """A registry setting (``--container-registry=``, ``IMAGE_REGISTRY``): rewritten as a prefix."""
        self.out.registry_settings.append(Site(self.ctx, Scalar.of(node), offset, intern(registry), intern(path), self.rule.id,
                                               "registry-setting", alias=alias_span(self.text, parent, link, node)))

    def args(self, seq: SequenceNode, parts: tuple[PathPart, ...]) -> None:
        scalars = [n.value if isinstance(n, ScalarNode) else "" for n in seq.value]
        for index, offset, registry in heuristics.registry_flags(scalars):
            node = seq.value[index]
            assert isinstance(node, ScalarNode)
            self.setting(node, offset, registry, format_path((*parts, index)), seq, index)
        for index, offset, text, label in heuristics.in_args(scalars):
            node = seq.value[index]
            assert isinstance(node, ScalarNode)
            self.add(node, offset, text, f"{format_path((*parts, index))} ({label})", "args", seq, index)

    def schema_defaults(self, schema: Node, parts: tuple[PathPart, ...]) -> None:
        if self.text is not None and not DEFAULT_HINT.search(self.text, schema.start_mark.index, schema.end_mark.index):
            return  # CRD schemas are most of a chart's bytes; most hold no default that could be an image
        for node, node_parts in _walk(schema, parts):
            if not (node_parts and node_parts[-1] == "properties" and isinstance(node, MappingNode)):
                continue
            for prop, prop_schema in items(node):
                default = get(prop_schema, "default")
                if heuristics.is_candidate_key(prop) and isinstance(default, ScalarNode) and default.value and not _typed(default):
                    if parse_reference(default.value) is not None:
                        self.add(default, 0, default.value, format_path((*node_parts, prop, "default")), "crd-schema-default",
                                 prop_schema, "default")

    def listed(self, root: Node, prefix: tuple[PathPart, ...], listed: Listed) -> None:
        """An image joined from parts (``{$.spec.hub}/{$.spec.values.pilot.image}:{$.spec.tag}``):
        listed when every part is there and they join to a reference; the parts are claimed."""
        ref, nodes = listed.template, []
        for text, path in listed.placeholders:
            found = [n for n, _ in path.evaluate(root, prefix) if isinstance(n, ScalarNode) and n.value.strip()]
            if not found:
                return
            ref = ref.replace("{" + text + "}", found[0].value.strip())
            nodes.append(found[0])
        if parse_reference(ref) is None:
            return  # a part is a whole reference itself: the sweep reads it
        # the parts are read here, except a registry part (hub), which the sweep rewrites as a registry setting
        self.out.claimed.extend(n.start_mark.index for n in nodes if not has_explicit_registry(n.value.strip() + "/x"))
        anchor = Scalar.of(nodes[-1]) if nodes else _mark_of(root)
        self.out.sites.append(Site(self.ctx, anchor, 0, intern(ref), intern(f"{listed.template} (listed)"), self.rule.id,
                                   "listed", implied=True))

    def split_paths(self, root: Node, prefix: tuple[PathPart, ...], pair: SplitPaths) -> None:
        """A repository field whose tag is another field: the repository is rewritten, the tag stays."""
        tags = [n.value for n, _ in pair.tag.evaluate(root, prefix) if isinstance(n, ScalarNode)]
        for node, parts in pair.repository.evaluate(root, prefix):
            if not isinstance(node, ScalarNode) or not node.value.strip():
                continue
            block = split.find_block({"repository": node.value, "tag": tags[0] if tags else None}, True, known=True)
            path = format_path(parts)
            if block is None:
                self.out.not_references.append(f"{self.ctx.where(node, path)}: {node.value!r} is not an image reference; left as is")
                continue
            old = node.value.strip()
            self.out.sites.append(Site(self.ctx, Scalar.of(node), node.value.index(old), intern(block.ref.normalized),
                                       intern(f"{path} (split: name)"), self.rule.id, "split",
                                       alias=alias_span(self.text, self.parent_of(parts), parts[-1], node), old=old, part="name"))

    def implied(self, root: Node, prefix: tuple[PathPart, ...], implied: Implied) -> None:
        """An image the resource implies where it names none (``spec.version`` and no ``spec.image``)."""
        def scalar_at(path: CompiledPath) -> str | None:
            found = [n.value for n, _ in path.evaluate(root, prefix) if isinstance(n, ScalarNode) and n.value]
            return found[0] if found else None

        if implied.enabled is not None and any(isinstance(n, ScalarNode) and n.value.strip() in _FALSE
                                               for n, _ in implied.enabled.evaluate(root, prefix)):
            return  # the component is switched off: it runs no image
        if any(not is_blank(n) for path in implied.named_by for n, _ in path.evaluate(root, prefix)):
            return  # another field names the image (an image catalog, a base image)
        parents = list(implied.parent.evaluate(root, prefix))
        if not parents and implied.template is None and implied.lookup is None:
            # nothing can be inserted, but the operator still runs its image: reported (never guessed)
            path = format_path((*prefix, *implied.field.removeprefix("$.").split(".")))
            self.out.implied.append(ImpliedRequest(self.ctx, self.rule.id, path, _mark_of(root), None,
                                                   None, None, None, note=implied.note))
        for parent, parts in parents:
            current = get(parent, implied.key)
            if isinstance(current, ScalarNode) and not is_blank(current) or (
                    current is not None and not isinstance(current, ScalarNode) and _names_image(current)):
                continue  # the resource names its image: the rule's ``images`` read it
            values = {text: scalar_at(path) for text, path in implied.placeholders}
            missing = tuple(text for text, value in values.items() if value is None)
            default = None
            if implied.template is not None and not missing:
                default = implied.template
                for text, value in values.items():
                    default = default.replace("{" + text + "}", value or "")
            key = scalar_at(implied.lookup_key) if implied.lookup_key is not None else None
            # made explicit by inserting the key; a key present but empty stays as it is (reported)
            where, insert = (_insertion(self.text, parent, implied.key) if isinstance(parent, MappingNode) and current is None
                             else (_mark_of(parent), None))
            self.out.implied.append(ImpliedRequest(self.ctx, self.rule.id, format_path((*parts, implied.key)), where, insert,
                                                   default, implied.lookup, key, missing, implied.note))

    def install(self, root: Node, prefix: tuple[PathPart, ...], install: Install) -> None:
        """A chart (or a directory of manifests) a controller installs in the cluster: what it renders
        is never in this stream, so the images it pulls are reported, until the resource's annotation
        says they are mirrored.  Values the resource holds are searched as any custom resource's."""
        mark = get(get(get(root, "metadata"), "annotations"), INSTALLS_MIRRORED[0])
        for anchor, parts in install.anchor.evaluate(root, prefix):
            if not isinstance(anchor, MappingNode):
                continue
            chart, path, version, source = (_first_set(anchor, keys) for keys in
                                            (install.chart, install.path, install.version, install.repository))
            if chart is None and path is None and (source is None or _first_set(anchor, install.values_only) is not None):
                continue  # a values source (Argo CD's ``ref``), or nothing named
            def shown(found: tuple[tuple[str, ...], Node]) -> str:
                return _shown(found[1], format_path((*parts, *found[0])))

            if chart is not None:
                what = f"chart {shown(chart)}" + (f" (version {shown(version)})" if version else "")
            else:
                what = (f"the manifests at {shown(path)}" if path else "the manifests") + (f" (revision {shown(version)})" if version else "")
            what += f" from {shown(source)}" if source else ""
            at = chart or path or source
            assert at is not None
            # what names the chart is no image (an oci:// chart repository): reported with it, never rewritten
            self.out.claimed.extend(found[1].start_mark.index for found in (chart, path, version, source) if found is not None)
            where = self.ctx.where(at[1], format_path((*parts, *at[0])))
            key, value = INSTALLS_MIRRORED
            self.out.reported_by.append(self.rule.id)
            if isinstance(mark, ScalarNode) and mark.value.strip() == value:
                self.out.installs_mirrored.append(f"{where}: deploys {what} in the cluster; marked {key}: {value}")
                continue
            said = f" (its {key} annotation says {mark.value.strip()!r}, not {value!r})" if isinstance(mark, ScalarNode) else ""
            message = (f"{where}: deploys {what} in the cluster; the images it pulls are not in this stream{said}: render it "
                       f"through the post-renderer (or set its values to the mirror), then annotate this resource {key}: {value}")
            self.out.left_public.append(message)
            self.out.installs_left.append(message)

    def registry_field(self, root: Node, prefix: tuple[PathPart, ...], field: RegistryField) -> None:
        """A registry the operator prefixes what it derives with: rewritten where it is set; where it
        is not, the operator's own registry is implied, and the mirror's prefix for it inserted.
        Anything else (an empty value, a word such as Tigera's ``UseDefault``, no parent to hold
        it) leaves the operator pulling from its own registry: reported, never silent."""
        evaluated = list(field.parent.evaluate(root, prefix))
        if not evaluated:
            self.out.left_public.append(f"{self.ctx.where(root, format_path(prefix))}: the operator pulls the images it derives "
                                        f"from its own registry{f' ({field.default})' if field.default else ''}: there is no "
                                        f"{field.field.removeprefix('$.')} to set; set it to the mirror")
        for parent, parts in evaluated:
            if not isinstance(parent, MappingNode):
                continue
            current = get(parent, field.key)
            path = format_path((*parts, field.key))
            if current is None and field.default is not None:
                self._implied_registry(parent, path, field)
                continue
            registry = heuristics.registry_value(current.value) if isinstance(current, ScalarNode) else None
            if registry is None:
                what = (f"{current.value!r} is no registry (the operator's own is used, or none)"
                        if isinstance(current, ScalarNode) and not is_blank(current) else "it is empty")
                self.out.left_public.append(f"{self.ctx.where(current or parent, path)}: the operator pulls the images it derives "
                                            f"from the registry set here, and {what}; set {path} to the mirror")
                continue
            assert isinstance(current, ScalarNode)
            self.setting(current, current.value.index(registry), registry, path, parent, field.key)

    def _implied_registry(self, parent: MappingNode, path: str, field: RegistryField) -> None:
        assert field.default is not None
        registry = heuristics.registry_value(field.default)
        where, insert = _insertion(self.text, parent, field.key)
        if registry is None or insert is None:
            self.out.left_public.append(f"{self.ctx.where(parent, path)}: the operator pulls the images it derives from "
                                        f"{field.default} (no {path}), and it cannot be inserted here; set it to the mirror")
            return
        slash = "/" if field.default.endswith("/") else ""
        self.out.registry_settings.append(Site(self.ctx, where, 0, intern(registry), intern(f"{path} (implied)"), self.rule.id,
                                               "registry-setting", implied=True, insert=insert.replace("\0", "\0" + slash)))
        self.out.warnings.append(f"{self.ctx.where(parent, path)}: the operator pulls the images it derives from "
                                 f"{registry} (no {path} is set); {path} is set to the mirror's prefix for it: mirror "
                                 "those images (the operator's version names them; the stream does not)")

    def data_map(self, node: Node, parts: tuple[PathPart, ...], codec: str | None) -> None:
        """Every string of a ``{key: string}`` map, searched by shape (``discovery``)."""
        if not isinstance(node, MappingNode):
            return
        scalars: dict[str, ScalarNode] = {}
        texts: dict[str, str] = {}
        # One look for a "*" in the whole map, not one per key (100k keys: quadratic otherwise)
        aliases = self.text is None or self.text.find("*", node.start_mark.index, node.end_mark.index) != -1
        for key, value in items(node):
            if not isinstance(value, ScalarNode) or not value.value or heuristics.holds_credentials(key):
                continue
            text = decode_value(value.value, codec)
            if text is None:
                continue  # binary Secret data: never searched, never shown
            if aliases and alias_span(self.text, node, key, value) is not None:
                if heuristics.in_text(text, key) != ([], []):
                    self.out.left_public.append(f"{self.ctx.where(value, format_path((*parts, key)))}: a reference-shaped value "
                                                "reached through an alias; left as is")
                continue
            scalars[key], texts[key] = value, text
        secret = self.ctx.kind == "Secret"
        search_data(texts, lambda key: ValueSink(self.ctx, self.out, scalars[key], codec, "data", self.rule.id, secret),
                    lambda key: format_path((*parts, key)), self.rules, self.ctx)

    def add(self, node: ScalarNode, offset: int, text: str, path: str, location: str,
            parent: Node | None, link: PathPart) -> None:
        alias = alias_span(self.text, parent, link, node)
        # Images and paths repeat across documents: share one copy of each string (memory).
        self.out.sites.append(Site(self.ctx, Scalar.of(node), offset, intern(text), intern(path), self.rule.id, location,
                                   alias=alias))


def _named(entries: list[tuple[Node, tuple[PathPart, ...]]], value_key: str) -> dict[str, tuple[Node, tuple[PathPart, ...], ScalarNode]]:
    """Named values (``env``) with a non-empty scalar value: ``{name: (item, item path, value node)}``."""
    values: dict[str, tuple[Node, tuple[PathPart, ...], ScalarNode]] = {}
    for item, item_parts in entries:
        name, value = get_str(item, "name"), get(item, value_key)
        if name is not None and isinstance(value, ScalarNode) and value.value:
            values[name] = (item, item_parts, value)
    return values


def alias_span(text: str | None, parent: Node | None, link: PathPart, node: Node) -> tuple[int, int] | None:
    """The span of ``*name`` when ``parent[link]`` is an alias of ``node``, else None.

    A composed alias is its anchor's node, positions included.  Anchors come before their
    aliases, so a mapping value that starts before its own key was reached through an
    alias; the ``*name`` token itself (never a comment naming it) is found in the parser's
    events.  A sequence item is looked up there whenever the sequence's text holds a ``*``.
    """
    if text is None or parent is None:
        return None
    if isinstance(parent, MappingNode) and isinstance(link, str):
        if text.find("*", parent.start_mark.index, parent.end_mark.index) == -1:
            return None  # no alias written in the mapping (a merged one included): no scan of its pairs per key
        key = None
        for k, v in parent.value:  # merged pairs included: their key is where the value is written
            if v is node and isinstance(k, ScalarNode) and k.value == link:
                key = k
        if key is None or node.start_mark.index >= key.end_mark.index:
            return None
        return alias_tokens(text).after_key.get(key.start_mark.index)
    if isinstance(parent, SequenceNode) and isinstance(link, int) and 0 <= link < len(parent.value):
        if parent.value[link] is not node or text.find("*", parent.start_mark.index, parent.end_mark.index) == -1:
            return None
        return alias_tokens(text).in_sequence.get((parent.start_mark.index, link))
    return None


_SURE_WITHOUT_RULE = frozenset({"image-key", "list", "transport", "flag", "split"})


class ValueSink:
    """Turns the finds in one string of the stream into sites, by the policy of where it is:

    - ``data`` (ConfigMap/Secret data, embedded configs, annotations): everything found is an
      image, except mentions in free text (candidates);
    - ``unruled`` (a custom resource no rule covers): fully qualified references are images,
      bare names and unqualified split references are candidates;
    - ``ruled`` (what a rule for the kind did not claim): candidates.
    """

    def __init__(self, ctx: DocContext, out: Findings, node: ScalarNode, codec: str | None, policy: str, rule: str,
                 secret: bool = False) -> None:
        self.ctx, self.out, self.node, self.codec, self.policy, self.rule, self.secret = ctx, out, node, codec, policy, rule, secret
        self.scalar = Scalar.of(node)

    def found(self, found: Found) -> None:
        if found.how == "invalid":  # reference-shaped under an image key, but no reference: never rewritten
            shown = "a value" if self.secret else repr(found.ref)
            self.out.not_references.append(f"{self.ctx.where(self.node, self._shown(found.path))}: {shown} is not an image "
                                           f"reference ({found.why}); left as is")
            return
        embedded = " > " in found.path
        candidate = found.candidate
        if not embedded and self.policy == "unruled":
            # only a fully qualified reference where the key says image (or docker:// / oci://, a flag, a
            # split reference naming its registry) is sure enough without a rule
            candidate = candidate or not (found.qualified and found.how in _SURE_WITHOUT_RULE)
        elif not embedded and self.policy == "ruled":
            candidate = found.how != "transport"  # docker://, oci:// say image wherever they stand
        location = ("split" if found.part else "embedded" if embedded else "config" if self.policy == "data"
                    else "cr-field" if not candidate else "candidate" if self.policy == "unruled" else "unclaimed")
        if found.how.startswith("embedded:"):
            rule = found.how[len("embedded:"):]  # the rule that matched the embedded object
        elif self.rule.startswith("heuristic/"):
            rule = f"heuristic/{found.how}"
        else:
            rule = f"{self.rule}:{found.how}"  # the rule that looked there, and the heuristic that matched
        path = self._shown(found.path)
        self.out.sites.append(Site(self.ctx, self.scalar, found.offset, intern(found.ref), intern(path), rule, location, candidate,
                                   None, found.old if found.old != found.ref else None, found.part, self.codec))

    def registry_setting(self, found: Found) -> None:
        self.out.registry_settings.append(Site(self.ctx, self.scalar, found.offset, intern(found.ref), intern(self._shown(found.path)),
                                               self.rule, "registry-setting", codec=self.codec))

    def left_public(self, path: str, ref: str, why: str) -> None:
        shown = f"{ref!r} " if ref else ""
        self.out.left_public.append(f"{self.ctx.where(self.node, self._shown(path))}: {shown}left as is: "
                                    f"{why if not self.secret else 'it cannot be edited in place'}")

    def embedded_secrets(self, text: str, findings: Any, to_outer: Any) -> None:
        self.out.embedded.append(EmbeddedObject(self.ctx, self.scalar, self.codec, text, tuple(findings.secrets)))

    def _shown(self, path: str) -> str:
        """Paths inside a Secret's decoded value are content: only the key is shown."""
        return path.split(" > ", 1)[0] + (" > (embedded)" if " > " in path else "") if self.secret else path


class Sweep:
    """Reference-shaped values no rule claimed: in custom resources (every string), and configs
    embedded in annotations of any object (a JSON list of sidecars)."""

    def __init__(self, ctx: DocContext, rules: RuleSet, out: Findings, text: str | None) -> None:
        self.ctx, self.rules, self.out, self.text = ctx, rules, out, text

    def annotations(self, root: MappingNode, prefix: tuple[PathPart, ...]) -> None:
        annotations = get(get(root, "metadata"), "annotations")
        for key, value in items(annotations):
            if isinstance(value, ScalarNode) and value.value.lstrip()[:1] in ("{", "[") or (
                    isinstance(value, ScalarNode) and "\n" in value.value.strip()):
                sink = ValueSink(self.ctx, self.out, value, None, "data", "heuristic/annotation")
                Search(sink, self.rules, self.ctx).embedded_only(value.value, key, format_path((*prefix, "metadata", "annotations", key)))

    def run(self, root: MappingNode, prefix: tuple[PathPart, ...], ruled: bool, first: int, parts_read: list[int]) -> None:
        policy = "ruled" if ruled else "unruled"
        claimed = {site.node.start for site in self.out.sites[first:]} | set(parts_read)
        for node, parts in _walk(root, prefix, skip=("metadata", "status")):
            if isinstance(node, MappingNode):
                self._mapping(node, parts, policy, claimed)
            elif isinstance(node, SequenceNode):
                key = next((p for p in reversed(parts) if isinstance(p, str)), "")
                for index, item in enumerate(node.value):
                    if isinstance(item, ScalarNode) and item.value and item.start_mark.index not in claimed:
                        self._string(item, key, (*parts, index), policy, heuristics.key_says_image(key), node)

    def _mapping(self, node: MappingNode, parts: tuple[PathPart, ...], policy: str, claimed: set[int]) -> None:
        scalars = {k: v for k, v in items(node) if isinstance(v, ScalarNode) and v.start_mark.index not in claimed}
        named = value_name(scalars)
        parent_key = next((p for p in reversed(parts) if isinstance(p, str)), "")
        block = split.find_block({k: v.value for k, v in scalars.items()}, heuristics.key_says_image(parent_key), prefixed=True)
        done: set[str] = set()
        if block is not None:
            for part, key in block.parts.items():
                if not scalars[key].value.strip():
                    continue
                value = scalars[key].value
                stripped = value.strip()
                sink = ValueSink(self.ctx, self.out, scalars[key], None, policy, "heuristic/split")
                if alias_span(self.text, node, key, scalars[key]) is None:
                    sink.found(Found(value.index(stripped), stripped, block.ref.normalized,
                                     f"{format_path((*parts, key))} (split: {part})", "split", part, qualified=block.explicit))
                done.add(key)
            done.update(block.keys)  # the image name beside a prefix repository is a part, not an image
        in_image_map = _image_map(parts)
        for key, value in scalars.items():
            if key not in done and value.value:
                held = in_image_map and heuristics.in_image_map(key, value.value)
                self._string(value, named if key == "value" and named else key, (*parts, key), policy, held, node)

    def _string(self, node: ScalarNode, key: str, parts: tuple[PathPart, ...], policy: str, image_context: bool,
                parent: Node | None = None) -> None:
        if not may_hold(node.value, key, key, image_context):
            return  # before any path is formatted: most strings of a custom resource hold nothing
        if alias_span(self.text, parent, parts[-1], node) is not None:
            return  # reached through an alias: its anchor is searched where it is written
        sink = ValueSink(self.ctx, self.out, node, None, policy, "heuristic/sweep")
        Search(sink, self.rules, self.ctx).string(node.value, key, format_path(parts), same_place,
                                                  config_name=key, image_context=image_context)


def _image_map(parts: tuple[PathPart, ...]) -> bool:
    """A mapping whose values are images by where they stand: the values of an image key
    (Confluent's ``image: {application: REF, init: REF}``, Vitess's ``images: {vtgate: REF,
    mysqld: {mysql80Compatible: REF}}``), at most two levels below it.  Not a split block (that
    is found before) and not a container list item (a mapping under a list is its own object)."""
    for part in reversed(parts[-2:]):
        if not isinstance(part, str):
            return False
        if heuristics.is_candidate_key(part) or part == "images" or part.endswith(("Images", "_IMAGES")):
            return True
    return False


def _walk(root: Node, prefix: tuple[PathPart, ...], skip: tuple[str, ...] = ()) -> Iterator[tuple[Node, tuple[PathPart, ...]]]:
    """Every collection node below ``root``, iteratively (documents can nest thousands deep)."""
    stack: list[tuple[Node, tuple[PathPart, ...]]] = [(root, prefix)]
    seen: set[int] = set()
    while stack:
        node, parts = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node, parts
        if isinstance(node, MappingNode):
            for key, value in reversed(node.value):
                if isinstance(key, ScalarNode) and not isinstance(value, ScalarNode):
                    if not (len(parts) == len(prefix) and key.value in skip):
                        stack.append((value, (*parts, key.value)))
        elif isinstance(node, SequenceNode):
            for index in range(len(node.value) - 1, -1, -1):
                if not isinstance(node.value[index], ScalarNode):
                    stack.append((node.value[index], (*parts, index)))


_ENV = NamedValues(CompiledPath("$.env"), "value")
_FALSE = frozenset({"false", "False", "FALSE", "no", "off"})


def _names_image(node: Node) -> bool:
    """Whether an image field that is a mapping names an image (``{registry, repository, tag}``), not
    only how to pull one (``{pullPolicy: Always}``)."""
    return not isinstance(node, MappingNode) or any(
        isinstance(v, ScalarNode) and v.value.strip() for k, v in items(node) if k in ("repository", "name", "image", "reference"))


def _first_set(anchor: MappingNode, alternatives: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], Node] | None:
    """The first of ``alternatives`` (dotted keys below ``anchor``) that holds something."""
    for keys in alternatives:
        node: Node | None = anchor
        for key in keys:
            node = get(node, key)
        if node is not None and not is_blank(node):
            return keys, node
    return None


def _shown(node: Node, path: str) -> str:
    """A chart, path, version or source as a message names it: a value, a ``{kind, name, namespace}``
    reference (Flux's ``sourceRef``), a list of paths (Fleet's ``paths``)."""
    if isinstance(node, ScalarNode):
        value = node.value.strip()
        return value if len(value) <= 200 and "\n" not in value else f"in {path} ({len(value)} characters)"
    if isinstance(node, SequenceNode) and all(isinstance(n, ScalarNode) for n in node.value):
        return ", ".join(_shown(n, path) for n in node.value)
    name, kind, namespace = get_str(node, "name"), get_str(node, "kind"), get_str(node, "namespace")
    if name:
        return " ".join(filter(None, (kind, f"{namespace}/{name}" if namespace else name)))
    return f"what {path} names"


def _typed(node: ScalarNode) -> bool:
    """A plain scalar YAML reads as a bool, number, null or timestamp, not as a string."""
    if node.style:
        return False
    tag: str = _resolver().resolve(ScalarNode, node.value, (True, False))
    return tag != "tag:yaml.org,2002:str"


@functools.lru_cache(maxsize=1)
def _resolver() -> Any:
    """One PyYAML resolver for every image field (built on first use, not per field)."""
    from yaml.resolver import Resolver

    return Resolver()


def _mark_of(node: Node) -> Scalar:
    """A node's position as a Scalar (for messages about a place that holds no string)."""
    mark = node.start_mark
    return Scalar("", "", mark.index, mark.index, mark.line, mark.column)


def _insertion(text: str | None, mapping: MappingNode, key: str) -> tuple[Scalar, str | None]:
    """Where ``key: <image>`` goes in ``mapping`` (first, at its indentation, as pull secrets do)
    and the text to insert, with "\0" for the image; no text when the mapping cannot be edited."""
    where = _mark_of(mapping)
    if text is None:
        return where, None
    start, end = mapping.start_mark.index, mapping.end_mark.index
    keys = [k for k, _ in written(mapping) if start <= k.start_mark.index < end]  # as written: not merged in
    eol = "\r\n" if "\r\n" in text[start:end] or text[end - 2:end] == "\r\n" else "\n"
    if mapping.flow_style or not keys:
        brace = text.find("{", start, end)
        if brace == -1:
            return where, None
        quote = '"' if not keys or text[keys[0].start_mark.index] == '"' else ""  # JSON where it cannot tell, as pull secrets
        pair = f'{quote}{key}{quote}: {quote}\0{quote}' if quote else f"{key}: \0"
        return Scalar("", "", brace + 1, brace + 1, where.line, where.column), pair + (", " if keys else "")
    first = min(keys, key=lambda k: k.start_mark.index)  # also right after "- " of a sequence item
    position, column = first.start_mark.index, first.start_mark.column
    return Scalar("", "", position, position, first.start_mark.line, column), f"{key}: \0{eol}{' ' * column}"
