"""Rules are data: ``rules/*.yaml`` say where each kind keeps its images.

One schema for built-in and user rule files, checked here with messages that
name the file, the rule and the field.  Paths are compiled once, at load.
"""
from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .yamlfile import read_yaml_file, read_yaml_files_cached
from .paths import Evaluator, PathSyntaxError, compile_path
from .records import record

PULL_SECRET_STYLES = ("names", "name", "strings", "string")
LOCATIONS = ("container", "cr-field", "cr-container", "env", "args", "config", "crd-schema-default")
DATA_ENCODINGS = ("text", "base64")


@record(frozen=True)
class KindMatch:
    group: str  # "" is the core group, "*" any group
    kinds: tuple[str, ...]
    versions: tuple[str, ...] = ()  # only these API versions (v1, v1beta1); empty: any


class CompiledPath:
    """A rule path, compiled by jsonpath-ng on first use and then kept.

    Built-in rules compile lazily (a one-document stream needs only the rules that
    match it: start-up time); user rule files are compiled at load to report errors early.
    """

    __slots__ = ("text", "_evaluate")

    def __init__(self, text: str, eager: bool = False) -> None:
        self.text = text
        self._evaluate: Evaluator | None = compile_path(text) if eager else None

    @property
    def evaluate(self) -> Evaluator:
        if self._evaluate is None:
            self._evaluate = compile_path(self.text)
        return self._evaluate

    def __repr__(self) -> str:
        return f"CompiledPath({self.text!r})"


@record(frozen=True)
class PullSecretPlacement:
    field: tuple[str, ...]  # keys from the anchor node down to the secret field
    anchor: CompiledPath  # where the keys start (must exist)
    style: str  # names: [{name: x}], name: {name: x}, strings: [x]


@record(frozen=True)
class NamedValues:
    """Lists of ``{name, <value>}`` items (env vars, Tekton params) whose name may say "image"."""

    path: CompiledPath
    value_key: str


@record(frozen=True)
class DataMap:
    """A ``{key: string}`` map searched by shape (ConfigMap/Secret data, operator settings maps)."""

    path: CompiledPath
    encoding: str  # text, or base64 (Secret data)


@record(frozen=True)
class Implied:
    """An image the operator derives when the resource names none: ``field`` absent, the image is
    ``lookup`` (a ``version=image`` list an operator keeps in an env var, found anywhere in the
    stream) at the key ``lookupKey`` evaluates to, else ``template`` with ``{$.path}`` filled in.
    With only a ``note`` (the operator's default is its own build's, named nowhere) it is reported."""

    field: str  # a plain path ending in a key: where the resource would name the image
    parent: CompiledPath
    key: str
    template: str | None
    placeholders: tuple[tuple[str, CompiledPath], ...]
    lookup: str | None  # the env var holding version=image lines
    lookup_key: CompiledPath | None
    note: str | None = None  # which image the operator runs, for the report (an implied image with no template is reported)
    enabled: CompiledPath | None = None  # a switch: false there means the component, and its image, is not run
    named_by: tuple[CompiledPath, ...] = ()  # other fields that name the image when set (CloudNativePG's imageCatalogRef)


@record(frozen=True)
class Listed:
    """An image an operator joins from several fields (Istio's ``{hub}/{image}:{tag}``): listed for
    the mirror; the fields stay as they are (a registry setting among them is rewritten)."""

    template: str
    placeholders: tuple[tuple[str, CompiledPath], ...]


@record(frozen=True)
class RegistryField:
    """A registry the operator pulls the images it derives from (Tigera's ``Installation.spec.registry``):
    a value there is rewritten as a registry setting; where the field is absent, the operator pulls
    from ``default``, so the mirror's prefix for ``default`` is inserted."""

    field: str  # a plain path ending in a key
    parent: CompiledPath
    key: str
    default: str | None  # the operator's own registry ("quay.io/"); a trailing "/" is kept as written


@record(frozen=True)
class Install:
    """Something a resource has a controller install in the cluster from elsewhere (Flux's
    ``HelmRelease``, Argo CD's ``Application``): a chart, or a directory of manifests.  What it
    renders is never in this stream, so it is reported.  Each key is a list of alternatives (dotted
    keys below ``anchor``; the first present is shown)."""

    anchor: CompiledPath
    chart: tuple[tuple[str, ...], ...]
    path: tuple[tuple[str, ...], ...]
    version: tuple[tuple[str, ...], ...]
    repository: tuple[tuple[str, ...], ...]
    values_only: tuple[tuple[str, ...], ...]  # keys that make an entry without chart or path a values source (Argo's ``ref``)


