"""Images written inside strings: env vars, container args, image-like keys.

These are the places operators are told which images to run.  Each function
returns ``(offset, reference, label)`` triples: the reference's position within
the string value and a label for the image list (``after --flag=``).
"""
from __future__ import annotations

import re

from . import split
from .reference import has_explicit_registry, is_qualified_reference, parse_reference

Embedded = tuple[int, str, "str | None"]

# A name that says "image" ...
_SAYS_IMAGE = re.compile(r"image", re.IGNORECASE)
# ... but not a setting *about* images (IMAGE_PULL_POLICY, --image-pull-secret, IMAGE_TAG), judged
# word by word: CSI_NODE_DRIVER_REGISTRAR_IMAGE and CSI_RESIZER_IMAGE do name images.
_ABOUT_WORDS = frozenset(
    "pull pullpolicy policy policies secret secrets tag tags version versions registry registries repo repos repository "
    "repositories digest digests sha prefix suffix host hosts hostname url urls uri path paths dir directory size format "
    "type count".split())
_ABOUT_IMAGES = re.compile(  # for names written as one word ("imagepullpolicy")
    r"pull|polic|secret|tag|version|registr|repo|digest|prefix|suffix|host|url|path|dir|size|format|type|count",
    re.IGNORECASE,
)
_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z0-9]+(?![a-z])")


def _about_images(name: str) -> bool:
    words = [w.lower() for w in _WORDS.findall(name)]
    if len(words) <= 1:
        return bool(_ABOUT_IMAGES.search(name.replace("image", "").replace("Image", "").replace("IMAGE", "")))
    return any(w in _ABOUT_WORDS for w in words)


# Keys whose string value is an image: ``image``, ``sidecarImage``, ``WORKER_IMAGE``, ``proxy-image``,
# ``defaults.image``, ``imageName``, ``imageRef`` (in kinds no rule covers, data, embedded configs, CRDs).
IMAGE_KEY = re.compile(r"(?:(?:^|[._-])[Ii]mage|Image|IMAGE)(?:[._-]?(?:[Nn]ame|NAME|[Rr]ef|REF|[Rr]eference|REFERENCE))?\Z")
_TOKEN = re.compile(r"[^\s,;\"']+")
# Transport prefixes before a reference: containers/image's docker:// (skopeo, CDI/KubeVirt import
# URLs, Tekton) and oci:// (KServe's storageUri of a model kept as an OCI image, Flux, Helm charts).
TRANSPORTS = ("docker://", "oci://")


def transport(value: str) -> tuple[int, str, str] | None:
    """``(offset, reference, prefix)`` when ``value`` is a reference after a transport prefix."""
    for prefix in TRANSPORTS:
        if value.startswith(prefix) and parse_reference(value[len(prefix):]) is not None:
            return len(prefix), value[len(prefix):], prefix
    return None


def about_images(name: str) -> bool:
    """A name of a setting about images (``tag``, ``digest``, ``registry``, ``pullPolicy``, ``host``):
    its value is not an image even among images."""
    return _about_images(name)


# ``registry.example.com:5000``: a registry endpoint, not an image tagged 5000.
_HOST_PORT = re.compile(r"[\w-]+(?:\.[\w-]+)+:\d+\Z")
HOST_PORT_LABEL = "host:port: a registry's address, or an image tagged with a number"


def in_image_map(key: str, value: str) -> bool:
    """A value of an image map (``image: {application: REF}``, ``images: {vtgate: REF}``) that can
    be a reference: it holds a ``/``, ``:`` or ``@``, its key is not a setting about images, and it
    is neither a bare digest nor a ``host:port`` endpoint."""
    return (any(c in value for c in "/:@") and not _about_images(key) and not value.strip().startswith("sha256:")
            and not _HOST_PORT.match(value.strip()))


def name_says_image(name: str) -> bool:
    return bool(_SAYS_IMAGE.search(name)) and not _about_images(name)


def _plausible(value: str, named_image: bool) -> bool:
    """A reference where it stands: under an image name it needs a '/', ':' or '@' (a bare
    word like ``regcred`` or ``1.2`` is too ambiguous); elsewhere it must be fully qualified."""
    if named_image:
        return any(c in value for c in "/:@") and parse_reference(value) is not None
    return is_qualified_reference(value)


