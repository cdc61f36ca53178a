"""Catalogue of hostile and odd inputs: one row per case, each with its defined behaviour.

A row either expects an exact stdout (exit 0, byte for byte) or exit 1 with one line on
stderr holding every fragment (document index and line for input errors) and nothing on
stdout.  Every case runs the real executable under a memory and CPU limit, so a hang or a
blow-up fails the case instead of the suite.  Inputs the core once got wrong are in
``test_hostile_regressions.py``.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from conftest import without_summary

REGISTRY = "registry.intern"
MEMORY_LIMIT = 1 << 30  # address space per run
CPU_LIMIT = 60  # seconds of CPU per run


@dataclass(frozen=True)
class Case:
    id: str
    stdin: bytes
    output: bytes | None = None  # exact stdout when the run must succeed
    exit: int = 0
    fragments: tuple[str, ...] = ()  # must all be on stderr (the error line, or warnings)
    args: tuple[str, ...] = ()  # after --registry registry.intern; "{tmp}" is the case's directory
    files: dict[str, bytes] = field(default_factory=dict)  # written below {tmp} first
    no_registry: bool = False  # do not pass --registry (config-file cases)
    env: dict[str, str] = field(default_factory=dict)  # CIVITAS_POSTRENDER_* settings of the run


def run_bounded(args: list[str], stdin: bytes, *, env: dict[str, str] | None = None, cwd: Path | None = None,
                memory: int = MEMORY_LIMIT, cpu: int = CPU_LIMIT, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    """The real executable in a subprocess with RLIMIT_AS / RLIMIT_CPU; a hang raises TimeoutExpired."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))

    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CIVITAS_POSTRENDER_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "postrender", *args], input=stdin, capture_output=True,
                          env=full_env, cwd=cwd, preexec_fn=limit, timeout=timeout)


def run_case(case: Case, tmp: Path) -> None:
    for name, content in case.files.items():
        path = tmp / name
        if content == b"<dir>":
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
    args = [] if case.no_registry else ["--registry", REGISTRY]
    args += [a.replace("{tmp}", str(tmp)) for a in case.args]
    result = run_bounded(args, case.stdin, cwd=tmp, env={k: v.replace("{tmp}", str(tmp)) for k, v in case.env.items()})
    stderr = without_summary(result.stderr)
    assert "Traceback" not in stderr, stderr
    assert result.returncode == case.exit, stderr
    fragments = [f.replace("{tmp}", str(tmp)) for f in case.fragments]
    if case.exit == 0:
        assert result.stdout == case.output, stderr
        if not fragments:
            assert stderr == ""
    else:
        assert result.stdout == b""  # nothing half-written reaches Helm
        assert stderr.startswith("civitas-postrender: error: "), stderr
        assert stderr.count("\n") == 1, stderr  # one clear line
    for fragment in fragments:
        assert fragment in stderr, stderr


def rewritten(text: str, *pairs: tuple[str, str]) -> bytes:
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new)
    return text.encode("utf-8")


# -- building blocks ---------------------------------------------------------------------------
DEPLOY = """\
---
# Source: app/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: nginx:1.25
"""
NGINX = ("image: nginx:1.25", "image: registry.intern/library/nginx:1.25")
SECRET_BLOCK = ("      containers:\n", "      imagePullSecrets:\n        - name: regcred\n      containers:\n")
CONFIGMAP = "---\n# Source: app/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: b\n"
POD_JSON = ('{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, '
            '"spec": {"containers": [{"name": "a", "image": "quay.io/app/api:2.0"}]}}\n')
POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
  - name: a
    image: busybox:1.36
"""
BUSYBOX = ("image: busybox:1.36", "image: registry.intern/library/busybox:1.36")


def _billion_laughs(levels: int = 9, width: int = 9) -> str:
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata:", "  name: lol", "data:", '  a0: &a0 "lol"']
    lines += [f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def _container_alias_bomb(width: int = 2000) -> str:
    """One container aliased thousands of times in one pod spec: one edit, not thousands."""
    return POD.replace("  - name: a\n", "  - &c\n    name: a\n") + "  initContainers: [" + ", ".join(["*c"] * width) + "]\n"


_WIDE = "x" * (1 << 20)
_DEEP = 10_000
_NESTED_OK = 900  # below libyaml's own limit of 1000: must pass through untouched

NON_ASCII = """\
# Source: äpp/templates/dëployment.yaml — 日本語 😀
apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations:
    beschreibung: "Grüße aus Köln 😀 — ✓"
    日本: 東京
spec:
  containers:
  - name: a
    # Kommentar: ß 😀
    env:
    - {name: GRÜSSE, value: "😀😀😀"}
    image: busybox:1.36 # 😀 nach dem Bild
"""

BINARY_SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: blob
type: Opaque
data:
  key.bin: AAECA//+/f8AAQID
  gif: !!binary |
    R0lGODlhDAAMAIQAAP//9/X17unp5WZmZgAAAOfn515eXvPz7Y6OjuDg4J+fn5OTk6enp56enmleECcgggoBADs=
stringData:
  escaped: "\\x00\\x01\\xff\\u00e9\\U0001F600"
  image: nginx:1.25
"""

LIST_NESTED = """\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: List
  items:
  - apiVersion: apps/v1
    kind: DaemonSet
    metadata:
      name: agent
    spec:
      template:
        spec:
          containers:
          - name: agent
            image: ghcr.io/acme/agent:3.1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
"""

ALIAS_IMAGE = """\
apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  initContainers:
  - name: init
    image: &img "busybox:1.36"
  containers:
  - name: a
    image: *img
  - name: b
    image: *img
"""

DUPLICATE_IMAGE_KEY = """\
apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
  - name: a
    image: nginx:1.24
    image: nginx:1.25
"""

