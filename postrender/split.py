"""Split references: one image kept in separate repository and tag (or digest) settings.

Charts and operators write ``{registry, repository, tag}``, ``{repository, tag}``,
``{repository, digest}``, ``{image, tag}`` or ``{name, tag}`` mappings, and the same
as flat keys (``image.repository``/``image.tag``, ``WORKER_REPOSITORY``/``WORKER_TAG``);
operators' custom resources also ``{repository: REGISTRY/PATH, image: NAME, version: TAG}``.
The program that reads them joins ``registry/repository:tag``.  This module recognises
the shapes and says what each part becomes so that the joined reference equals the
whole-string rewrite; the tag and digest are never touched.  The post-renderer (on
parsed nodes) and the ``values`` overlay (on ruamel data) share it.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

from .reference import ImageRef, has_explicit_registry, parse_reference
from .records import record

NAME_KEYS = ("repository", "image", "imageName", "name")  # in order of preference
SUFFIX_KEYS = ("tag", "digest", "sha")
# Flat keys: ``<prefix><sep><part>``, e.g. ``image.repository``, ``WORKER_IMAGE_TAG``, ``proxy-registry``.
_FLAT = re.compile(r"(?P<prefix>.*?)(?P<sep>[._-])(?P<part>registry|repository|repo|tag|digest)\Z", re.IGNORECASE)


@record(frozen=True)
class Block:
    """One split reference: which key holds which part, and the joined reference."""

    name_key: str
    registry_key: str | None  # present: the registry lives in its own setting
    ref: ImageRef  # the joined reference (what the program pulls)
    own: ImageRef  # the repository value read alone (a tag may be written into it)
    repository: str  # the repository value as written
    explicit: bool  # the joined reference names its registry itself
    image_key: str | None = None  # ``{repository: nvcr.io/nvidia, image: driver}``: the key of the last name part

    @property
    def keys(self) -> tuple[str, ...]:
        """Every key that holds a part of the name (the tag's excepted): none of them is an image alone."""
        return tuple(k for k in (self.registry_key, self.name_key, self.image_key) if k)

    @property
    def parts(self) -> dict[str, str]:
        """Which key holds which part: ``registry``, and ``path`` (beside a registry key) or ``name``;
        with an image key, the repository is the prefix of the image's name (``prefix:NAME``)."""
        if self.image_key is not None:
            return {f"prefix:{self.ref.path.rsplit('/', 1)[-1]}{self.ref.suffix}": self.name_key}
        if self.registry_key is not None:
            return {"registry": self.registry_key, "path": self.name_key}
        return {"name": self.name_key}

    def new_values(self, target: ImageRef, folder_in_registry: str | None = None) -> dict[str, str]:
        """What the registry and repository settings become for ``target`` (the whole-string
        rewrite of ``ref``): joined again with the untouched tag, they give ``target``.
        ``folder_in_registry`` moves the folder into the registry setting (``registry.intern/civitas``
        + ``bitnami/redis``), as a chart's ``global.imageRegistry`` must hold it."""
        values = {key: part_text(part, self.repository if key == self.name_key else "", target)
                  for part, key in self.parts.items()}
        if folder_in_registry and self.registry_key is not None and values[self.name_key].startswith(folder_in_registry + "/"):
            values[self.registry_key] += "/" + folder_in_registry
            values[self.name_key] = values[self.name_key][len(folder_in_registry) + 1:]
        return values


def part_text(part: str, old: str, target: ImageRef) -> str:
    """The new text of one part of a split reference whose whole rewrite is ``target``.
    A tag written into the repository value itself (``repository: x:1``) stays there.
    ``prefix:REST``: a registry setting an operator prefixes REST with (``ISTIO_REGISTRY`` +
    ``ISTIO_IMAGE``) becomes what the target holds before REST, so every image it prefixes
    lands where the mirror puts it."""
    if part.startswith("prefix:"):
        rest, whole = part[len("prefix:"):], target.normalized
        return whole[:-len(rest) - 1] if whole.endswith("/" + rest) else target.domain
    if part == "registry":
        return target.domain
    own = parse_reference(old)
    own_suffix = own.suffix if own is not None and own.suffix and old.endswith(own.suffix) else ""
    return (target.path if part == "path" else target.name) + own_suffix


def find_block(values: Mapping[str, object], image_context: bool, global_registry: str | None = None,
               name_keys: tuple[str, ...] = NAME_KEYS, known: bool = False, prefixed: bool = False) -> Block | None:
    """The split reference a mapping holds, or None.

    ``values`` maps keys to their values (strings where they are strings).  A mapping is a
    block when it has a name key and a tag, digest or registry beside it; ``{name, tag}`` only
    where the context says image (``image: {name: x, tag: y}``) or the name carries a registry,
    because those keys are common in other settings.  ``prefixed``: also the operator shape
    ``{repository: REGISTRY/PATH, image: NAME, version: TAG}`` (see ``_prefixed_block``).
    """
    if prefixed:
        block = _prefixed_block(values)
        if block is not None:
            return block
    tag_key = _tag_key(values, image_context)
    name_key = next((k for k in name_keys if isinstance(values.get(k), str) and values.get(k)), None)
    if name_key is None:
        return None
    parts = [k for k in (tag_key, "digest", "sha", "registry") if k and k in values]
    if not parts and not known:  # ``known``: the caller knows it is an image block (values.yaml conventions)
        return None
    if name_key == "image" and "registry" not in values and tag_key is None:
        return None
    registry_value = values.get("registry")
    registry_key = "registry" if "registry" in values else None
    if registry_key is not None and registry_value is not None and not isinstance(registry_value, str):
        return None
    repository = str(values[name_key]).strip()
    source_registry = (global_registry or registry_value) if registry_key else None
    name = f"{source_registry}/{repository}" if source_registry else repository
    ref = parse_reference(name + _suffix(values, tag_key)) or parse_reference(name)
    own = parse_reference(repository)
    if ref is None or own is None:
        return None
    explicit = bool(source_registry) or has_explicit_registry(repository)
    if name_key == "name" and not (image_context or explicit):
        return None
    return Block(name_key, registry_key, ref, own, repository, explicit)


def _prefixed_block(values: Mapping[str, object]) -> Block | None:
    """``{repository: nvcr.io/nvidia, image: driver, version: 460.73.01}`` (NVIDIA's operators and
    others): the repository is where the image's name lives, the program joins
    ``repository/image:version``.  Both must be there as strings, the repository naming its
    registry and the image naming none; the repository setting becomes the target's prefix."""
    repository, image = values.get("repository"), values.get("image")
    tag_key = "tag" if "tag" in values else "version" if "version" in values else None
    if not (isinstance(repository, str) and isinstance(image, str) and tag_key):
        return None
    repository, image = repository.strip().rstrip("/"), image.strip()
    if not repository or not image or has_explicit_registry(image) or not has_explicit_registry(repository + "/x"):
        return None
    ref = parse_reference(f"{repository}/{image}{_suffix(values, tag_key)}")
    own = parse_reference(repository)
    if ref is None or own is None or own.suffix or ref.path.rsplit("/", 1)[-1] != image.split(":")[0].split("@")[0].rsplit("/", 1)[-1]:
        return None
    return Block("repository", None, ref, own, repository, True, "image")


def flat_blocks(keys: Mapping[str, str]) -> list[tuple[dict[str, str], Block]]:
    """Split references written as flat keys of one mapping (ConfigMap data, env-like settings):
    ``X.repository`` + ``X.tag``, ``X_REPOSITORY`` + ``X_TAG``, optionally ``X_REGISTRY``.
    Returns ``({part: key}, block)`` pairs; the block's keys are the parts."""
    groups: dict[str, dict[str, str]] = {}
    for key in keys:
        match = _FLAT.match(key)
        if match:
            part = match.group("part").lower()
            groups.setdefault(match.group("prefix") + "\0" + match.group("sep"), {})["repository" if part == "repo" else part] = key
    found = []
    for prefix, members in sorted(groups.items()):
        if "repository" not in members or not ({"tag", "digest"} & set(members)):
            continue
        values = {part: keys[key] for part, key in members.items()}
        says_image = "image" in prefix.lower()
        block = find_block(values, says_image)
        if block is not None:
            found.append((members, block))
    return found


_TAG_ALIAS = re.compile(r"\w*(?:image|Image|IMAGE)[_-]?(?:tag|Tag|TAG|version|Version|VERSION)\Z")


_REGISTRY_SETTING = re.compile(r"(?P<prefix>.*?)[_.-]?(?:registry|repo[_.-]?url|repository[_.-]?url|hub)\Z", re.IGNORECASE)
_IMAGE_SETTING = re.compile(r"(?P<prefix>.*?)[_.-]?image(?:[_.-]?name)?\Z", re.IGNORECASE)


def prefix_pairs(values: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """Registry settings paired with the image setting they prefix (``PROXY_REGISTRY`` with
    ``PROXY_IMAGE``, ``hub`` with ``image``): ``(registry key, image key, joined reference)``.
    The image setting names no registry of its own; the registry setting names a host."""
    images: dict[str, str] = {}
    for key in values:
        match = _IMAGE_SETTING.match(key)
        if match and not has_explicit_registry(values[key].strip()):
            images[match["prefix"].lower()] = key
    pairs = []
    for key, value in values.items():
        match = _REGISTRY_SETTING.match(key)
        registry = value.strip().rstrip("/")
        if match is None or not registry or not (has_explicit_registry(registry + "/x") or registry == "docker.io"):
            continue
        prefix = re.sub(r"[_.-]?image\Z", "", match["prefix"], flags=re.IGNORECASE).lower()  # IMAGE_REGISTRY + IMAGE_NAME
        image_key = images.get(prefix) or images.get(match["prefix"].lower())
        if image_key is None:
            continue
        ref = parse_reference(f"{registry}/{values[image_key].strip()}")
        if ref is not None:
            pairs.append((key, image_key, ref.normalized))
    return pairs


def sibling_tag(values: Mapping[str, object], key: str) -> str | None:
    """The tag of the image mapping under ``key`` when it is kept beside that mapping instead of
    inside it (Linkerd: ``proxyImage: {imageName: x}`` with ``proxyVersion``, ``proxyInitImage``
    with ``proxyInitImageVersion``): the key of that value, or None."""
    stem = re.sub(r"[_-]?image\Z", "", key, flags=re.IGNORECASE)
    if not stem or stem == key:
        return None
    for candidate in (f"{key}Version", f"{key}Tag", f"{stem}Version", f"{stem}Tag", f"{stem}_version", f"{stem}_tag"):
        if isinstance(values.get(candidate), str):
            return candidate
    return None


def _tag_key(values: Mapping[str, object], image_context: bool = False) -> str | None:
    """The key holding the tag: ``tag``, or one that says image tag or version (``imageTag``,
    ``defaultImageVersion``, as KServe's explainer settings); a bare ``version`` only where the
    context says image (Linkerd's ``image: {name, version}``)."""
    if "tag" in values:
        return "tag"
    if image_context and isinstance(values.get("version"), str):
        return "version"
    return next((k for k in values if _TAG_ALIAS.match(k)), None)


def _suffix(values: Mapping[str, object], tag_key: str | None = "tag") -> str:
    """Tag and digest as the program appends them (only to identify the source image)."""
    tag = _text(values.get(tag_key)) if tag_key else None
    digest = _text(values.get("digest")) or _text(values.get("sha"))
    if digest and not digest.startswith("sha256:"):
        digest = f"sha256:{digest}"  # kube-prometheus-stack's bare ``sha``
    return (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


def _text(value: object) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None