@record(frozen=True)
class SplitPaths:
    """An image whose repository and tag are separate fields (argocd-operator's ``image`` + ``version``)."""

    repository: CompiledPath
    tag: CompiledPath


@record(frozen=True)
class Rule:
    id: str
    description: str
    source: str  # the file it came from
    match: tuple[KindMatch, ...]
    pod_specs: tuple[CompiledPath, ...] = ()
    containers: tuple[CompiledPath, ...] = ()
    images: tuple[CompiledPath, ...] = ()
    image_location: str = "cr-field"
    container_location: str = "cr-container"
    named_values: tuple[NamedValues, ...] = ()
    pull_secrets: tuple[PullSecretPlacement, ...] = ()
    schema_defaults: tuple[CompiledPath, ...] = ()
    items: tuple[CompiledPath, ...] = ()
    data: tuple[DataMap, ...] = ()
    implied: tuple[Implied, ...] = ()
    split: tuple[SplitPaths, ...] = ()
    versions_or_images: tuple[CompiledPath, ...] = ()  # a version (left alone) or a whole reference (an image)
    listed: tuple[Listed, ...] = ()  # images the operator joins from parts (hub + image + tag): listed, never written
    registries: tuple[RegistryField, ...] = ()  # registries the operator prefixes the images it derives with
    installs: tuple[Install, ...] = ()  # charts or manifests a controller installs in the cluster: reported

    @property
    def names_places(self) -> bool:
        """Whether the rule names where the kind keeps images (then what it does not claim is a
        candidate); one that only reports (installs, images an operator derives that no template
        can name) leaves the resource's strings searched as in a kind no rule covers."""
        reports = all(i.template is None and i.lookup is None for i in self.implied)
        return any((self.pod_specs, self.containers, self.images, self.named_values, self.items, self.data, self.split,
                    self.versions_or_images, self.listed, self.registries, self.schema_defaults, not reports))

    @property
    def looks(self) -> bool:
        """Whether the rule looks anywhere at all (a kind listed only to say it holds no images does not)."""
        return bool(self.schema_defaults) or self.looks_past_schema_defaults

    @functools.cached_property
    def looks_past_schema_defaults(self) -> bool:
        """Whether it looks anywhere but at CRD schema defaults (which a quick text test can rule out)."""
        return any((self.pod_specs, self.containers, self.images, self.named_values, self.pull_secrets,
                    self.items, self.data, self.implied, self.split, self.versions_or_images, self.listed, self.registries,
                    self.installs))


# ``for_kind`` remembers up to this many (apiVersion, kind) pairs of at most this many characters
# (a group is at most 253, a kind far less): what it keeps after a stream stays under 0.5 MB,
# whatever a hostile stream names (the RuleSet outlives the stream: load_rules caches it).
KINDS_REMEMBERED = 1024
KIND_CHARACTERS_REMEMBERED = 320


@record(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]

    @functools.cached_property
    def _index(self) -> dict[tuple[str, str], tuple[tuple[Rule, tuple[str, ...]], ...]]:
        index: dict[tuple[str, str], list[tuple[Rule, tuple[str, ...]]]] = {}
        for rule in self.rules:
            for match in rule.match:
                for kind in match.kinds:
                    if "*" not in kind:
                        index.setdefault((match.group, kind), []).append((rule, match.versions))
        return {key: tuple(value) for key, value in index.items()}

    @functools.cached_property
    def _globs(self) -> tuple[tuple[str, str, Rule], ...]:
        return tuple((m.group, k, r) for r in self.rules for m in r.match for k in m.kinds if "*" in k)

    @functools.cached_property
    def _matched(self) -> dict[tuple[str | None, str], tuple[Rule, ...]]:
        return {}

    def for_kind(self, api_version: str | None, kind: str | None) -> tuple[Rule, ...]:
        """Rules matching a document's apiVersion group and kind (and version, where a match names versions).
        Remembered for the first ``KINDS_REMEMBERED`` kinds (of plausible length): a stream repeats a few kinds many times."""
        if not kind:
            return ()
        matched = self._matched
        found = matched.get((api_version, kind))
        if found is None:
            found = self._match(api_version, kind)
            if len(matched) < KINDS_REMEMBERED and len(kind) + len(api_version or "") <= KIND_CHARACTERS_REMEMBERED:
                matched[(api_version, kind)] = found
        return found

    def _match(self, api_version: str | None, kind: str) -> tuple[Rule, ...]:
        group, _, version = api_version.rpartition("/") if api_version and "/" in api_version else ("", "", api_version or "")
        candidates = self._index.get((group, kind), ()) + self._index.get(("*", kind), ())
        found = tuple(dict.fromkeys(rule for rule, versions in candidates if not versions or version in versions))
        if self._globs:
            from fnmatch import fnmatchcase

            extra = tuple(r for g, k, r in self._globs if g in (group, "*") and fnmatchcase(kind, k) and r not in found)
            found += tuple(dict.fromkeys(extra))
        return found


