"""Images a resource implies: the operator derives them from a version (``spec.version`` and
no ``spec.image``), so they are written nowhere in the stream.

Requests are collected while documents are read (``finder``) and resolved here once the
whole stream is read, because the operator's own list (``STRIMZI_KAFKA_IMAGES``: one
``version=image`` line per version) may come after its custom resources.  Each becomes a
site: listed for the mirror (``"implied": true``) and made explicit by inserting the image
field, so the pod pulls the mirror whatever the operator's registry setting says.
"""
from __future__ import annotations

from sys import intern

from .finder import Findings, ImpliedRequest, Site
from .reference import parse_reference


def resolve(findings: Findings) -> None:
    for request in findings.implied:
        ref, warning = _reference(request, findings.tables)
        where = request.doc.where(request.node, request.path)
        if ref is None and request.note is not None and request.default is None and request.lookup is None:
            findings.reported_by.append(request.rule)
            findings.left_public.append(f"{where}: no {request.path} names the image, so the operator runs its default, {request.note}, "
                                        f"which this stream does not name: set {request.path} to the mirrored image")
            continue
        if ref is None:
            fields = ", ".join(m.removeprefix("$.") for m in request.missing)
            missing = f" (it does not set {fields})" if request.missing else ""
            findings.left_public.append(f"{where}: the operator derives an image here that cannot be determined{missing}; "
                                        f"set {request.path} to the image and run again")
            continue
        if warning:
            findings.warnings.append(f"{where}: {warning}")
        findings.sites.append(Site(request.doc, request.node, 0, intern(ref), intern(f"{request.path} (implied)"), request.rule,
                                   "implied", implied=True, insert=request.insert))
        if request.insert is None:
            findings.left_public.append(f"{where}: the operator derives {ref} here (listed for the mirror), but there is "
                                        f"no place to write it: set {request.path} to the mirrored image")
    findings.implied.clear()


def _reference(request: ImpliedRequest, tables: dict[str, dict[str, str]]) -> tuple[str | None, str | None]:
    """The implied reference and a warning when it is only the rule's guess."""
    if request.lookup is not None and request.key is not None:
        listed = tables.get(request.lookup, {}).get(request.key)
        if listed is not None and parse_reference(listed) is not None:
            return listed, None
    if request.default is None or parse_reference(request.default) is None:
        return None, None
    if request.lookup is not None:
        return request.default, (f"implied image {request.default} is the rule's default: the stream holds no "
                                  f"{request.lookup} list naming version {request.key}; check it is the image your operator runs")
    return request.default, None
