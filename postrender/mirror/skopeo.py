"""``--format skopeo``: ``skopeo sync --src yaml`` files, for mirroring without Harbor."""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from .format import Format
from .listing import repository_below
from .plain import to_yaml


def sync_files(listing: dict[str, Any]) -> str:
    """``skopeo sync --src yaml`` files, one YAML document per destination path.

    Without ``--scoped`` skopeo puts each image at ``DEST/<last path component>``, and with it at
    ``DEST/<source host>/<path>``: neither keeps the repository path below a fixed destination,
    so images are grouped by the destination their target needs, one document each, with the
    command to run it as a comment.
    """
    registry = listing["registry"]
    by_dest: dict[str, dict[str, dict[str, set[str]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(set)))
    for image in listing["images"]:
        # Tags and digests hold no '/': the destination is the target up to its last one.
        dest = (image["target"] or "/" + repository_below(image, listing["folder"])).rpartition("/")[0]
        versions = by_dest[dest][image["registry"]][image["repository"]]
        if image["tag"]:
            versions.add(str(image["tag"]))
        if image["digest"]:
            versions.add(str(image["digest"]))
        if not image["tag"] and not image["digest"]:
            versions.add("latest")  # never an empty list: skopeo would copy every tag
    documents = []
    for dest in sorted(by_dest):
        shown = dest if registry else f"REGISTRY{dest}"
        body = {domain: {"images": {repo: sorted(versions) for repo, versions in sorted(repos.items())}}
                for domain, repos in sorted(by_dest[dest].items())}
        documents.append(
            f"# skopeo sync --all --preserve-digests --src yaml --dest docker THIS_FILE {shown}\n"
            + to_yaml(body)
        )
    return "".join(f"---\n{doc}" for doc in documents) if documents else "# no images\n"


FORMAT = Format("skopeo", "skopeo sync files", lambda listing, warn: sync_files(listing))