def in_value(value: str, name: str) -> list[Embedded]:
    """References in an env var / param value: the whole value, or ``version=image`` / list items."""
    named = name_says_image(name)
    stripped = value.strip()
    prefixed = transport(stripped)
    if prefixed is not None:
        return [(value.index(stripped) + prefixed[0], prefixed[1], f"after {prefixed[2]}")]
    if stripped and _plausible(stripped, named):
        return [(value.index(stripped), stripped, None)]
    if not named:
        return []
    found: list[Embedded] = []
    for token in _TOKEN.finditer(value):
        text, start = token.group(), token.start()
        label = None
        key, eq, rest = text.partition("=")
        if eq:
            text, start, label = rest, start + len(key) + 1, f"after {key}="
        if text and _plausible(text, True):
            found.append((start, text, label))
    return found


def in_args(args: list[str]) -> list[tuple[int, int, str, str]]:
    """``--flag=IMAGE`` and ``--flag IMAGE``: (arg index, offset, reference, label)."""
    found: list[tuple[int, int, str, str]] = []
    for index, arg in enumerate(args):
        if not arg.startswith("-"):
            continue
        flag, eq, value = arg.partition("=")
        named = name_says_image(flag)
        if eq:
            prefixed = transport(value)
            if prefixed is not None:
                found.append((index, len(flag) + 1 + prefixed[0], prefixed[1], f"after {flag}={prefixed[2]}"))
            elif value and _plausible(value, named):
                found.append((index, len(flag) + 1, value, f"after {flag}="))
        elif index + 1 < len(args):
            # ``-x-image VALUE``; a fully qualified VALUE counts after any flag, even one whose name
            # holds an excluded word (``-workingdirinit-image``: "dir")
            following = args[index + 1]
            if not following.startswith("-") and (_plausible(following, True) if named else is_qualified_reference(following)):
                found.append((index + 1, 0, following, f"value of preceding arg {arg}"))
    return found


def is_candidate_key(key: str) -> bool:
    return bool(IMAGE_KEY.search(key)) and not _about_images(key)



_CREDENTIAL = re.compile(r"passw|secret|token|credential|api.?key|private|\.(?:crt|pem|key)\Z|\Atls\.", re.IGNORECASE)


# A setting an operator prefixes every image it derives with (ECK's container-registry, Istio's
# hub, IMAGE_REGISTRY): rewritten as a prefix, so what it prefixes lands where the mirror puts it.
_REGISTRY_SETTING = re.compile(r"(?:^|[._-])(?:container[-_]?registry|image[-_]?registry|hub)\Z|(?:containerRegistry|imageRegistry)\Z",
                               re.IGNORECASE)


def registry_setting(key: str, value: str) -> str | None:
    """The registry (host, optionally a path) ``value`` names when ``key`` is a registry setting."""
    return registry_value(value) if _REGISTRY_SETTING.search(key.lstrip("-")) else None


def registry_value(value: str) -> str | None:
    """The registry (host, optionally a path; ``quay.io/`` is ``quay.io``) ``value`` names, if it names one."""
    stripped = value.strip().rstrip("/")
    if not stripped or any(c in stripped for c in " @"):
        return None
    if stripped != "docker.io" and not has_explicit_registry(stripped + "/x"):
        return None
    return stripped if parse_reference(stripped + "/probe/probe:1") is not None else None


def registry_flags(args: list[str]) -> list[tuple[int, int, str]]:
    """``--container-registry=HOST`` / ``--container-registry HOST``: (arg index, offset, registry)."""
    found = []
    for index, arg in enumerate(args):
        flag, eq, value = arg.partition("=")
        if not flag.startswith("-"):
            continue
        if eq:
            registry = registry_setting(flag, value)
            if registry is not None:
                found.append((index, len(flag) + 1 + value.index(registry), registry))
        elif index + 1 < len(args) and not args[index + 1].startswith("-"):
            registry = registry_setting(flag, args[index + 1])
            if registry is not None:
                found.append((index + 1, args[index + 1].index(registry), registry))
    return found


def holds_credentials(key: str) -> bool:
    """A data key whose value is a credential or key material: never searched, never shown."""
    return bool(_CREDENTIAL.search(key))


def key_says_image(key: str) -> bool:
    """A key of data or of an embedded config that names an image (as env var names do)."""
    return is_candidate_key(key) or name_says_image(key)


# A bare word under an image key (``busybox``), but not a setting's word (``Always``, ``true``, ``1.2``).
_BARE_NAME = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*\Z")
_NOT_NAMES = frozenset("true false yes no on off null none nil always never ifnotpresent enabled disabled auto default "
                       "latest stable local remote".split())
