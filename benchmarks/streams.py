"""Benchmark input: streams of a chosen size built from the real corpus (or fixtures/).

A stream of N MB keeps the corpus's mix by bytes (CRDs vs workloads): whole
copies of the corpus (the 10.9 MB corpus is "10 MB", five copies are "50 MB"),
and a byte-proportional sample of its documents below one copy ("1 MB").
Copy k > 0 renames every document's ``metadata.name`` (``<name>-c<k>``), because
``kustomize`` refuses two resources with the same id; CRDs are renamed the same
way, so the mix stays the same and kustomize still accepts the stream.
"""
from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from pathlib import Path

MB = 1_000_000

# A document starts at a "---" line (possibly with content after it, e.g. "--- {json}").
_SEPARATOR = re.compile(r"^---(?=[ \t]|\r?$)", re.MULTILINE)
_METADATA = re.compile(r"^metadata:[ \t]*\r?$", re.MULTILINE)
_INDENT = re.compile(r"[ \t]+")


@dataclass(frozen=True)
class Document:
    text: str  # including its "---" line and "# Source:" comment
    source: str  # the corpus file it came from


@dataclass(frozen=True)
class BuiltStream:
    path: Path
    size: int  # bytes
    documents: int
    copies: float  # corpus copies it holds (by bytes)
    unrenamed: int  # documents of a copy kept with their original name (it could not be changed)


def corpus_files(corpus: Path | None, fixtures: Path) -> tuple[list[Path], str]:
    """The rendered chart streams to build from: the corpus when present, else the fixtures."""
    if corpus is not None and corpus.is_dir():
        files = sorted(p for p in corpus.glob("*.yaml") if not p.name.endswith((".docs.yaml", ".images.yaml")))
        if files:
            return files, str(corpus)
    return sorted(fixtures.glob("*.yaml")), str(fixtures)


