"""Images written inside strings: env vars, container args, image-like keys.

These are the places operators are told which images to run.  Each function
returns ``(offset, reference, label)`` triples: the reference's position within
the string value and a label for the image list (``after --flag=``).
"""
from __future__ import annotations

import re

from .reference import is_qualified_reference, parse_reference

Embedded = tuple[int, str, "str | None"]

# A name that says "image" ...
_SAYS_IMAGE = re.compile(r"image", re.IGNORECASE)
# ... but not a setting *about* images (IMAGE_PULL_POLICY, --image-pull-secret, IMAGE_TAG).
_ABOUT_IMAGES = re.compile(
    r"pull|polic|secret|tag|version|registr|repo|digest|prefix|suffix|host|url|path|dir|size|format|type|count",
    re.IGNORECASE,
)
# Keys whose string value is an image in kinds no rule covers (and CRD properties).
IMAGE_KEY = re.compile(r"(?:^image|Image|_image)(?:_?[Nn]ame)?\Z")
_TOKEN = re.compile(r"[^\s,;\"']+")


def name_says_image(name: str) -> bool:
    return bool(_SAYS_IMAGE.search(name)) and not _ABOUT_IMAGES.search(name)


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
            if value and _plausible(value, named):
                found.append((index, len(flag) + 1, value, f"after {flag}="))
        elif named and index + 1 < len(args):
            following = args[index + 1]
            if not following.startswith("-") and _plausible(following, True):
                found.append((index + 1, 0, following, f"value of preceding arg {arg}"))
    return found


def is_candidate_key(key: str) -> bool:
    return bool(IMAGE_KEY.search(key)) and not _ABOUT_IMAGES.search(key.replace("Name", "").replace("_name", ""))

