"""A values overlay that points a chart's own image settings at the private registry.

The fix for hooks on Helm 3, which never post-renders them (helm/helm#7891): the
chart itself renders the private references.  The mapping is the post-renderer's
(``ImageRef.at``), so an image gets the same target either way:

- ``{registry, repository|image, tag, digest|sha}`` (Bitnami, Grafana, kube-prometheus-stack,
  ingress-nginx): ``registry`` becomes the private registry, ``repository`` the folder
  plus the source path; tag and digest stay.  Such charts render
  ``(global.imageRegistry or registry)/repository``.
- ``{repository, tag}`` without a registry key (Argo CD, cert-manager, ``helm create``):
  ``repository`` becomes the whole target name.
- a string under an image-like key (``image: "repo:tag"``): the whole target reference.
- ``global.imageRegistry`` (when the chart declares it) becomes the private registry;
  ``global.imagePullSecrets`` / ``imagePullSecrets`` get the pull secrets, in the style of
  the entries already there (``- name: x`` when empty: every chart convention above reads it).

The overlay holds only what changed (a list is a whole value in Helm, so a changed
list is written whole), read and written with ruamel.yaml so comments on the kept
keys survive.  Settings it cannot map are reported, never guessed.
"""
from __future__ import annotations

import copy
import io
import sys
from dataclasses import dataclass, field
from typing import Any

from .errors import InputError
from .heuristics import is_candidate_key
from .plan import is_excluded, is_private, override_for
from .reference import ImageRef, is_qualified_reference, parse_reference
from .settings import Settings
from .split import find_block

Path_ = tuple[Any, ...]
NAME_KEYS = ("repository", "image")
BLOCK_HINTS = ("registry", "tag", "digest", "sha", "pullPolicy")
PULL_SECRET_KEYS: tuple[Path_, ...] = (("global", "imagePullSecrets"), ("imagePullSecrets",))


@dataclass(frozen=True)
class Change:
    path: Path_
    old: Any
    new: Any
    note: str  # e.g. "docker.io/bitnami/redis:7.4 -> registry.intern/civitas/bitnami/redis:7.4"


@dataclass
class Overlay:
    changes: list[Change] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)  # settings that look like images but were not mapped
    notes: list[str] = field(default_factory=list)  # left alone on purpose (private, excluded) and hints
    document: Any = None

    def dump(self, header: str) -> str:
        comments = "".join(f"# {line}\n" for line in header.splitlines())
        if not self.changes:
            return comments + "{}\n"
        if not hasattr(self.document, "ca"):  # read with libyaml (a large file): plain data
            import json  # JSON is YAML, and json's C encoder is ~20x faster than PyYAML's representer

            return comments + json.dumps(self.document, indent=2, default=str) + "\n"
        out = io.StringIO()
        writer = _yaml()
        # Every path written out in full: an anchor kept from the values file could land on a
        # key instead of its mapping (ruamel writes "[&w image: x, *w]" for an anchored flow map).
        writer.representer.ignore_aliases = lambda data: True
        writer.dump(self.document, out)
        text = out.getvalue()
        return comments + text + ("" if text.endswith("\n") else "\n")  # (lost when the file ends in an alias)


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML()  # round trip: keeps comments and quoting
    yaml.Constructor = _last_key_wins()
    yaml.preserve_quotes = True
    yaml.width = sys.maxsize
    yaml.allow_duplicate_keys = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _last_key_wins() -> Any:
    """ruamel's round-trip constructor, but a duplicated key takes its LAST value, as Helm (go-yaml)
    and Kubernetes read it; ruamel keeps the first, so the overlay would map an image Helm never renders."""
    from ruamel.yaml.constructor import RoundTripConstructor

    class LastKeyWins(RoundTripConstructor):
        def check_mapping_key(self, node: Any, key_node: Any, mapping: Any, key: Any, value: Any) -> bool:
            return True  # "unique": the later value is stored over the earlier one (and its line recorded)

    return LastKeyWins


# Above this many characters a values file is read with libyaml's C parser: ruamel's round trip
# (pure Python) takes ~8 s per MB, libyaml ~0.3 s.  The overlay then loses the kept keys'
# comments and quoting, and messages their line numbers; the mapping itself is the same.
ROUND_TRIP_LIMIT = 1 << 20


def _load(text: str) -> tuple[Any, bool]:
    """The values and whether they came from the round trip (comments, quoting, line numbers)."""
    if len(text) <= ROUND_TRIP_LIMIT:
        return _yaml().load(text), True
    import yaml

    class Loader(yaml.CSafeLoader):
        pass

    # A bare "=" is YAML 1.1's value tag, which the safe constructor cannot build: it is a string.
    Loader.add_constructor("tag:yaml.org,2002:value", _value_tag)
    return yaml.load(text, Loader=Loader), False