_VERSION_LIKE = re.compile(r"v?\d+(?:[._-]\d+)*\Z")
_WORD = re.compile(r"\S+")
_LIST_SEPARATORS = re.compile(r"[^\s,;]+")


def _keyed_reference(value: str, image_key: bool) -> bool:
    """A whole value that is an image: under an image key any reference, bare names included;
    elsewhere only a fully qualified one."""
    if image_key:
        if _BARE_NAME.match(value):
            # a dotted bare word is a file or host name (``logo.png``, ``example.com``), not an image
            return ("." not in value and value not in _NOT_NAMES and not _VERSION_LIKE.match(value)
                    and parse_reference(value) is not None)
        return _plausible(value, True)
    return is_qualified_reference(value)


LEAN_FROM = 1 << 20  # characters: a longer text is searched for mentions without a list of its words (memory)


def _list_items(value: str, image_key: bool) -> list[Embedded]:
    """Every item of a whitespace/comma list when every item is a reference (or ``version=REF``);
    read item by item, so a long text that is no list costs nothing (a list of its items would)."""
    images: list[Embedded] = []
    for match in _LIST_SEPARATORS.finditer(value):
        found = _list_item(match.group(), image_key)
        if found is None:
            return []
        images.append((match.start() + found[0], found[1], found[2]))
    return images


def _lean_mentions(value: str) -> list[Embedded]:
    """Fully qualified references, keyed and split lines in a very long text: what ``in_text`` reports
    as mentions, without its list of words (no flags are read: they need the word after)."""
    mentions: list[Embedded] = [(m.start(), m.group().rstrip(".:)"), "in text") for m in _TOKEN.finditer(value)
                if is_qualified_reference(m.group().rstrip(".:)"))]
    seen = {offset for offset, _, _ in mentions}
    mentions += [found for found in [*keyed_lines(value), *split_lines(value)] if found[0] not in seen]
    return sorted(mentions)


def _host_ports_apart(found: list[Embedded]) -> tuple[list[Embedded], list[Embedded]]:
    """``(images, mentions)``: a ``host:port`` (``registry.example.com:5000``) is a registry's
    address more likely than an image tagged with a number, so it is said, not rewritten."""
    images: list[Embedded] = []
    mentions: list[Embedded] = []
    for offset, text, label in found:
        if _HOST_PORT.match(text):
            mentions.append((offset, text, HOST_PORT_LABEL))
        else:
            images.append((offset, text, label))
    return images, mentions


def in_text(value: str, key: str) -> tuple[list[Embedded], list[Embedded]]:
    """References in a string of data or of an embedded config under ``key``: ``(images, mentions)``.

    Images: the whole value (any reference under an image key, a fully qualified one under
    any key), items of a whitespace/comma list or of ``version=image`` lines, ``--flag=IMAGE``
    and ``--flag IMAGE``, ``docker://REF``.  Mentions: fully qualified references elsewhere in
    free text (a script's ``docker pull``): reported, never rewritten by default.
    """
    image_key = key_says_image(key)
    stripped = value.strip()
    if not stripped:
        return [], []
    start = value.index(stripped)
    if _keyed_reference(stripped, image_key):
        return _host_ports_apart([(start, stripped, None)])
    images = _list_items(value, image_key)
    if len(images) > 1:
        return _host_ports_apart(images)
    if len(value) > LEAN_FROM:
        return [], _lean_mentions(value)
    words = [(m.start(), m.group()) for m in _WORD.finditer(value)]
    images = []
    claimed: set[int] = set()
    for index, offset, text, label in in_args([w for _, w in words]):
        images.append((words[index][0] + offset, text, label))
        claimed.add(index)
    mentions: list[Embedded] = []
    for index, (offset, word) in enumerate(words):
        if index in claimed or "/" not in word:
            continue  # (a transport's "://" and a qualified reference's registry both need a "/")
        prefixed = transport(word.rstrip(",;"))
        if prefixed is not None:
            images.append((offset + prefixed[0], prefixed[1], f"after {prefixed[2]}"))
            continue
        for token in _TOKEN.finditer(word):
            text, at = token.group(), token.start()
            _, eq, rest = text.rpartition("=")
            if eq:
                text, at = rest, at + len(token.group()) - len(rest)
            text = text.rstrip(".:)")
            if text and is_qualified_reference(text):
                mentions.append((offset + at, text, "in text"))
    if ("mage" in value or "MAGE" in value) and "\n" in value.strip():  # a config's lines; one line is a message
        seen = {offset for offset, _, _ in mentions}
        mentions += [found for found in keyed_lines(value) if found[0] not in seen]
        mentions.sort()
    if ("epo" in value or "EPO" in value) and "\n" in value.strip():
        seen = {offset for offset, _, _ in mentions}
        mentions += [found for found in split_lines(value) if found[0] not in seen]
        mentions.sort()
    return images, mentions


