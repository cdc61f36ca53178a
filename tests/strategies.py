"""Hypothesis strategies for realistic rendered manifest streams, and the oracle that says
what the post-renderer must make of them.

A generated stream is a ``Manifest``: Python objects (what YAML loads) plus the exact text
written for them (block YAML in either sequence-indent style, quoted or plain images,
comments, ``---``/``# Source:`` separators, JSON documents, CRLF).  Image references are
built from Docker's grammar, so the oracle knows each one's normalised name without asking
the code under test.
"""
from __future__ import annotations

import copy
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

EXCLUDE = ("docker.io/library/busybox", "ghcr.io/acme/**")
HEX = "0123456789abcdef"


# -- image references ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Ref:
    """A reference as written, and what Docker reads it as (None: not a reference at all)."""

    written: str
    domain: str | None = None  # normalised (docker.io for Docker Hub)
    path: str | None = None  # normalised (library/ added for Docker Hub short names)
    suffix: str = ""  # ":tag", "@digest" or both, as written

    @property
    def is_reference(self) -> bool:
        return self.domain is not None

    @property
    def name(self) -> str:
        return f"{self.domain}/{self.path}"

    @property
    def source(self) -> str:
        return self.name + self.suffix


_alnum = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=6)
_separator = st.sampled_from([".", "_", "__", "-", "--"])


@st.composite
def path_component(draw: st.DrawFn, allow_dot: bool = True) -> str:
    parts = [draw(_alnum)]
    for _ in range(draw(st.integers(0, 2))):
        sep = draw(_separator)
        if sep == "." and not allow_dot:
            sep = "-"
        parts += [sep, draw(_alnum)]
    return "".join(parts)


_domains = st.sampled_from([
    "quay.io", "ghcr.io", "registry.k8s.io", "gcr.io", "docker.io", "localhost", "localhost:5000",
    "mirror.example.com:8443", "registry.gitlab.com", "public.ecr.aws",
])
_tag = st.from_regex(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}\Z")
_digest = st.text(alphabet=HEX, min_size=64, max_size=64).map(lambda h: "sha256:" + h)