def _value_tag(loader: Any, node: Any) -> str:
    return str(loader.construct_scalar(node))


def dotted(path: Path_) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(path))


class _Builder:
    def __init__(self, values: Any, settings: Settings, registry: str, name: str, limit: int) -> None:
        self.values, self.settings, self.registry, self.name = values, settings, registry, name
        # What a registry-only setting gets: with a folder, the folder too, so that a chart (or a
        # Bitnami subchart this file never shows) assembling registry/repository lands in it.
        self.registry_setting = f"{registry}/{settings.folder}" if settings.folder else registry
        self.overlay = Overlay()
        self.edits: dict[Path_, Any] = {}
        # An aliased node is walked once per context; later occurrences replay its edits, at most
        # ``limit`` of them in all (the file's size: more is an alias bomb, not a values file).
        self.walked: dict[tuple[int, bool, Path_ | None], list[tuple[Path_, Any, Any, str]]] = {}
        self.limit = limit
        global_registry = _get(values, ("global", "imageRegistry"))
        self.global_registry = global_registry if isinstance(global_registry, str) and global_registry else None
        self.blocks_with_registry_excluded: list[str] = []

    # -- where ------------------------------------------------------------------------------
    def at(self, path: Path_) -> str:
        parent = _get(self.values, path[:-1])
        line = None
        try:
            line = parent.lc.key(path[-1])[0] + 1 if isinstance(path[-1], str) else parent.lc.item(path[-1])[0] + 1
        except (AttributeError, KeyError, IndexError, TypeError):
            pass
        return f"{self.name}{f' line {line}' if line else ''}: {dotted(path)}"

    def set(self, path: Path_, old: Any, new: Any, note: str) -> None:
        if old == new:
            return
        self.edits[path] = _same_style(old, new)
        self.overlay.changes.append(Change(path, old, new, note))

    def judge(self, ref: ImageRef, path: Path_) -> bool:
        """Whether to map ``ref``: the post-renderer's own tests."""
        if is_private(ref, self.registry, self.settings):
            return False
        if is_excluded(ref, self.settings.exclude):
            self.overlay.notes.append(f"{self.at(path)}: {ref.normalized} is excluded; left as is")
            return False
        return True

    # -- the walk ---------------------------------------------------------------------------
    def walk(self, node: Any, path: Path_) -> None:
        if not isinstance(node, (dict, list)):
            return
        # What the walk below depends on besides the node: the nearest key's image hint and,
        # at the top and in ``global``, the path itself (pull secrets, global.imageRegistry).
        context = (id(node), _image_hint(path), path if len(path) < 2 else None)
        done = self.walked.get(context)
        if done is not None:
            for relative, old, new, note in done:
                self.set((*path, *relative), old, new, note)
            if len(self.overlay.changes) > self.limit:
                raise InputError(f"{self.name}: its aliases expand to more than {self.limit} image settings "
                                 "(more than the file has characters): an alias bomb, not a values file")
            return
        first = len(self.overlay.changes)
        self.walk_node(node, path)
        self.walked[context] = [(c.path[len(path):], c.old, c.new, c.note) for c in self.overlay.changes[first:]]

    def walk_node(self, node: Any, path: Path_) -> None:
        if isinstance(node, dict):
            if _is_block(node, path):
                self.block(node, path)
                return
            for key, value in node.items():
                if not isinstance(key, str):
                    continue
                child = (*path, key)
                if child in PULL_SECRET_KEYS or child == ("global", "imageRegistry"):
                    continue
                if isinstance(value, str):
                    self.string(value, child, is_candidate_key(key))
                else:
                    self.walk(value, child)
        elif isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, str):
                    self.string(item, (*path, index), False)
                else:
                    self.walk(item, (*path, index))

    def string(self, value: str, path: Path_, image_key: bool) -> None:
        if not image_key:
            if is_qualified_reference(value.strip()):
                ref = parse_reference(value.strip())
                if ref is not None and not self.judge(ref, path):
                    return  # already on the registry (or excluded): the post-renderer leaves it too
                self.overlay.unmapped.append(f"{self.at(path)}: {value!r} looks like an image, but the key does "
                                             "not say image; not mapped")
            return
        if not value.strip():
            return
        ref = parse_reference(value.strip())
        if ref is None:
            self.overlay.unmapped.append(f"{self.at(path)}: {value!r} is not an image reference; not mapped")
            return
        if self.judge(ref, path):
            target = ref.at(self.registry, self.settings.folder, override_for(ref, self.settings.overrides))
            self.set(path, value, target, f"{ref.normalized} -> {target}")

    def block(self, block: dict[str, Any], path: Path_) -> None:
        name_key = next(k for k in NAME_KEYS if isinstance(block.get(k), str) or k in block)
        repository = block.get(name_key)
        if repository is None or repository == "":
            return  # unset: the chart falls back to another setting (Argo CD's global.image), mapped there
        if not isinstance(repository, str):
            self.overlay.unmapped.append(f"{self.at((*path, name_key))}: {repository!r} is not a string; not mapped")
            return
        has_registry = "registry" in block
        registry = block.get("registry")
        if has_registry and registry is not None and not isinstance(registry, str):
            self.overlay.unmapped.append(f"{self.at((*path, 'registry'))}: {registry!r} is not a string; not mapped")
            return
        found = find_block(block, True, self.global_registry, NAME_KEYS, known=True)
        if found is None:
            source_registry = (self.global_registry or registry) if has_registry else None
            name = f"{source_registry}/{repository}" if source_registry else repository
            self.overlay.unmapped.append(f"{self.at((*path, name_key))}: {name!r} is not an image reference; not mapped")
            return
        ref = found.ref
        if not self.judge(ref, (*path, name_key)):
            if has_registry and not is_private(ref, self.registry):
                self.blocks_with_registry_excluded.append(dotted(path))
            return
        target = ref.at(self.registry, self.settings.folder, override_for(ref, self.settings.overrides))
        # the post-renderer's own mapping of split references; the folder goes into the registry
        # setting, as in global.imageRegistry
        landing = parse_reference(target)
        assert landing is not None  # a target is a reference by construction
        for key, new in found.new_values(landing, self.settings.folder).items():
            self.set((*path, key), block.get(key), new, f"{ref.normalized} -> {target}")

    # -- global settings --------------------------------------------------------------------
    def global_settings(self) -> None:
        key = ("global", "imageRegistry")
        current = _get(self.values, key)
        if _has(self.values, key) and current != self.registry_setting:
            if self.blocks_with_registry_excluded:
                self.overlay.notes.append(
                    f"{self.at(key)}: left as is: it would also move the excluded image(s) at "
                    f"{', '.join(self.blocks_with_registry_excluded)}")
            elif current is None or isinstance(current, str):
                self.set(key, current, self.registry_setting,
                         f"every image of the chart that honours it -> {self.registry_setting}")
        secrets = self.settings.pull_secrets
        if not secrets:
            return
        found = False
        for key in PULL_SECRET_KEYS:
            if not _has(self.values, key):
                continue
            found = True
            current = _get(self.values, key)
            if current is not None and not isinstance(current, list):
                self.overlay.unmapped.append(f"{self.at(key)}: not a list; pull secrets not added")
                continue
            entries = list(current or [])
            as_strings = bool(entries) and all(isinstance(e, str) for e in entries)
            # Only string names count (a hostile "name: [x]" is no secret name, and unhashable).
            present = {n for n in (e if isinstance(e, str) else e.get("name") for e in entries if isinstance(e, (str, dict)))
                       if isinstance(n, str)}
            missing = [s for s in secrets if s not in present]
            if missing:
                new = _copy_list(current) + [s if as_strings else {"name": s} for s in missing]
                self.set(key, current, new, f"pull secrets + {', '.join(missing)}")
        if not found:
            self.overlay.notes.append(
                f"{self.name}: no global.imagePullSecrets or imagePullSecrets key; pull secrets not set "
                "(the post-renderer adds them to every pod spec it sees)")

    def build(self) -> Overlay:
        self.walk(self.values, ())
        self.global_settings()
        if self.overlay.changes and _has(self.values, ("global", "security", "allowInsecureImages")):
            self.overlay.notes.append(
                f"{self.name}: a Bitnami chart: if helm stops with 'Original containers have been substituted', "
                "add global.security.allowInsecureImages: true (the images are the same, only relocated)")
        self.overlay.document = _prune(self.values, self.edits)
        return self.overlay