def split_documents(text: str, source: str) -> list[Document]:
    """Split on "---" lines; a leading part before the first separator is a document too."""
    starts = [m.start() for m in _SEPARATOR.finditer(text)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    out = []
    for begin, end in zip(starts, [*starts[1:], len(text)]):
        chunk = text[begin:end]
        if chunk.strip():
            if not chunk.endswith("\n"):
                chunk += "\n"
            if not chunk.startswith("---"):
                chunk = "---\n" + chunk
            out.append(Document(chunk, source))
    return out


def has_content(doc: Document) -> bool:
    return any(line.strip() and not line.lstrip().startswith(("#", "---")) for line in doc.text.splitlines())


def rename(doc: Document, suffix: str) -> str | None:
    """``doc`` with ``-<suffix>`` appended to its top-level metadata.name; None when not found.

    A text edit on the ``name:`` line at the first indentation below ``metadata:``
    (block style, as Helm renders): quotes are kept, the rest stays byte for byte.
    """
    if not has_content(doc):
        return doc.text  # comment-only: nothing to rename
    meta = _METADATA.search(doc.text)
    if meta is None:
        return None
    position = meta.end() + 1
    indent: str | None = None
    while position < len(doc.text):
        end = doc.text.find("\n", position)
        end = len(doc.text) if end == -1 else end
        line = doc.text[position:end].rstrip("\r")
        if line.strip() and not line.lstrip().startswith("#"):
            lead = _INDENT.match(line)
            if lead is None:
                return None  # left the metadata block without a name
            if indent is None:
                indent = lead.group(0)
            if line.startswith(indent + "name:") and len(lead.group(0)) == len(indent):
                value_start = position + len(indent) + len("name:")
                value = line[len(indent) + len("name:"):]
                stripped = value.split(" #")[0].rstrip()
                core = stripped.strip()
                if not core or core[0] in "&*!|>{[":
                    return None
                value_end = value_start + len(value) - len(value.lstrip()) + len(core)
                insert = value_end - 1 if core[0] in "\"'" and core[-1] == core[0] and len(core) > 1 else value_end
                return doc.text[:insert] + "-" + suffix + doc.text[insert:]
        position = end + 1
    return None


def build_stream(documents: list[Document], corpus_size: int, target: int, path: Path) -> BuiltStream:
    """Write a stream of about ``target`` bytes to ``path``: whole copies, then a byte-proportional sample."""
    pieces: list[str] = []
    size = count = unrenamed = 0
    copy = 0
    # Whole copies when they land within 15% of the target (10 MB -> 1 copy, 50 MB -> 5 copies):
    # the mix stays exact and the 50/10 size ratio is exactly 5.
    whole = round(target / corpus_size)
    if whole >= 1 and abs(whole * corpus_size - target) <= 0.15 * target:
        target = whole * corpus_size
    while size < target * 0.97:  # "about" N MB: documents are up to 1.4 MB each
        remaining = target - size
        fraction = min(1.0, remaining / corpus_size)
        seen = taken = 0
        for doc in documents:
            seen += len(doc.text)
            # Proportional sampling: take a document when that brings the taken bytes closer to
            # the quota (a 1.4 MB CRD is not taken for a 1 MB stream, smaller ones catch up).
            if fraction < 1.0 and taken + len(doc.text) / 2 > fraction * seen:
                continue
            text = doc.text if copy == 0 else rename(doc, f"c{copy}")
            if text is None:  # kept as is: every copy holds every document (kustomize may refuse the duplicate)
                unrenamed += 1
                text = doc.text
            pieces.append(text)
            taken += len(text)
            count += 1
        size += taken
        copy += 1
        if taken == 0:
            break
    data = "".join(pieces)
    path.write_text(data, encoding="utf-8")
    encoded = len(data.encode("utf-8"))
    return BuiltStream(path, encoded, count, round(encoded / corpus_size, 3), unrenamed)


def load_corpus(files: list[Path]) -> tuple[list[Document], int]:
    documents: list[Document] = []
    for file in files:
        documents += split_documents(file.read_text(encoding="utf-8"), file.name)
    return documents, sum(len(d.text) for d in documents)


def one_document_stream(documents: list[Document], path: Path) -> Path:
    """A small stream with one workload (the start-up measurement): the first Deployment found."""
    for doc in documents:
        if re.search(r"^kind:\s*Deployment\s*$", doc.text, re.MULTILINE):
            path.write_text(doc.text, encoding="utf-8")
            return path
    path.write_text(next(d.text for d in documents if has_content(d)), encoding="utf-8")
    return path


def worst_cases(directory: Path, scale: float = 1.0) -> list[tuple[str, Path, tuple[str, ...]]]:
    """Generated inputs that stress memory and time (issue 11 item 8), ``scale`` x their full size,
    each with the commands to run on it: (label, path, commands among post-render, check, images)."""
    out: list[tuple[str, Path, tuple[str, ...]]] = []
    post = ("post-render",)
    empty = directory / "empty-documents.yaml"
    empty.write_bytes(b"---\n" * int(10_000_000 * scale))
    out.append(("40 MB of '---' lines", empty, post))
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata:", "  name: big", "data:"]
    lines += [f'  key{i}: "value number {i} with some text"' for i in range(int(120_000 * scale))]
    config_map = directory / "configmap-100k-keys.yaml"
    config_map.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out.append(("5 MB ConfigMap, 120k keys", config_map, post))
    secret = ["apiVersion: v1", "kind: Secret", "metadata:", "  name: wide", "data:"]
    secret += [f"  key{i}: " + base64.b64encode(f"value {i} image=quay.io/x/y:{i}".encode()).decode()
               for i in range(int(100_000 * scale))]
    wide = directory / "wide-secret.yaml"
    wide.write_text("\n".join(secret) + "\n", encoding="utf-8")
    out.append(("7 MB Secret, 100k keys", wide, post))
    pod = ("- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: p{0}\n  spec:\n    containers:\n    - name: c\n"
           "      image: nginx:1.{0}\n      env:\n      - name: A\n        value: b\n")
    listing = directory / "list-of-pods.yaml"
    listing.write_text("apiVersion: v1\nkind: List\nitems:\n" + "".join(pod.format(i) for i in range(int(48_000 * scale))),
                       encoding="utf-8")
    out.append(("8 MB kind: List of pods", listing, post))
    kubectl = directory / "kubectl-list.yaml"
    kubectl.write_text("apiVersion: v1\nitems:\n" + "".join(_KUBECTL_POD.format(i, i % 7) for i in range(int(8_000 * scale)))
                       + 'kind: List\nmetadata:\n  resourceVersion: ""\n', encoding="utf-8")
    out.append(("30 MB kubectl List of 8k pods", kubectl, ("post-render", "check")))
    import yaml  # (only here: the benchmark's start-up guard counts what streams.py imports)

    one = yaml.safe_load(_KUBECTL_POD.format(0, 0)[2:].replace("\n  ", "\n"))
    kubectl_json = directory / "kubectl-list.json"
    with kubectl_json.open("w", encoding="utf-8") as handle:  # as `kubectl get pods -o json` prints it
        body = json.dumps({"apiVersion": "v1", "items": ["ITEMS"], "kind": "List", "metadata": {"resourceVersion": ""}}, indent=4)
        head, tail = body.split('        "ITEMS"')
        handle.write(head)
        count = int(8_000 * scale)
        for i in range(count):
            one["metadata"]["name"] = f"web-{i}"
            one["spec"]["containers"][0]["image"] = f"docker.io/library/nginx:1.{i % 7}"
            item = json.dumps(one, indent=4).replace("\n", "\n        ")
            handle.write("        " + item + (",\n" if i < count - 1 else ""))
        handle.write(tail)
    out.append(("64 MB kubectl -o json List of 8k pods", kubectl_json, ("post-render", "check")))
    pods = [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}", "labels": {"a": "b"}},
             "spec": {"containers": [{"name": "c", "image": f"nginx:1.{i}", "env": [{"name": "A", "value": "b"}]}]}}
            for i in range(int(430_000 * scale))]
    json_list = directory / "json-list.json"
    json_list.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": pods}), encoding="utf-8")
    del pods
    out.append(("85 MB JSON List", json_list, post))
    bomb = directory / "alias-amplification.yaml"
    bomb.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: amp\nspec:\n  containers:\n  - name: a\n    image: &i nginx:1.27\n"
                    + "".join(f"  - {{name: c{k}, image: *i}}\n" for k in range(int(8_000 * scale))), encoding="utf-8")
    out.append(("200 KB alias amplification (8k images)", bomb, ("post-render", "images")))
    stream = directory / "stream-200mb.yaml"
    with stream.open("w", encoding="utf-8") as handle:
        for i in range(int(280_000 * scale)):
            handle.write(_DEPLOYMENT.format(i))
    out.append(("200 MB stream of 280k workloads", stream, ("post-render", "check")))
    return out