def builtin_rules_dir() -> Path:
    """The rule files shipped inside the package (``rules/`` in the source tree)."""
    from importlib.util import find_spec

    # ``rules/`` has no __init__.py: it is a namespace package, whose location is the folder.
    spec = find_spec("postrender.builtin_rules")
    if spec is not None and spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    return Path(__file__).resolve().parent.parent / "rules"  # a source tree that was never installed


@functools.lru_cache(maxsize=8)
def load_rules(extra_files: tuple[Path, ...] = ()) -> RuleSet:
    directory = builtin_rules_dir()
    builtin = sorted(directory.glob("*.yaml"))
    if not builtin:
        raise ConfigError(f"no built-in rule files found in {directory}: the installation is broken")
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    builtin_data = read_yaml_files_cached(builtin, "rule file", directory / "__pycache__")
    loaded = itertools.chain(((path, _rules_of(data, path, eager=False)) for data, path in zip(builtin_data, builtin)),
                             ((path, load_rule_file(path)) for path in extra_files))  # one file after another: the first error wins
    for path, file_rules in loaded:
        for rule in file_rules:
            if rule.id in seen:
                raise ConfigError(f"rule file {path}: rule {rule.id!r} is already defined in {seen[rule.id]}")
            seen[rule.id] = str(path)
            rules.append(rule)
    return RuleSet(tuple(rules))


def load_rule_file(path: Path, eager: bool = True) -> list[Rule]:
    return _rules_of(read_yaml_file(path, "rule file"), path, eager)


def _rules_of(data: Any, path: Path, eager: bool) -> list[Rule]:
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise ConfigError(f"rule file {path}: expected a mapping with a 'rules:' list")
    unknown = sorted(set(data) - {"rules", "description"})
    if unknown:
        raise ConfigError(f"rule file {path}: unknown top-level field(s) {', '.join(unknown)}")
    return [_parse_rule(raw, path, i, eager) for i, raw in enumerate(data["rules"])]


_RULE_FIELDS = {
    "id", "description", "match", "podSpecs", "containers", "images", "imageLocation",
    "containerLocation", "namedValues", "pullSecrets", "schemaDefaults", "items", "data", "implied", "split", "versionsOrImages", "listed",
    "registries", "installs",
}


class _Fields:
    """Reads one rule's fields, naming file, rule and field in every complaint."""

    def __init__(self, raw: dict[str, Any], path: Path, label: str, eager: bool) -> None:
        self.raw, self.path, self.label, self.eager = raw, path, label, eager

    def fail(self, field: str, problem: str) -> ConfigError:
        return ConfigError(f"rule file {self.path}: rule {self.label}: field {field!r}: {problem}")

    def string(self, field: str, default: str | None = None, choices: Sequence[str] = ()) -> str:
        value = self.raw.get(field, default)
        if not isinstance(value, str) or (not value and default is None):
            raise self.fail(field, "expected a non-empty string")
        if choices and value not in choices:
            raise self.fail(field, f"expected one of {', '.join(choices)}, got {value!r}")
        return value

    def paths(self, field: str) -> tuple[CompiledPath, ...]:
        return tuple(self.compile(field, text) for text in self.list_of(field, str))

    def paths_in(self, entry: dict[str, Any], key: str, field: str) -> tuple[CompiledPath, ...]:
        """A list of paths under ``key`` of one entry of ``field``."""
        value = entry.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(field, f"'{key}' is a list of paths")
        return tuple(self.compile(field, text) for text in value)

    def compile(self, field: str, text: str) -> CompiledPath:
        try:
            return CompiledPath(text, eager=self.eager)
        except PathSyntaxError as exc:
            raise self.fail(field, str(exc)) from None

    def list_of(self, field: str, kind: type) -> list[Any]:
        value = self.raw.get(field, [])
        if not isinstance(value, list) or not all(isinstance(v, kind) for v in value):
            raise self.fail(field, f"expected a list of {'strings' if kind is str else 'mappings'}")
        return value