def build_overlay(text: str, settings: Settings, name: str = "values.yaml") -> Overlay:
    registry = settings.require_registry()
    try:
        values, round_trip = _load(text)
    except Exception as exc:  # ruamel raises many unrelated types for bad YAML
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        raise InputError(f"{name}{where}: invalid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if values is None:  # Helm reads an empty file as no values: nothing to map
        return Overlay(notes=[f"{name}: no settings (the file is empty or holds only comments); the overlay is empty"])
    if not isinstance(values, dict):
        raise InputError(f"{name}: a values file is a mapping, got {type(values).__name__}")
    overlay = _Builder(values, settings, registry, name, max(len(text), 1)).build()
    if not round_trip:
        overlay.notes.append(f"{name}: over {ROUND_TRIP_LIMIT >> 20} MiB, read with libyaml for speed: the overlay "
                             "keeps no comments or quoting, and messages name no lines")
    return overlay


# -- helpers ------------------------------------------------------------------------------------
def _image_hint(path: Path_) -> bool:
    """Whether the nearest key above says image (what ``_is_block`` reads from the path)."""
    key = next((p for p in reversed(path) if isinstance(p, str)), "")
    return is_candidate_key(key) or key.lower().endswith("image")


def _is_block(node: dict[str, Any], path: Path_) -> bool:
    """An image block: a name key plus a sibling that only image settings have (or an image-like key)."""
    if "repository" in node:
        name_ok = node.get("repository") is None or isinstance(node.get("repository"), str)
    elif "image" in node and "registry" in node:  # ingress-nginx: {registry, image, tag, digest}
        name_ok = isinstance(node.get("image"), str)
    else:
        return False
    return name_ok and (any(k in node for k in BLOCK_HINTS) or _image_hint(path))




def _has(values: Any, path: Path_) -> bool:
    node = values
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


def _get(values: Any, path: Path_) -> Any:
    node = values
    for key in path:
        if isinstance(node, dict):
            node = node.get(key)
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return None
    return node


def _same_style(old: Any, new: Any) -> Any:
    """Keep the quoting of the value replaced (``"nginx"`` stays double-quoted)."""
    from ruamel.yaml.scalarstring import ScalarString

    if isinstance(old, ScalarString) and isinstance(new, str):
        return type(old)(new)
    if isinstance(new, list):
        from ruamel.yaml.comments import CommentedMap, CommentedSeq

        seq = CommentedSeq()
        for item in new:
            seq.append(CommentedMap(item) if isinstance(item, dict) and not isinstance(item, CommentedMap) else item)
        return seq
    return new


def _copy_list(value: Any) -> list[Any]:
    return list(copy.deepcopy(value)) if value else []


def _prune(document: Any, edits: dict[Path_, Any]) -> Any:
    """``document`` cut down, in place, to the edited keys (comments on those keys kept).  Not a
    copy: deep-copying ruamel's nodes copies each one's position data, quadratic in a long list."""
    _own_merged_keys(document)
    for path, new in edits.items():
        parent = _get(document, path[:-1])
        parent[path[-1]] = new
    keep: set[Path_] = {path[:i] for path in edits for i in range(1, len(path) + 1)}
    _drop(document, (), keep)
    if hasattr(document, "ca"):
        document.ca.comment = None  # the file's header describes the chart's values, not this overlay
    return document


def _own_merged_keys(document: Any) -> None:
    """Every mapping keeps the keys a merge (``<<: *base``) brought as its own, and the merge is
    forgotten.  ruamel copies merged keys into each mapping anyway, but deleting a key from a merged
    mapping makes it update the mappings merging it, and 0.19 fails there (KeyError) when a merge
    lists several mappings.  Helm reads the same values from the overlay, without ``<<:``."""
    from ruamel.yaml.comments import CommentedMap, merge_attrib

    seen: set[int] = set()
    stack = [document]
    while stack:
        node = stack.pop()
        if id(node) in seen or not isinstance(node, (dict, list)):
            continue
        seen.add(id(node))  # an aliased node once: alias bombs stay linear
        if isinstance(node, CommentedMap):
            if hasattr(node, merge_attrib):
                delattr(node, merge_attrib)
            node._ok |= set(node.keys())
            node._ref.clear()
        stack.extend(node.values() if isinstance(node, dict) else node)


def _drop(node: Any, path: Path_, keep: set[Path_]) -> None:
    if not isinstance(node, dict):
        return  # a list on a kept path is kept whole: Helm replaces lists, it does not merge them
    keys = list(node.keys())
    for index, key in enumerate(keys):
        child = (*path, key)
        if child not in keep:
            del node[key]
            continue
        following = (*path, keys[index + 1]) if index + 1 < len(keys) else None
        if following is not None and following not in keep:
            _end_of_line_only(node, key)  # the comment lines after it described the dropped key
        _drop(node[key], child, keep)


def _end_of_line_only(node: Any, key: Any) -> None:
    """ruamel keeps the comment lines before a key with the previous key's end-of-line comment."""
    entry = getattr(node, "ca", None) and node.ca.items.get(key)
    if not entry or len(entry) < 3 or entry[2] is None:
        return
    token = entry[2]
    if token.value.startswith("#"):
        token.value = token.value.split("\n", 1)[0] + "\n"
    else:
        entry[2] = None