@st.composite
def references(draw: st.DrawFn, private: tuple[str, ...] = ()) -> Ref:
    """Any image reference Docker accepts: with/without domain (and port), docker.io short and
    library/ names, tag, digest, tag+digest; sometimes one already at a private registry."""
    domain = draw(st.one_of(st.none(), _domains, st.sampled_from(private) if private else st.nothing()))
    components = [draw(path_component(allow_dot=domain is not None))]
    components += draw(st.lists(path_component(), max_size=2))
    if domain in (None, "docker.io") and draw(st.booleans()):
        components = ["library", components[-1]] if len(components) == 1 else components
    if domain is None and components[0] == "localhost":
        components[0] = "local-host"
    tag = draw(st.none() | _tag)
    digest = draw(st.none() | _digest)
    suffix = (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
    written_path = "/".join(components)
    written = (f"{domain}/" if domain else "") + written_path + suffix
    norm_domain = domain or "docker.io"
    norm_path = written_path
    if norm_domain == "docker.io" and "/" not in norm_path:
        norm_path = "library/" + norm_path
    return Ref(written, norm_domain, norm_path, suffix)


NOT_REFERENCES = [
    Ref("$(params.IMAGE)"), Ref("$(inputs.params.builderImage)"), Ref("ko://github.com/acme/cmd/app"),
    Ref("{{ .Values.image }}"), Ref("Nginx:Latest"), Ref("nginx:1.25 # not a comment"), Ref(""),
]


# -- the stream ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Styled:
    """A string scalar with the style it is written in."""

    value: str
    style: str  # "plain", "single", "double"
    comment: bool = False

    def render(self) -> str:
        if self.style == "single":
            text = "'" + self.value.replace("'", "''") + "'"
        elif self.style == "double" or not _plain_safe(self.value):
            text = json.dumps(self.value, ensure_ascii=False)
        else:
            text = self.value
        return text + ("  # set by the chart" if self.comment else "")


def _plain_safe(value: str) -> bool:
    """Written plain, YAML reads it back as this very string (not a number, bool or null)."""
    import yaml

    return (bool(value) and value[0].isalnum() and ": " not in value and " #" not in value and not value.endswith(":")
            and yaml.safe_load(value) == value)


@dataclass
class Manifest:
    documents: list[dict[str, Any]]  # what YAML loads, images as Styled
    text: str
    refs: list[Ref] = field(default_factory=list)  # every image field, in order

    def loaded(self) -> list[Any]:
        return [_plain(d) for d in self.documents]


def _plain(value: Any) -> Any:
    if isinstance(value, Styled):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


WORKLOADS = {
    "Pod": ("v1", ("spec",)),
    "Deployment": ("apps/v1", ("spec", "template", "spec")),
    "StatefulSet": ("apps/v1", ("spec", "template", "spec")),
    "DaemonSet": ("apps/v1", ("spec", "template", "spec")),
    "ReplicaSet": ("apps/v1", ("spec", "template", "spec")),
    "Job": ("batch/v1", ("spec", "template", "spec")),
    "CronJob": ("batch/v1", ("spec", "jobTemplate", "spec", "template", "spec")),
}


def pod_specs(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The pod specs of one loaded document (List items included)."""
    kind = document.get("kind")
    if kind == "List":
        for item in document.get("items", []):
            yield from pod_specs(item)
    elif kind in WORKLOADS:
        node: Any = document
        for key in WORKLOADS[kind][1]:
            node = node[key]
        yield node


@st.composite
def image_values(draw: st.DrawFn, pool: list[Ref], private: tuple[str, ...]) -> tuple[Styled, Ref]:
    if pool and draw(st.integers(0, 3)) == 0:
        ref = draw(st.sampled_from(pool))  # the same image again, elsewhere
    elif draw(st.integers(0, 9)) == 0:
        ref = draw(st.sampled_from(NOT_REFERENCES))
    else:
        ref = draw(references(private))
    pool.append(ref)
    style = draw(st.sampled_from(["plain", "single", "double"]))
    return Styled(ref.written, style, draw(st.integers(0, 4)) == 0), ref


@st.composite
def containers(draw: st.DrawFn, pool: list[Ref], private: tuple[str, ...], refs: list[Ref], prefix: str) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(st.integers(1, 3))):
        image, ref = draw(image_values(pool, private))
        refs.append(ref)
        container: dict[str, Any] = {"name": f"{prefix}{i}", "image": image}
        if draw(st.booleans()):
            container["imagePullPolicy"] = "IfNotPresent"
        if draw(st.integers(0, 3)) == 0:  # decoys: never rewritten
            container["env"] = [{"name": "MESSAGE", "value": "image: nginx:1.25"}, {"name": "PORT", "value": "8080"}]
        if draw(st.booleans()):
            keys = list(container)
            draw(st.randoms()).shuffle(keys)
            container = {k: container[k] for k in keys}
        out.append(container)
    return out


@st.composite
def pod_spec(draw: st.DrawFn, pool: list[Ref], private: tuple[str, ...], refs: list[Ref], existing_secrets: str) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if draw(st.integers(0, 2)) == 0:
        spec["initContainers"] = draw(containers(pool, private, refs, "init"))
    spec["containers"] = draw(containers(pool, private, refs, "c"))
    if draw(st.booleans()):
        spec["restartPolicy"] = "Always"
    if draw(st.integers(0, 3)) == 0:
        spec["nodeSelector"] = {"kubernetes.io/os": "linux", "image": "not-an-image-field:1"}
    keys = list(spec)
    draw(st.randoms()).shuffle(keys)
    spec = {k: spec[k] for k in keys}
    if existing_secrets != "none" and draw(st.booleans()):
        names = draw(st.lists(st.sampled_from(["regcred", "existing", "other-secret"]), min_size=0, max_size=2, unique=True))
        entries = [{"name": n} for n in names]
        if existing_secrets == "anywhere" and draw(st.booleans()):
            spec = {"imagePullSecrets": entries, **spec}  # before other keys
        else:
            spec["imagePullSecrets"] = entries  # as the last key
    return spec


@st.composite
def documents(draw: st.DrawFn, pool: list[Ref], private: tuple[str, ...], refs: list[Ref], index: int, existing_secrets: str) -> dict[str, Any]:
    kind = draw(st.sampled_from([*WORKLOADS, "ConfigMap", "Service"]))
    metadata = {"name": f"obj-{index}", "labels": {"app.kubernetes.io/name": "app", "image": "decoy"}}
    if kind == "ConfigMap":  # data is searched by shape: a qualified reference is an image, the rest decoys
        ref = draw(references(private).filter(_qualified))
        refs.append(ref)
        return {"apiVersion": "v1", "kind": kind, "metadata": metadata,
                "data": {"defaultImage": Styled(ref.written, draw(st.sampled_from(["plain", "single", "double"]))),
                         "MESSAGE": "image: nginx:1.25", "url": "https://quay.io/acme/app:1.0", "endpoint": "redis-master:6379"}}
    if kind == "Service":
        return {"apiVersion": "v1", "kind": kind, "metadata": metadata, "spec": {"ports": [{"port": 80}]}}
    api, path = WORKLOADS[kind]
    spec = draw(pod_spec(pool, private, refs, existing_secrets))
    template: dict[str, Any] = {"metadata": {"labels": {"app": "x"}}, "spec": spec}
    if kind == "Pod":
        body: dict[str, Any] = spec
    elif kind == "CronJob":
        body = {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": template}}}
    else:
        body = {"template": template}
        if kind != "Job":
            body = {"replicas": 1, "selector": {"matchLabels": {"app": "x"}}, **body}
    return {"apiVersion": api, "kind": kind, "metadata": metadata, "spec": body}


@st.composite
def manifests(draw: st.DrawFn, private: tuple[str, ...] = (), existing_secrets: str = "last") -> Manifest:
    """A rendered stream of 1-5 documents.  ``existing_secrets``: "none", "last" (an existing
    imagePullSecrets is the last thing in its document) or "anywhere"."""
    pool: list[Ref] = []
    refs: list[Ref] = []
    docs = [draw(documents(pool, private, refs, i, existing_secrets)) for i in range(draw(st.integers(1, 5)))]
    # kubectl's List wrapping them; in "last" mode an existing imagePullSecrets list is never
    # followed by another item (the mode that kept the property tests green before that fix).
    has_secrets = any("imagePullSecrets" in spec for doc in docs for spec in pod_specs(doc))
    if draw(st.integers(0, 5)) == 0 and not (existing_secrets == "last" and has_secrets):
        docs = [{"apiVersion": "v1", "kind": "List", "items": docs}]
    rnd = draw(st.randoms(use_true_random=False))
    pieces = []
    for i, doc in enumerate(docs):
        header = draw(st.sampled_from(["---\n", f"---\n# Source: chart/templates/t{i}.yaml\n", "--- # separator\n"]))
        if i == 0 and draw(st.booleans()):
            header = header.replace("---\n", "", 1) if header.startswith("---\n") else header
        if draw(st.integers(0, 4)) == 0:
            body = json.dumps(_plain(doc), ensure_ascii=False) + "\n"
        else:
            body = "".join(line + "\n" for line in _block(doc, 0, rnd))
        end = "...\n" if draw(st.integers(0, 6)) == 0 else ""
        pieces.append(header + body + end)
    text = "".join(pieces)
    if draw(st.integers(0, 4)) == 0:
        text = text.replace("\n", "\r\n")
    return Manifest(docs, text, refs)


def _scalar(value: Any) -> str:
    if isinstance(value, Styled):
        return value.render()
    if isinstance(value, str):
        return value if _plain_safe(value) else json.dumps(value, ensure_ascii=False)
    return json.dumps(value)


def _block(mapping: dict[str, Any], indent: int, rnd: random.Random) -> list[str]:
    """Block YAML lines; each list picks its own indent style, as Helm output does."""
    lines: list[str] = []
    pad = " " * indent
    for key, value in mapping.items():
        qkey = _scalar(key)
        if isinstance(value, dict) and value:
            lines.append(f"{pad}{qkey}:")
            lines += _block(value, indent + 2, rnd)
        elif isinstance(value, list) and value:
            lines.append(f"{pad}{qkey}:")
            item_indent = indent + rnd.choice((0, 2))
            for item in value:
                if isinstance(item, dict) and item:
                    inner = _block(item, item_indent + 2, rnd)
                    inner[0] = " " * item_indent + "- " + inner[0][item_indent + 2:]
                    lines += inner
                else:
                    lines.append(" " * item_indent + "- " + _scalar(item))
        elif isinstance(value, (dict, list)):
            lines.append(f"{pad}{qkey}: {'{}' if isinstance(value, dict) else '[]'}")
        else:
            lines.append(f"{pad}{qkey}: {_scalar(value)}")
    return lines


# -- the oracle ----------------------------------------------------------------------------------
def is_excluded(ref: Ref) -> bool:
    return ref.name == "docker.io/library/busybox" or ref.name.startswith("ghcr.io/acme/")


def expected_target(ref: Ref, registry: str, folder: str | None) -> str | None:
    """What the image field must hold afterwards; None when it stays as written (private: on the
    registry and, with a folder, below it; an image on the registry outside the folder is moved)."""
    private = ref.domain == registry and (not folder or (ref.path or "").startswith(folder + "/"))
    if not ref.is_reference or private or is_excluded(ref):
        return None
    prefix = f"{registry}/{folder}" if folder else registry
    return f"{prefix}/{ref.path}{ref.suffix}"


def _qualified(ref: Ref) -> bool:
    """Written with its registry and a tag or digest (an image under any key of ConfigMap data)."""
    first, sep, _ = ref.written.partition("/")
    return bool(sep and ref.suffix and ("." in first or ":" in first or first == "localhost"))


def expected_documents(manifest: Manifest, registry: str, folder: str | None, secrets: tuple[str, ...]) -> list[Any]:
    """The loaded input with only the image fields rewritten and the pull secrets added."""
    by_written = {ref.written: ref for ref in manifest.refs}
    docs = copy.deepcopy(manifest.loaded())
    for doc in docs:
        for item in [doc, *doc.get("items", [])]:
            if item.get("kind") == "ConfigMap":
                target = expected_target(by_written[item["data"]["defaultImage"]], registry, folder)
                if target is not None:
                    item["data"]["defaultImage"] = target
        for spec in pod_specs(doc):
            for key in ("initContainers", "containers"):
                for container in spec.get(key, []):
                    target = expected_target(by_written[container["image"]], registry, folder)
                    if target is not None:
                        container["image"] = target
            if secrets:
                existing = spec.get("imagePullSecrets") or []
                names = {e["name"] for e in existing}
                spec["imagePullSecrets"] = existing + [{"name": s} for s in secrets if s not in names]
    return docs


# -- YAML's corners, on top of a generated stream --------------------------------------------------
EXOTIC_BREAKS = ("\r", "\x85", "\u2028", "\u2029")  # line breaks libyaml and go-yaml read besides \n and \r\n


@dataclass(frozen=True)
class Hostile:
    """A generated stream rewritten with merge keys, duplicate keys, exotic line breaks and
    aliases next to comments naming them; ``refs`` still lists every image written."""

    text: str
    refs: list[Ref]
    changes: tuple[str, ...]  # what was done, for the failure report


_IMAGE_LINE = re.compile(r"^( *)(- )?image: (?!&|\*)([^#\r\n\x85\u2028\u2029]*?)(  # set by the chart)?$")
_KIND_LINE = re.compile(r"^( *)kind: ", re.MULTILINE)


@st.composite
def hostile_manifests(draw: st.DrawFn, private: tuple[str, ...] = ()) -> Hostile:
    manifest = draw(manifests(private=private, existing_secrets="anywhere"))
    text, changes = manifest.text, []
    if "\r\n" in text:  # keep it to one kind of line ending before adding odd ones
        text = text.replace("\r\n", "\n")
    for _ in range(draw(st.integers(1, 4))):
        change = draw(st.sampled_from(["merge", "duplicate-image", "duplicate-kind", "comment-alias", "line-break"]))
        lines = text.split("\n")
        images = [i for i, line in enumerate(lines) if _IMAGE_LINE.match(line)]
        if change == "merge" and images:  # image: X -> <<: {image: X}
            i = draw(st.sampled_from(images))
            m = _IMAGE_LINE.match(lines[i])
            assert m is not None
            lines[i] = f"{m.group(1)}{m.group(2) or ''}<<: {{image: {m.group(3)}}}"
        elif change == "duplicate-image" and images:  # an earlier image key Kubernetes never reads
            i = draw(st.sampled_from(images))
            m = _IMAGE_LINE.match(lines[i])
            assert m is not None
            lines[i:i + 1] = [f"{m.group(1)}{m.group(2) or ''}image: decoy:0", m.group(1) + ("  " if m.group(2) else "") + lines[i][len(m.group(1) + (m.group(2) or "")):]]
        elif change == "duplicate-kind":
            kinds = [i for i, line in enumerate(lines) if _KIND_LINE.match(line)]
            if kinds:
                i = draw(st.sampled_from(kinds))
                indent = _KIND_LINE.match(lines[i]).group(1)  # type: ignore[union-attr]
                lines.insert(i, indent + draw(st.sampled_from(["kind: Service", '"kind": ConfigMap', "kind : Service"])))
        elif change == "comment-alias" and len(images) >= 2:  # the second image aliases the first, after a comment naming it
            first, second = sorted(draw(st.lists(st.sampled_from(images), min_size=2, max_size=2, unique=True)))
            if any(line.startswith(("---", "...")) for line in lines[first:second]):
                continue  # an alias names an anchor of its own document only
            anchor = f"i{first}"
            lines[first] = lines[first].replace("image: ", f"image: &{anchor} ", 1)
            m = _IMAGE_LINE.match(lines[second])
            assert m is not None
            indent = " " * (len(m.group(1)) + (4 if m.group(2) else 2))
            lines[second] = f"{m.group(1)}{m.group(2) or ''}image: # was *{anchor}\n{indent}*{anchor}"
        elif change == "line-break":
            breaks = [i for i in range(len(lines) - 1) if not lines[i + 1].startswith(("---", "..."))]
            if breaks:
                i = draw(st.sampled_from(breaks))
                lines[i] += draw(st.sampled_from(EXOTIC_BREAKS)) + lines.pop(i + 1)
        else:
            continue
        changes.append(change)
        text = "\n".join(lines)
    return Hostile(text, manifest.refs, tuple(changes))