DUPLICATE_CONTAINERS = """\
apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
  - name: old
    image: nginx:1.24
  containers:
  - name: new
    image: nginx:1.25
"""

POD_WITH_SECRETS = """\
apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  imagePullSecrets:
    - name: existing
  containers:
    - name: a
      image: nginx:1.25
"""

HELM4_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations:
    postrenderer.helm.sh/postrender-filename: chart/templates/pod.yaml
spec:
  containers:
  - name: a
    image: $(params.IMAGE)
"""

CASES: list[Case] = [
    # -- invalid YAML: each kind of problem libyaml reports, with document and line -------------
    Case("yaml-unclosed-flow-sequence", (DEPLOY + "---\n# Source: app/templates/bad.yaml\nkind: ConfigMap\ndata: [a, b\n").encode(),
         exit=1, fragments=("document 1", "(app/templates/bad.yaml)", "line 17", "invalid YAML")),
    Case("yaml-unclosed-flow-mapping", b"kind: Pod\nmetadata: {name: x\n", exit=1, fragments=("document 0", "line 3", "flow mapping")),
    Case("yaml-mapping-value-in-plain-scalar", b"apiVersion: v1\nkind: a: b\n", exit=1, fragments=("document 0", "line 2", "mapping values are not allowed")),
    Case("yaml-bad-indentation", b"kind: Pod\nmetadata:\n  name: p\n namespace: x\n", exit=1, fragments=("document 0", "line 4", "invalid YAML")),
    Case("yaml-unterminated-double-quote", b'kind: Pod\nmetadata:\n  name: "p\n', exit=1, fragments=("document 0", "line 4", "quoted scalar")),
    Case("yaml-unterminated-single-quote", b"kind: Pod\nmetadata:\n  name: 'p\n", exit=1, fragments=("document 0", "line 4", "quoted scalar")),
    Case("yaml-unknown-escape", b'kind: Pod\nmetadata:\n  name: "a\\qb"\n', exit=1, fragments=("document 0", "line 3", "escape")),
    Case("yaml-text-after-quoted-scalar", b"kind: 'Pod'x\n", exit=1, fragments=("document 0", "line 1", "invalid YAML")),
    Case("yaml-missing-colon", b"kind: Pod\nmetadata\n  name: p\n", exit=1, fragments=("document 0", "line 3", "invalid YAML")),
    Case("yaml-sequence-then-mapping", b"- a\nkind: Pod\n", exit=1, fragments=("document 0", "line 2", "invalid YAML")),
    Case("yaml-undefined-alias", (POD.replace("busybox:1.36", "*nowhere")).encode(), exit=1, fragments=("document 0", "line 8", "undefined alias")),
    Case("yaml-alias-across-documents", ("kind: ConfigMap\napiVersion: v1\nmetadata: {name: c}\ndata: {a: &x b}\n---\n" + POD.replace("busybox:1.36", "*x")).encode(),
         exit=1, fragments=("document 1", "line 13", "undefined alias")),
    Case("yaml-bad-tag", b"kind: Pod\nmetadata: !<unclosed\n", exit=1, fragments=("document 0", "line 2", "tag")),
    Case("yaml-unknown-directive", b"%FOO bar\n---\nkind: Pod\n", exit=1, fragments=("document 0", "line 1", "directive")),
    Case("yaml-incompatible-version", b"%YAML 2.0\n---\nkind: Pod\n", exit=1, fragments=("document 0", "line 1", "invalid YAML")),
    Case("yaml-reserved-indicator", b"kind: Pod\nmetadata: @x\n", exit=1, fragments=("document 0", "line 2", "cannot start any token")),
    Case("yaml-content-after-document-end", b"kind: Pod\n...\nkind: Pod\n", exit=1, fragments=("document 1", "line 3", "invalid YAML")),
    Case("yaml-error-in-third-document", (CONFIGMAP + "---\n" + "---\n# Source: app/templates/x.yaml\nkind: [\n").encode(),
         exit=1, fragments=("document 2", "(app/templates/x.yaml)", "line 13")),  # where libyaml meets the end
    # -- tabs --------------------------------------------------------------------------------------
    Case("tab-as-indentation", b"apiVersion: v1\nkind: Pod\nmetadata:\n\tname: p\n", exit=1, fragments=("document 0", "line 4", "invalid YAML")),
    Case("tab-after-colon", POD.replace("image: busybox:1.36", "image:\tbusybox:1.36").encode(),
         output=POD.replace("image: busybox:1.36", "image:\tregistry.intern/library/busybox:1.36").encode()),
    Case("tab-after-value", POD.replace("busybox:1.36", "busybox:1.36\t").encode(), output=rewritten(POD.replace("busybox:1.36", "busybox:1.36\t"), BUSYBOX)),
    Case("tab-inside-quoted-image", POD.replace("busybox:1.36", '"busy\tbox:1.36"').encode(),
         output=POD.replace("busybox:1.36", '"busy\tbox:1.36"').encode(), fragments=("warning", "line 8", "not an image reference")),
    # -- encodings ---------------------------------------------------------------------------------
    Case("not-utf8", b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: \"\xff\xfe\"\n",
         exit=1, fragments=("line 6", "not UTF-8")),
    Case("latin1-umlaut", b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  annotations: {a: Gr\xfc\xdfe}\n",
         exit=1, fragments=("line 5", "not UTF-8")),
    Case("utf16-with-bom", "kind: Pod\n".encode("utf-16"), exit=1, fragments=("line 1", "not UTF-8")),
    Case("utf8-bom-kept", ("\ufeff" + POD).encode(), output=("\ufeff" + POD).replace(*BUSYBOX).encode()),
    Case("utf8-bom-with-pull-secret", ("\ufeff" + DEPLOY).encode(), args=("--pull-secret", "regcred"),
         output=("\ufeff" + DEPLOY).replace(*NGINX).replace(*SECRET_BLOCK).encode()),
    Case("non-ascii-everywhere", NON_ASCII.encode(), output=rewritten(NON_ASCII, ("busybox:1.36", "registry.intern/library/busybox:1.36"))),
    Case("non-ascii-with-pull-secret", NON_ASCII.encode(), args=("--pull-secret", "regcred"),
         output=rewritten(NON_ASCII, ("busybox:1.36", "registry.intern/library/busybox:1.36"),
                          ("spec:\n  containers:\n", "spec:\n  imagePullSecrets:\n  - name: regcred\n  containers:\n"))),
    # -- line endings ------------------------------------------------------------------------------
    Case("crlf-kept-on-inserted-lines", DEPLOY.replace("\n", "\r\n").encode(), args=("--pull-secret", "regcred"),
         output=DEPLOY.replace(*NGINX).replace(*SECRET_BLOCK).replace("\n", "\r\n").encode()),
    Case("mixed-line-endings-per-document", (DEPLOY.replace("\n", "\r\n") + DEPLOY.replace("name: web", "name: api")).encode(),
         args=("--pull-secret", "regcred"),
         output=(DEPLOY.replace(*NGINX).replace(*SECRET_BLOCK).replace("\n", "\r\n")
                 + DEPLOY.replace("name: web", "name: api").replace(*NGINX).replace(*SECRET_BLOCK)).encode()),
    Case("crlf-json-document", POD_JSON.replace("\n", "\r\n").encode(), args=("--pull-secret", "regcred"),
         output=POD_JSON.replace('"spec": {', '"spec": {"imagePullSecrets": [{"name": "regcred"}], ')
         .replace("quay.io/app/api:2.0", "registry.intern/app/api:2.0").replace("\n", "\r\n").encode()),
    # -- document markers --------------------------------------------------------------------------
    Case("document-end-markers", ("---\n" + POD + "...\n---\n" + POD + "...\n").encode(),
         output=("---\n" + POD + "...\n---\n" + POD + "...\n").replace(*BUSYBOX).encode()),
    Case("separator-with-comment", ("--- # first\n" + POD + "--- # second, with a tab\t\n" + POD).encode(),
         output=("--- # first\n" + POD + "--- # second, with a tab\t\n" + POD).replace(*BUSYBOX).encode()),
    Case("json-on-separator-line", ("--- " + POD_JSON).encode(),
         output=("--- " + POD_JSON).replace("quay.io/app/api:2.0", "registry.intern/app/api:2.0").encode()),
    Case("empty-and-comment-only-documents", ("---\n---\n# only a comment\n---\n" + POD + "---\n").encode(),
         output=("---\n---\n# only a comment\n---\n" + POD + "---\n").replace(*BUSYBOX).encode()),
    Case("comment-only-documents-are-counted", ("---\n# Source: a/empty.yaml\n---\n# Source: a/list.yaml\n- a\n").encode(),
         exit=1, fragments=("document 1", "(a/list.yaml)", "line 5", "is a list")),
    Case("no-trailing-newline", POD.rstrip("\n").encode(), output=POD.rstrip("\n").replace(*BUSYBOX).encode()),
    Case("no-trailing-newline-with-pull-secret", POD.rstrip("\n").replace("spec:\n  containers:", "spec:\n  imagePullSecrets:\n  - name: old\n  containers:").encode(),
         args=("--pull-secret", "old"),
         output=POD.rstrip("\n").replace("spec:\n  containers:", "spec:\n  imagePullSecrets:\n  - name: old\n  containers:").replace(*BUSYBOX).encode()),
    # -- documents that are not Kubernetes objects --------------------------------------------------
    Case("document-is-a-list", (CONFIGMAP + "---\n# Source: app/templates/list.yaml\n- a\n- b\n").encode(),
         exit=1, fragments=("document 1", "(app/templates/list.yaml)", "line 11", "is a list")),
    Case("document-is-a-scalar", (CONFIGMAP + "---\njust words\n").encode(), exit=1, fragments=("document 1", "line 10", "is a scalar")),
    Case("document-is-a-block-scalar", b"--- |\n  text\n", exit=1, fragments=("document 0", "line 1", "is a scalar")),
    Case("document-is-a-quoted-empty-string", b'--- ""\n', exit=1, fragments=("document 0", "line 1", "is a scalar")),
    Case("document-without-kind", (CONFIGMAP + "---\napiVersion: v1\nmetadata:\n  name: x\n").encode(),
         exit=1, fragments=("document 1", "line 10", "no 'kind'")),
    Case("kind-is-not-a-string", b"apiVersion: v1\nkind: [Pod]\nmetadata: {name: p}\n", exit=1, fragments=("document 0", "line 1", "no 'kind'")),
    Case("list-nested-in-list", LIST_NESTED.encode(),
         output=rewritten(LIST_NESTED, ("ghcr.io/acme/agent:3.1@", "registry.intern/acme/agent:3.1@"))),
    # -- duplicate keys: the last value is the one Kubernetes uses --------------------------------
    Case("duplicate-image-key", DUPLICATE_IMAGE_KEY.encode(),
         output=rewritten(DUPLICATE_IMAGE_KEY, ("nginx:1.25", "registry.intern/library/nginx:1.25")),
         fragments=("warning", "line 9", "duplicate key 'image'")),
    Case("duplicate-containers-key", DUPLICATE_CONTAINERS.encode(),
         output=rewritten(DUPLICATE_CONTAINERS, ("nginx:1.25", "registry.intern/library/nginx:1.25"))),
    Case("duplicate-kind-key", b"apiVersion: v1\nkind: ConfigMap\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: nginx}]\n",
         output=b"apiVersion: v1\nkind: ConfigMap\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: registry.intern/library/nginx}]\n"),
    # -- anchors and aliases -----------------------------------------------------------------------
    Case("alias-on-image-value", ALIAS_IMAGE.encode(),
         output=rewritten(ALIAS_IMAGE, ('&img "busybox:1.36"', '&img "registry.intern/library/busybox:1.36"'))),
    Case("billion-laughs-in-configmap", _billion_laughs().encode(), output=_billion_laughs().encode()),
    Case("container-aliased-thousands-of-times", _container_alias_bomb().encode(), args=("--pull-secret", "regcred"),
         output=rewritten(_container_alias_bomb(), BUSYBOX, ("spec:\n  containers:\n", "spec:\n  imagePullSecrets:\n  - name: regcred\n  containers:\n"))),
    # -- size and depth ----------------------------------------------------------------------------
    Case("one-megabyte-line-configmap", (CONFIGMAP + f"  big: {_WIDE}\n").encode(), output=(CONFIGMAP + f"  big: {_WIDE}\n").encode()),
    Case("one-megabyte-line-annotation", POD.replace("  name: p\n", f'  name: p\n  annotations: {{a: "{_WIDE}"}}\n').encode(),
         output=POD.replace("  name: p\n", f'  name: p\n  annotations: {{a: "{_WIDE}"}}\n').replace(*BUSYBOX).encode()),
    Case("one-megabyte-image-value", POD.replace("busybox:1.36", "busybox:" + _WIDE).encode(),
         output=POD.replace("busybox:1.36", "busybox:" + _WIDE).encode(), fragments=("warning", "line 8", "not an image reference")),
    Case("one-megabyte-source-comment", (f"# Source: {_WIDE}\n" + POD).encode(), output=(f"# Source: {_WIDE}\n" + POD).replace(*BUSYBOX).encode()),
    Case("nesting-10000-flow", ("apiVersion: v1\nkind: ConfigMap\ndata: " + "[" * _DEEP + "]" * _DEEP + "\n").encode(),
         exit=1, fragments=("document 0", "line 3", "nesting")),
    Case("nesting-10000-block", ("apiVersion: v1\nkind: ConfigMap\ndata:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(_DEEP))).encode(),
         exit=1, fragments=("document 0", "line 100", "nesting")),
    Case("nesting-10000-sequence", ("apiVersion: v1\nkind: ConfigMap\ndata:\n" + "- " * _DEEP + "x\n").encode(),
         exit=1, fragments=("document 0", "line 4", "nesting")),
    Case("nesting-900-in-container", POD.replace("    image:", "    x: " + "[" * _NESTED_OK + "]" * _NESTED_OK + "\n    image:").encode(),
         output=POD.replace("    image:", "    x: " + "[" * _NESTED_OK + "]" * _NESTED_OK + "\n    image:").replace(*BUSYBOX).encode()),
    Case("nesting-900-unruled-kind", ("apiVersion: x.io/v1\nkind: Foo\nmetadata: {name: f}\nspec: " + "{a: " * _NESTED_OK + "{image: nginx}" + "}" * _NESTED_OK + "\n").encode(),
         output=("apiVersion: x.io/v1\nkind: Foo\nmetadata: {name: f}\nspec: " + "{a: " * _NESTED_OK + "{image: nginx}" + "}" * _NESTED_OK + "\n").encode(),
         fragments=("warning", "Foo/f line 4", "kind no rule covers")),
    # -- content -----------------------------------------------------------------------------------
    Case("binary-data-in-secret", BINARY_SECRET.encode(),  # binary data is never searched; stringData is
         output=BINARY_SECRET.replace("image: nginx:1.25", "image: registry.intern/library/nginx:1.25").encode()),
    Case("json-documents-stay-json", (POD_JSON + "---\n" + POD_JSON.replace('"p"', '"q"')).encode(), args=("--pull-secret", "regcred"),
         output=(POD_JSON + "---\n" + POD_JSON.replace('"p"', '"q"')).replace('"spec": {', '"spec": {"imagePullSecrets": [{"name": "regcred"}], ')
         .replace("quay.io/app/api:2.0", "registry.intern/app/api:2.0").encode()),
    Case("json-escaped-image", b'{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "a", "image": "quay.io\\/app\\/api:2.0"}]}}\n',
         output=b'{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "a", "image": "registry.intern/app/api:2.0"}]}}\n'),
    Case("empty-input", b"", output=b"# civitas-postrender: the input stream held no documents\n"),
    Case("whitespace-only-input", b" \n\r\n  \n", output=b"# civitas-postrender: the input stream held no documents\n"),
    Case("tab-only-line", b" \n\r\n\t\n", exit=1, fragments=("document 0", "line 3", "cannot start any token")),
    Case("helm4-filename-annotation-named", HELM4_POD.encode(), args=("--strict",), exit=1,
         fragments=("document 0", "(chart/templates/pod.yaml)", "Pod/p", "line 10", "'$(params.IMAGE)' is not an image reference")),
    Case("not-a-reference-warns-and-passes", HELM4_POD.encode(), output=HELM4_POD.encode(),
         fragments=("warning", "document 0 (chart/templates/pod.yaml) Pod/p line 10", "not an image reference")),
    # -- existing pull secrets (fixed: entries used to land in the next key's list) -----------------
    Case("pull-secret-appended-to-block-list-before-another-key", POD_WITH_SECRETS.encode(), args=("--pull-secret", "regcred"),
         output=POD_WITH_SECRETS.replace("    - name: existing\n", "    - name: existing\n    - name: regcred\n")
         .replace("image: nginx:1.25", "image: registry.intern/library/nginx:1.25").encode()),
    Case("pull-secret-appended-to-indentless-block-list", POD_WITH_SECRETS.replace("    - name: existing", "  - name: existing # kept").encode(),
         args=("--pull-secret", "regcred"),
         output=POD_WITH_SECRETS.replace("    - name: existing\n", "  - name: existing # kept\n  - name: regcred\n")
         .replace("image: nginx:1.25", "image: registry.intern/library/nginx:1.25").encode()),
    Case("pull-secret-appended-before-blank-line-and-comment",
         POD_WITH_SECRETS.replace("    - name: existing\n", "    - name: existing\n\n  # the containers\n").encode(),
         args=("--pull-secret", "regcred"),
         output=POD_WITH_SECRETS.replace("    - name: existing\n", "    - name: existing\n    - name: regcred\n\n  # the containers\n")
         .replace("image: nginx:1.25", "image: registry.intern/library/nginx:1.25").encode()),
    # -- configuration errors ----------------------------------------------------------------------
    Case("registry-with-scheme", POD.encode(), no_registry=True, args=("--registry", "https://registry.intern"), exit=1, fragments=("registry", "https://registry.intern")),
    Case("registry-double-dot", POD.encode(), no_registry=True, args=("--registry", "registry..intern"), exit=1, fragments=("registry..intern", "not a valid host")),
    Case("registry-bad-port", POD.encode(), no_registry=True, args=("--registry", "registry.intern:port"), exit=1, fragments=("registry.intern:port",)),
    Case("registry-with-space", POD.encode(), no_registry=True, args=("--registry", "registry intern.io"), exit=1, fragments=("registry intern.io",)),
    Case("folder-uppercase", POD.encode(), args=("--folder", "Civitas"), exit=1, fragments=("folder", "'Civitas'")),
    Case("folder-dot-dot", POD.encode(), args=("--folder", "../etc"), exit=1, fragments=("folder", "'..'")),
    Case("folder-with-colon", POD.encode(), args=("--folder", "a:b"), exit=1, fragments=("folder", "'a:b'")),
    Case("folder-non-ascii", POD.encode(), args=("--folder", "bücher"), exit=1, fragments=("folder", "bücher")),
    Case("secret-name-uppercase", POD.encode(), args=("--pull-secret", "RegCred"), exit=1, fragments=("pull secret name", "'RegCred'")),
    Case("secret-name-leading-dash", POD.encode(), args=("--pull-secret=-regcred",), exit=1, fragments=("pull secret name", "'-regcred'")),
    Case("secret-name-too-long", POD.encode(), args=("--pull-secret", "a" * 254), exit=1, fragments=("pull secret name", "253")),
    Case("config-file-missing", POD.encode(), args=("--config", "{tmp}/none.yaml"), exit=1, fragments=("config file {tmp}/none.yaml", "cannot read")),
    Case("config-file-is-a-directory", POD.encode(), args=("--config", "{tmp}/conf"), files={"conf": b"<dir>"}, exit=1, fragments=("config file {tmp}/conf", "cannot read")),
    Case("config-file-not-utf8", POD.encode(), args=("--config", "{tmp}/c.yaml"), files={"c.yaml": b"registry: r\xe9g.io\n"}, exit=1, fragments=("{tmp}/c.yaml", "not UTF-8")),
    Case("config-file-invalid-yaml", POD.encode(), no_registry=True, args=("--config", "{tmp}/c.yaml"), files={"c.yaml": b"registry: [a\n"},
         exit=1, fragments=("{tmp}/c.yaml", "line 2", "invalid YAML")),
    Case("config-file-not-a-mapping", POD.encode(), no_registry=True, args=("--config", "{tmp}/c.yaml"), files={"c.yaml": b"- registry.intern\n"},
         exit=1, fragments=("{tmp}/c.yaml", "mapping")),
    Case("config-file-unknown-key", POD.encode(), no_registry=True, args=("--config", "{tmp}/c.yaml"), files={"c.yaml": b"registry: registry.intern\nregistery: x\n"},
         exit=1, fragments=("{tmp}/c.yaml", "registery")),
    Case("config-file-bad-registry", POD.encode(), no_registry=True, args=("--config", "{tmp}/c.yaml"), files={"c.yaml": b"registry: 'http://x'\n"},
         exit=1, fragments=("registry", "http://x")),
    Case("config-file-registry-not-a-string", POD.encode(), no_registry=True, args=("--config", "{tmp}/c.yaml"), files={"c.yaml": b"registry: [a, b]\n"},
         exit=1, fragments=("{tmp}/c.yaml", "registry", "expected a string")),
    Case("rules-file-missing", POD.encode(), args=("--rules", "{tmp}/none.yaml"), exit=1, fragments=("rule file {tmp}/none.yaml", "cannot read")),
    Case("rules-file-is-a-directory", POD.encode(), args=("--rules", "{tmp}/rules"), files={"rules": b"<dir>"}, exit=1, fragments=("rule file {tmp}/rules", "cannot read")),
    Case("rules-file-not-utf8", POD.encode(), args=("--rules", "{tmp}/r.yaml"), files={"r.yaml": b"rules: []\n# \xff\n"}, exit=1, fragments=("{tmp}/r.yaml", "not UTF-8")),
    Case("rules-file-invalid-yaml", POD.encode(), args=("--rules", "{tmp}/r.yaml"), files={"r.yaml": b"rules:\n  - id: [x\n"},
         exit=1, fragments=("rule file {tmp}/r.yaml", "line 3", "invalid YAML")),
    Case("rules-file-without-rules-list", POD.encode(), args=("--rules", "{tmp}/r.yaml"), files={"r.yaml": b"rules: {}\n"},
         exit=1, fragments=("rule file {tmp}/r.yaml", "'rules:' list")),
    Case("rule-bad-image-location", POD.encode(), args=("--rules", "{tmp}/r.yaml"),
         files={"r.yaml": b"rules:\n  - id: acme/x\n    description: d\n    match: [{group: acme.io, kinds: [X]}]\n    images: [$.spec.image]\n    imageLocation: somewhere\n"},
         exit=1, fragments=("rule file {tmp}/r.yaml", "rule 'acme/x'", "field 'imageLocation'", "somewhere")),
    Case("rule-unknown-field", POD.encode(), args=("--rules", "{tmp}/r.yaml"),
         files={"r.yaml": b"rules:\n  - id: acme/x\n    description: d\n    match: [{group: acme.io, kinds: [X]}]\n    imagez: [$.spec.image]\n"},
         exit=1, fragments=("rule file {tmp}/r.yaml", "rule 'acme/x'", "field 'imagez'")),
    Case("rule-paths-not-a-list", POD.encode(), args=("--rules", "{tmp}/r.yaml"),
         files={"r.yaml": b"rules:\n  - id: acme/x\n    description: d\n    match: [{group: acme.io, kinds: [X]}]\n    podSpecs: $.spec\n"},
         exit=1, fragments=("rule file {tmp}/r.yaml", "rule 'acme/x'", "field 'podSpecs'")),
    Case("rule-invalid-path", POD.encode(), args=("--rules", "{tmp}/r.yaml"),
         files={"r.yaml": b"rules:\n  - id: acme/x\n    description: d\n    match: [{group: acme.io, kinds: [X]}]\n    images: ['$.spec[[']\n"},
         exit=1, fragments=("rule file {tmp}/r.yaml", "rule 'acme/x'", "field 'images'")),
    Case("rule-missing-match", POD.encode(), args=("--rules", "{tmp}/r.yaml"),
         files={"r.yaml": b"rules:\n  - id: acme/x\n    description: d\n    images: [$.spec.image]\n"},
         exit=1, fragments=("rule file {tmp}/r.yaml", "rule 'acme/x'", "field 'match'")),
    Case("rule-without-id", POD.encode(), args=("--rules", "{tmp}/r.yaml"),
         files={"r.yaml": b"rules:\n  - description: d\n    match: [{group: acme.io, kinds: [X]}]\n"},
         exit=1, fragments=("rule file {tmp}/r.yaml", "rule #1", "field 'id'")),
    Case("rule-id-clashes-with-builtin", POD.encode(), args=("--rules", "{tmp}/r.yaml"),
         files={"r.yaml": b"rules:\n  - id: kubernetes/pod\n    description: d\n    match: [{group: acme.io, kinds: [X]}]\n"},
         exit=1, fragments=("rule file {tmp}/r.yaml", "'kubernetes/pod'", "already defined")),
]


def test_case_ids_are_unique() -> None:
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input(case: Case, tmp_path: Path) -> None:
    run_case(case, tmp_path)


def test_json_documents_parse_as_json_after_edits(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.id == "json-documents-stay-json")
    result = run_bounded(["--registry", REGISTRY, "--pull-secret", "regcred"], case.stdin, cwd=tmp_path)
    assert result.returncode == 0
    for document in result.stdout.decode().split("---\n"):
        json.loads(document)


def test_alias_on_image_value_loads_as_rewritten_everywhere(tmp_path: Path) -> None:
    result = run_bounded(["--registry", REGISTRY], ALIAS_IMAGE.encode(), cwd=tmp_path)
    pod = yaml.safe_load(result.stdout)
    images = [c["image"] for c in pod["spec"]["initContainers"] + pod["spec"]["containers"]]
    assert images == ["registry.intern/library/busybox:1.36"] * 3


def test_hostile_fixtures_are_commented_and_pass(tmp_path: Path) -> None:
    """Every file in fixtures/hostile/ says what it models, and runs to exit 0 or a clear exit 1."""
    fixtures = sorted((Path(__file__).resolve().parent.parent / "fixtures" / "hostile").glob("*.yaml"))
    assert fixtures
    for path in fixtures:
        data = path.read_bytes()
        assert data.lstrip(b"\xef\xbb\xbf").startswith(b"#"), path.name
        result = run_bounded(["--registry", REGISTRY, "--pull-secret", "regcred"], data, cwd=tmp_path)
        assert result.returncode == 0, (path.name, result.stderr)
        assert b"Traceback" not in result.stderr
        again = run_bounded(["--registry", REGISTRY, "--pull-secret", "regcred"], result.stdout, cwd=tmp_path)
        assert again.stdout == result.stdout, path.name  # a second run changes nothing


# -- files, streams and commands (issue 11: output files, endless inputs, values, secret, messages) --
VALUES_HEADER = ("# Values overlay from civitas-postrender values <stdin>: the chart's images on registry.intern.\n"
                 "# 0 setting(s) changed. Pass it after your own values: helm upgrade --install -f VALUES -f THIS_FILE ...\n")
LAUGHS_426 = "a0: &a0 lol\n" + "".join(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, 10))
IMAGE_BOMB = "a0: &a0 {image: nginx:1.25}\n" + "".join(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, 10))
FORGING_POD = HELM4_POD.replace("  name: p\n", '  name: "p\\nok: all images served\\e[2J"\n')
FORGING_TEMPLATE = HELM4_POD.replace("chart/templates/pod.yaml", '"chart/pod.yaml\\u2028civitas-postrender: ok\\r"')


def _values(*args: str) -> tuple[str, ...]:
    return ("values", "--registry", REGISTRY, *args)


def _secret(*args: str) -> tuple[str, ...]:
    return ("secret", "--registry", REGISTRY, "-n", "x", "--username", "u", *args)


IO_CASES: list[Case] = [
    # -- output files: written, never replaced; failures exit 1 -------------------------------------
    Case("images-out-empty-name", POD.encode(), args=("--images-out", ""), exit=1, fragments=("--images-out", "empty")),
    Case("images-out-missing-directory", POD.encode(), args=("--images-out", "{tmp}/none/x.json"), exit=1,
         fragments=("cannot write the image list {tmp}/none/x.json", "No such file or directory")),
    Case("images-out-below-a-file", POD.encode(), args=("--images-out", "{tmp}/f/x.json"), files={"f": b"x"}, exit=1,
         fragments=("{tmp}/f/x.json", "Not a directory")),
    Case("images-out-dev-full", POD.encode(), args=("--images-out", "/dev/full"), exit=1, fragments=("/dev/full", "No space left on device")),
    Case("images-out-dev-null", POD.encode(), args=("--images-out", "/dev/null"), output=POD.replace(*BUSYBOX).encode()),
    Case("images-output-into-directory", POD.encode(), no_registry=True, args=("images", "-o", "{tmp}/d", "-"), files={"d": b"<dir>"},
         exit=1, fragments=("{tmp}/d", "directory")),
    Case("images-output-dev-full", POD.encode(), no_registry=True, args=("images", "-o", "/dev/full", "-"), exit=1,
         fragments=("/dev/full", "No space left on device")),
    Case("images-output-missing-directory", POD.encode(), no_registry=True, args=("images", "-o", "{tmp}/none/list", "-"), exit=1,
         fragments=("{tmp}/none/list", "No such file or directory")),
    Case("values-output-missing-directory", b"image: nginx\n", no_registry=True, args=_values("-o", "{tmp}/none/o.yaml", "-"), exit=1,
         fragments=("cannot write the overlay {tmp}/none/o.yaml",)),
    Case("values-output-dev-full", b"image: nginx\n", no_registry=True, args=_values("-o", "/dev/full", "-"), exit=1,
         fragments=("/dev/full", "No space left on device")),
    # -- endless inputs: "too large", never a MemoryError ----------------------------------------------
    Case("config-dev-zero", POD.encode(), args=("--config", "/dev/zero"), exit=1, fragments=("config file /dev/zero", "too large")),
    Case("rules-dev-zero", POD.encode(), args=("--rules", "/dev/zero"), exit=1, fragments=("rule file /dev/zero", "too large")),
    Case("values-dev-zero", b"", no_registry=True, args=_values("/dev/zero"), exit=1, fragments=("/dev/zero", "too large")),
    Case("images-dev-zero", b"", no_registry=True, args=("images", "/dev/zero"), exit=1, fragments=("/dev/zero", "too large")),
    # -- values: bombs and empty files -----------------------------------------------------------------
    Case("values-billion-laughs-426-bytes", LAUGHS_426.encode(), no_registry=True, args=_values("-"),
         output=(VALUES_HEADER + "{}\n").encode(), fragments=("0 setting(s) mapped",)),
    Case("values-alias-bomb-of-images", IMAGE_BOMB.encode(), no_registry=True, args=_values("-"), exit=1, fragments=("alias bomb",)),
    Case("values-empty-file", b"", no_registry=True, args=_values("-"), output=(VALUES_HEADER + "{}\n").encode(),
         fragments=("no settings",)),
    Case("values-comment-only", b"# nothing here\n---\n", no_registry=True, args=_values("-"), output=(VALUES_HEADER + "{}\n").encode(),
         fragments=("no settings",)),
    # -- messages: values from the input cannot forge lines -------------------------------------------
    Case("name-forging-a-log-line", FORGING_POD.encode(), output=FORGING_POD.encode(),
         fragments=("warning", "p\\nok: all images served\\e[2J", "not an image reference")),
    Case("template-annotation-forging-a-log-line", FORGING_TEMPLATE.encode(), output=FORGING_TEMPLATE.encode(),
         fragments=("warning", "chart/pod.yaml\\u2028civitas-postrender: ok\\r", "not an image reference")),
    # -- secret: stray arguments and bad bytes are refused without being shown --------------------------
    Case("secret-stray-argument", b"", no_registry=True, args=_secret("hunter2"), exit=1, fragments=("not shown here",)),
    Case("secret-stray-option", b"", no_registry=True, args=_secret("--hunter2"), exit=1, fragments=("not shown here",)),
    Case("secret-non-utf8-password", b"pa\xffss\n", no_registry=True, args=_secret("--password-stdin"), exit=1,
         fragments=("the password on stdin is not UTF-8 text",)),
    # -- image lists of the wrong shape and deep nesting: exit 1 (check: 2) naming the input ----------
    *(Case(f"images-list-{name}", b"", no_registry=True, args=("images", "{tmp}/l.json"), files={"l.json": json.dumps(listing).encode()},
           exit=1, fragments=("{tmp}/l.json: not an image list", fragment))
      for name, listing, fragment in [
          ("occurrence-is-a-list", {"images": [{"source": "nginx:1.25", "occurrences": [["x"]]}]}, "occurrences[0] is a list"),
          ("occurrence-field-is-a-list", {"images": [{"source": "nginx:1.25", "occurrences": [{"file": ["x"]}]}]}, "occurrences[0].file is a list"),
          ("occurrences-is-a-number", {"images": [{"source": "nginx:1.25", "occurrences": 5}]}, "occurrences is a number"),
          ("images-is-null", {"images": None}, "images is null"),
          ("registry-is-a-list", {"registry": ["x"], "images": [{"source": "nginx:1.25"}]}, "registry is a list"),
          ("registry-is-no-host", {"registry": "a b/c", "images": [{"source": "nginx:1.25"}]}, "must be a host[:port]"),
          ("folder-is-invalid", {"registry": "r.intern", "folder": "UP//x", "images": []}, "not a valid repository path"),
      ]),
    Case("images-list-nested-100k-deep", b"", no_registry=True, args=("images", "{tmp}/l.json"),
         files={"l.json": b'{"images": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"}, exit=1, fragments=("{tmp}/l.json: JSON nested too deeply",)),
    Case("images-list-occurrence-nested-deep", no_registry=True, args=("images", "--format", "json", "-"),
         stdin=b'{"images": [{"source": "nginx:1.25", "occurrences": [{"x": ' + b"[" * 5_000 + b"]" * 5_000 + b"}]}]}",
         exit=1, fragments=("-: JSON nested too deeply",)),
    Case("verify-list-of-the-wrong-shape", b"", no_registry=True, args=("verify", "--registry", "127.0.0.1:9", "{tmp}/l.json"),
         files={"l.json": json.dumps({"images": [{"source": "nginx:1.25", "occurrences": [{"file": {}}]}]}).encode()},
         exit=1, fragments=("{tmp}/l.json: not an image list", "occurrences[0].file is an object")),
    Case("images-list-huge-bogus-source", b"", no_registry=True, args=("images", "{tmp}/l.json"),
         files={"l.json": json.dumps({"images": [{"source": "A" * 200_000}]}).encode()}, exit=1, fragments=("(200000 characters) is not an image reference",)),
    Case("check-deeply-nested-json", b'{"kind": "List", "items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", no_registry=True,
         args=("check", "--registry", REGISTRY, "-"), exit=2, fragments=("<stdin>: document 0", "exceeded maximum nesting depth")),
    Case("check-deeply-nested-block-yaml", "".join("  " * i + "a:\n" for i in range(3_000)).encode(), no_registry=True,
         args=("check", "--registry", REGISTRY, "-"), exit=2, fragments=("<stdin>: document 0", "exceeded maximum nesting depth")),
    Case("check-image-list-is-no-manifest", json.dumps({"images": [{"source": "nginx:1.25", "occurrences": [["x"]]}]}).encode(),
         no_registry=True, args=("check", "--registry", REGISTRY, "-"), exit=2, fragments=("<stdin>: document 0", "no 'kind'")),
    # -- values: the last of duplicate keys, as Helm reads it; odd pull-secret entries -----------------
    Case("values-duplicate-image-key", b"image: nginx:1.24\nimage: nginx:1.25\n", no_registry=True, args=_values("-"),
         output=(VALUES_HEADER.replace("0 setting", "1 setting") + "image: registry.intern/library/nginx:1.25\n").encode(),
         fragments=("1 setting(s) mapped",)),
    Case("values-duplicate-block", b"img:\n  repository: nginx\n  tag: '1'\nimg:\n  repository: quay.io/acme/app\n  tag: '2'\n",
         no_registry=True, args=_values("-"),
         output=(VALUES_HEADER.replace("0 setting", "1 setting") + "img:\n  repository: registry.intern/acme/app\n").encode(),
         fragments=("1 setting(s) mapped",)),
    Case("values-pull-secret-name-is-a-list", b"imagePullSecrets: [{name: [x]}]\n", no_registry=True, args=_values("--pull-secret", "regcred", "-"),
         output=(VALUES_HEADER.replace("0 setting", "1 setting") + "imagePullSecrets:\n  - {name: [x]}\n  - name: regcred\n").encode(),
         fragments=("1 setting(s) mapped",)),
    Case("values-merge-of-two-mappings", b"a: &m {image: nginx:1, x: 1}\nb:\n  <<: [*m, *m]\n  y: 2\n", no_registry=True, args=_values("-"),
         output=(VALUES_HEADER.replace("0 setting", "2 setting") + "a: {image: registry.intern/library/nginx:1}\nb:\n"
                 "  image: registry.intern/library/nginx:1\n").encode(), fragments=("2 setting(s) mapped",)),
    # -- an image list asked for with an empty name ------------------------------------------------------
    Case("images-out-empty-in-environment", POD.encode(), env={"CIVITAS_POSTRENDER_IMAGES_OUT": ""}, exit=1,
         fragments=("CIVITAS_POSTRENDER_IMAGES_OUT is set but empty",)),
    Case("images-out-blank-in-environment", POD.encode(), env={"CIVITAS_POSTRENDER_IMAGES_OUT": "  "}, exit=1,
         fragments=("CIVITAS_POSTRENDER_IMAGES_OUT is set but empty",)),
    Case("images-out-empty-in-config", POD.encode(), no_registry=True, env={"CIVITAS_POSTRENDER_CONFIG": "{tmp}/c.yaml"},
         files={"c.yaml": b"registry: registry.intern\nimagesOut: ''\n"}, exit=1, fragments=("c.yaml: imagesOut: the file name is empty",)),
    Case("log-file-empty-in-config", POD.encode(), no_registry=True, args=("--config", "{tmp}/c.yaml"),
         files={"c.yaml": b"registry: registry.intern\nlogFile: \"\"\n"}, exit=1, fragments=("c.yaml: logFile: the file name is empty",)),
]


def test_io_case_ids_are_unique() -> None:
    ids = [c.id for c in IO_CASES]
    assert len(set(ids)) == len(ids) and not set(ids) & {c.id for c in CASES}


@pytest.mark.parametrize("case", IO_CASES, ids=[c.id for c in IO_CASES])
def test_hostile_io_case(case: Case, tmp_path: Path) -> None:
    run_case(case, tmp_path)  # (that stray words are not shown: tests/test_secret_command.py)
