"""The plain forms: sources, ``source target`` lines, the JSON list; the YAML and name helpers
the other formats share."""
from __future__ import annotations

import json
import re
from typing import Any

from .format import Format


def text(listing: dict[str, Any]) -> str:
    return "".join(f"{image['source']}\n" for image in listing["images"])


def mapping(listing: dict[str, Any]) -> str:
    return "".join(f"{image['source']} {image['target']}\n" for image in listing["images"])


def to_json(listing: dict[str, Any]) -> str:
    return json.dumps(listing, indent=2, ensure_ascii=False) + "\n"


def to_yaml(data: Any) -> str:
    import yaml

    return str(yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1000))


_NAME_UNSAFE = re.compile(r"[^a-z0-9._-]+")


def safe_name(text: str) -> str:
    """Lowercase, every run of characters Harbor names and YAML keys should not hold made one '-'."""
    return _NAME_UNSAFE.sub("-", text.lower())


TEXT = Format("text", "sources", lambda listing, warn: text(listing))
MAP = Format("map", "'source target'", lambda listing, warn: mapping(listing), needs_registry=True)
JSON = Format("json", "the image list", lambda listing, warn: to_json(listing))