def _parse_rule(raw: Any, path: Path, position: int, eager: bool) -> Rule:
    if not isinstance(raw, dict):
        raise ConfigError(f"rule file {path}: rule #{position + 1}: expected a mapping")
    label = repr(raw["id"]) if isinstance(raw.get("id"), str) else f"#{position + 1}"
    f = _Fields(raw, path, label, eager)
    unknown = sorted(set(raw) - _RULE_FIELDS)
    if unknown:
        raise f.fail(unknown[0], f"unknown field; known fields: {', '.join(sorted(_RULE_FIELDS))}")
    matches: list[KindMatch] = []
    for entry in f.list_of("match", dict):
        group, kinds = entry.get("group"), entry.get("kinds")
        if not isinstance(group, str) or not isinstance(kinds, list) or not kinds or not all(isinstance(k, str) and k for k in kinds):
            raise f.fail("match", "each entry needs 'group' (a string, \"\" for the core group) and 'kinds' (a list of kind names)")
        extra = sorted(set(entry) - {"group", "kinds", "versions"})
        if extra:
            raise f.fail("match", f"unknown key(s) {', '.join(extra)}")
        versions = entry.get("versions", [])
        if not isinstance(versions, list) or not all(isinstance(v, str) and v for v in versions):
            raise f.fail("match", "'versions' is a list of API versions such as v1, v1beta1")
        matches.append(KindMatch(group, tuple(kinds), tuple(versions)))
    if not matches:
        raise f.fail("match", "at least one {group, kinds} entry is needed")
    named = []
    for entry in f.list_of("namedValues", dict):
        if not isinstance(entry.get("path"), str):
            raise f.fail("namedValues", "each entry needs 'path'")
        named.append(NamedValues(f.compile("namedValues", entry["path"]), str(entry.get("value", "value"))))
    secrets = []
    for entry in f.list_of("pullSecrets", dict):
        anchor, field = entry.get("anchor", "$"), entry.get("field")
        if not isinstance(anchor, str) or not isinstance(field, str) or not field:
            raise f.fail("pullSecrets", "each entry needs 'field' (dotted keys below the anchor) and may give 'anchor' (a path)")
        style = entry.get("style", "names")
        if style not in PULL_SECRET_STYLES:
            raise f.fail("pullSecrets", f"style must be one of {', '.join(PULL_SECRET_STYLES)}, got {style!r}")
        secrets.append(PullSecretPlacement(tuple(field.split(".")), f.compile("pullSecrets", anchor), style))
    data = []
    for entry in f.list_of("data", dict):
        if not isinstance(entry.get("path"), str) or set(entry) - {"path", "encoding"}:
            raise f.fail("data", "each entry needs 'path' and may give 'encoding'")
        encoding = entry.get("encoding", "text")
        if encoding not in DATA_ENCODINGS:
            raise f.fail("data", f"encoding must be one of {', '.join(DATA_ENCODINGS)}, got {encoding!r}")
        data.append(DataMap(f.compile("data", entry["path"]), encoding))
    implied = [_implied(f, entry) for entry in f.list_of("implied", dict)]
    splits = []
    for entry in f.list_of("split", dict):
        if set(entry) != {"repository", "tag"} or not all(isinstance(v, str) for v in entry.values()):
            raise f.fail("split", "each entry needs 'repository' and 'tag' (paths)")
        splits.append(SplitPaths(f.compile("split", entry["repository"]), f.compile("split", entry["tag"])))
    return Rule(
        id=f.string("id"),
        description=f.string("description"),
        source=str(path),
        match=tuple(matches),
        pod_specs=f.paths("podSpecs"),
        containers=f.paths("containers"),
        images=f.paths("images"),
        image_location=f.string("imageLocation", "cr-field", LOCATIONS),
        container_location=f.string("containerLocation", "cr-container", LOCATIONS),
        named_values=tuple(named),
        pull_secrets=tuple(secrets),
        schema_defaults=f.paths("schemaDefaults"),
        items=f.paths("items"),
        data=tuple(data),
        implied=tuple(implied),
        split=tuple(splits),
        versions_or_images=f.paths("versionsOrImages"),
        listed=tuple(Listed(t, tuple((p, f.compile("listed", p)) for p in _PLACEHOLDER.findall(t))) for t in f.list_of("listed", str)),
        registries=tuple(_registry_field(f, entry) for entry in f.list_of("registries", dict)),
        installs=tuple(_install(f, entry) for entry in f.list_of("installs", dict)),
    )