_DEPLOYMENT = """---
# Source: chart/templates/deploy-{0}.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{0}
  labels:
    app: app-{0}
spec:
  replicas: 1
  selector:
    matchLabels:
      app: app-{0}
  template:
    metadata:
      labels:
        app: app-{0}
    spec:
      containers:
      - name: main
        image: quay.io/org/app:{0}
        args: ["--port=8080", "--verbose"]
        env:
        - name: A
          value: "b"
        ports:
        - containerPort: 8080
        resources:
          limits: {{cpu: 100m, memory: 128Mi}}
---
# Source: chart/templates/svc-{0}.yaml
apiVersion: v1
kind: Service
metadata:
  name: app-{0}
spec:
  ports:
  - port: 80
    targetPort: 8080
"""
# A pod as `kubectl get pods -o yaml` prints it (managed fields, status): about 3.7 KB, one image to rewrite.
_KUBECTL_POD = """- apiVersion: v1
  kind: Pod
  metadata:
    creationTimestamp: "2026-11-30T10:00:00Z"
    generateName: web-7d9f8c-
    labels:
      app: web
      pod-template-hash: 7d9f8c{0}
    managedFields:
""" + "".join(f"""    - apiVersion: v1
      fieldsType: FieldsV1
      fieldsV1:
        f:metadata:
          f:labels:
            .: {{{{}}}}
            f:app: {{{{}}}}
        f:spec:
          f:containers:
            k:{{{{"name":"web{k}"}}}}:
              .: {{{{}}}}
              f:image: {{{{}}}}
              f:imagePullPolicy: {{{{}}}}
      manager: kube-controller-manager
      operation: Update
      time: "2026-11-30T10:00:00Z"
""" for k in range(6)) + """    name: web-{0}
    namespace: ns{1}
  spec:
    containers:
    - image: docker.io/library/nginx:1.{1}
      imagePullPolicy: IfNotPresent
      name: web
      env:
      - name: HELPER_IMAGE
        value: ghcr.io/org/helper:v{1}
      terminationMessagePath: /dev/termination-log
    dnsPolicy: ClusterFirst
    restartPolicy: Always
    serviceAccountName: default
  status:
    containerStatuses:
    - containerID: containerd://abcdef{0}
      image: docker.io/library/nginx:1.{1}
      imageID: docker.io/library/nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
      name: web
      ready: true
    phase: Running
"""