# ``image: REF`` / ``image = "REF"`` / ``"image": "REF",`` lines of a config kept as text (one that
# does not parse, a pod template in a pipeline script): the key says image, the line holds nothing else.
_KEYED_LINE = re.compile(r"""^[ \t]*(?:-[ \t]+|[{,][ \t]*)?["']?(?P<key>[\w.-]+)["']?[ \t]*[:=][ \t]*["']?(?P<value>[^\s"',#]+)["']?[ \t]*,?[ \t]*(?:\#.*)?$""",
                         re.MULTILINE)


def keyed_lines(text: str) -> list[Embedded]:
    """References on lines of free text whose key says image (``(offset, reference, label)``):
    mentions, reported where the text cannot be parsed, never rewritten by default."""
    found: list[Embedded] = []
    for match in _KEYED_LINE.finditer(text):
        value = match["value"]
        if key_says_image(match["key"]) and _plausible(value, True) and not value.startswith(("$", "{", "<")):
            found.append((match.start("value"), value, f"after {match['key']}"))
    return found


def split_lines(text: str) -> list[Embedded]:
    """``X_repository = R`` + ``X_tag = T`` lines of a config kept as text (an INI or properties
    file: Airflow's ``worker_container_repository``/``worker_container_tag``): the repository
    value, labelled with the joined reference.  Mentions: reported, never rewritten by default
    (with --rewrite-candidates the repository becomes the target's path, the tag stays)."""
    lines: dict[str, tuple[int, str]] = {}
    for match in _KEYED_LINE.finditer(text):
        lines.setdefault(match["key"], (match.start("value"), match["value"]))
    found: list[Embedded] = []
    for members, block in split.flat_blocks({key: value for key, (_, value) in lines.items()}):
        for part, member in block.parts.items():
            key = members.get(member)
            if key is not None and not lines[key][1].startswith(("$", "{", "<")):
                found.append((lines[key][0], lines[key][1], f"split: {part} of {block.ref.normalized}"))
    return found


# Characters a reference is written in (``reference._REFERENCE_CHARS``, upper case included: an
# upper-case repository is the mistake most often made), and a tag as Docker writes it.
_REFERENCE_SHAPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]*\Z")
_SHAPED_TAG = re.compile(r":([\w][\w.-]*)\Z")
MAX_SHAPED = 2048  # characters: longer values are no reference anyone meant


def malformed_reference(value: str) -> str | None:
    """Why ``value`` (under an image key) is shaped like a reference but is none Docker accepts:
    an upper-case repository, a tag over 128 characters, a name over 255; None when it is a
    reference or no reference was meant (a word, a version, a path, a URL, ``host:port``)."""
    if len(value) > MAX_SHAPED or not _REFERENCE_SHAPE.match(value) or not any(c in value for c in "/:@"):
        return None
    if "//" in value or _HOST_PORT.match(value) or _VERSION_LIKE.match(value) or value.startswith("sha256:"):
        return None
    if parse_reference(value) is not None or transport(value) is not None:
        return None
    first, slash, _ = value.partition("/")
    if slash and ":" in first and not first.rpartition(":")[2].isdigit():
        return None  # a ":" before the first "/" is a port or nothing (``C:/Images``, ``urn:x/y``)
    name, at, _ = value.partition("@")
    tag = _SHAPED_TAG.search(name)
    if tag and "/" not in tag.group(1):
        name = name[:tag.start()]
    registry, slash, path = name.partition("/")
    if not (slash and ("." in registry or ":" in registry or registry == "localhost")):
        path = name
    if path != path.lower():
        return "upper-case letters in the repository"
    if tag and len(tag.group(1)) > 128:
        return f"a tag of {len(tag.group(1))} characters (Docker allows 128)"
    if len(name) > 255:
        return f"a name of {len(name)} characters (Docker allows 255)"
    return "Docker does not accept it as a reference"


def _list_item(text: str, image_key: bool) -> Embedded | None:
    """One item of a reference list: ``REF`` or ``version=REF``; None when it is no reference."""
    key, eq, rest = text.partition("=")
    if eq:
        return (len(key) + 1, rest, f"after {key}=") if rest and _keyed_reference(rest, image_key) else None
    return (0, text, None) if _keyed_reference(text, image_key) else None