_FIELD = re.compile(r"(?P<parent>\$(?:\.[A-Za-z_][\w-]*|\[\*\])*)\.(?P<key>[A-Za-z_][\w-]*)\Z")
_PLACEHOLDER = re.compile(r"\{(\$[^{}]*)\}")


_INSTALL_KEYS = ("chart", "path", "version", "repository", "valuesOnly")


def _install(f: _Fields, entry: dict[str, Any]) -> Install:
    unknown = sorted(set(entry) - {"anchor", *_INSTALL_KEYS})
    if unknown:
        raise f.fail("installs", f"unknown key(s) {', '.join(unknown)}")
    if not isinstance(entry.get("anchor"), str):
        raise f.fail("installs", "each entry needs 'anchor' (a path, e.g. $.spec.chart.spec)")
    keys: dict[str, tuple[tuple[str, ...], ...]] = {}
    for name in _INSTALL_KEYS:
        value = entry.get(name, [])
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not all(isinstance(v, str) and v and "" not in v.split(".") for v in value):
            raise f.fail("installs", f"'{name}' is dotted keys below the anchor, or a list of them (alternatives)")
        keys[name] = tuple(tuple(v.split(".")) for v in value)
    if not keys["chart"] and not keys["path"] and not keys["repository"]:
        raise f.fail("installs", "give 'chart', 'path' or 'repository': what the resource installs")
    return Install(f.compile("installs", entry["anchor"]), keys["chart"], keys["path"], keys["version"], keys["repository"],
                   keys["valuesOnly"])


def _implied(f: _Fields, entry: dict[str, Any]) -> Implied:
    unknown = sorted(set(entry) - {"field", "template", "lookup", "lookupKey", "note", "enabled", "namedBy"})
    if unknown:
        raise f.fail("implied", f"unknown key(s) {', '.join(unknown)}")
    field, template, lookup, lookup_key, note = (entry.get(k) for k in ("field", "template", "lookup", "lookupKey", "note"))
    match = _FIELD.match(field) if isinstance(field, str) else None
    if match is None:
        raise f.fail("implied", "'field' must be a plain path ending in a key, e.g. $.spec.image")
    if note is not None and (not isinstance(note, str) or not note.strip()):
        raise f.fail("implied", "'note' is one line saying which image the operator runs (e.g. 'grafana/alloy at the operator's version')")
    if template is None and lookup is None and note is None:
        raise f.fail("implied", "give 'template', 'lookup' (with 'lookupKey'), both, or only a 'note' (then the image is reported, "
                     "never guessed)")
    if template is not None and not isinstance(template, str):
        raise f.fail("implied", "'template' must be a string such as 'docker.elastic.co/kibana/kibana:{$.spec.version}'")
    if (lookup is None) != (lookup_key is None) or (lookup is not None and not (isinstance(lookup, str) and isinstance(lookup_key, str))):
        raise f.fail("implied", "'lookup' (an env var name) and 'lookupKey' (a path) go together")
    enabled = entry.get("enabled")
    if enabled is not None and not isinstance(enabled, str):
        raise f.fail("implied", "'enabled' is a path to the component's switch, e.g. $.spec.configReloader.enabled")
    placeholders = tuple((text, f.compile("implied", text)) for text in _PLACEHOLDER.findall(template or ""))
    return Implied(str(field), f.compile("implied", match["parent"]), match["key"], template, placeholders,
                   lookup, f.compile("implied", lookup_key) if lookup_key else None, note,
                   f.compile("implied", enabled) if enabled else None, f.paths_in(entry, "namedBy", "implied"))


def _registry_field(f: _Fields, entry: dict[str, Any]) -> RegistryField:
    unknown = sorted(set(entry) - {"field", "default"})
    if unknown:
        raise f.fail("registries", f"unknown key(s) {', '.join(unknown)}")
    field, default = entry.get("field"), entry.get("default")
    match = _FIELD.match(field) if isinstance(field, str) else None
    if match is None:
        raise f.fail("registries", "'field' must be a plain path ending in a key, e.g. $.spec.registry")
    from . import heuristics  # only rule files that name registries need it (start-up time)

    if default is not None and (not isinstance(default, str) or heuristics.registry_value(default) is None):
        raise f.fail("registries", f"'default' must be a registry such as 'quay.io/', got {default!r}")
    return RegistryField(str(field), f.compile("registries", match["parent"]), match["key"], default)


def all_kinds(rules: Iterable[Rule]) -> set[tuple[str, str]]:
    return {(m.group, k) for r in rules for m in r.match for k in m.kinds}
