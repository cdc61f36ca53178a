"""``verify`` against a real registry (Debian's docker-registry, the CNCF distribution registry)
on 127.0.0.1, images made by hand as OCI layouts and copied with Debian's skopeo; the bearer-token
flow against a token endpoint and registry on 127.0.0.1 written here.  Skipped, with the reason,
when the packages are not installed."""
from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import shutil
import socket
import subprocess
import tarfile
import time
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from conftest import cli_env, run_cli
from harbor_server import LocalServer

USER, PASSWORD = "robot", "s3cret-pw"
POD = "apiVersion: v1\nkind: Pod\nmetadata: {{name: p, namespace: apps}}\nspec:\n  containers:\n{containers}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def needs(*programs: str) -> None:
    missing = [p for p in programs if shutil.which(p) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (Debian packages docker-registry, skopeo)")


class RealRegistry:
    def __init__(self, root: Path, auth: bool, ca: Path | None = None) -> None:
        """Plain HTTP, or TLS with the self-signed ``ca`` (``tls_certificate``) when given."""
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.auth, self.ca = auth, ca
        config: dict[str, Any] = {
            "version": 0.1, "log": {"level": "error"},
            "storage": {"filesystem": {"rootdirectory": str(root / "data")}},
            "http": {"addr": self.host, "secret": "test"},
        }
        if ca is not None:
            config["http"]["tls"] = {"certificate": str(ca), "key": str(ca.with_suffix(".key"))}
        if auth:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                import crypt

                hashed = crypt.crypt(PASSWORD, crypt.mksalt(crypt.METHOD_BLOWFISH))
            (root / "htpasswd").write_text(f"{USER}:{hashed}\n")
            config["auth"] = {"htpasswd": {"realm": "test", "path": str(root / "htpasswd")}}
        (root / "config.yml").write_text(json.dumps(config))  # JSON is YAML
        self.process = subprocess.Popen(["docker-registry", "serve", str(root / "config.yml")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"docker-registry did not start: {self.process.stderr.read().decode() if self.process.stderr else ''}")
                time.sleep(0.1)

    def push(self, layout: Path, target: str) -> None:
        """skopeo copy of the OCI layout to 127.0.0.1:PORT/<target>."""
        creds = ["--dest-creds", f"{USER}:{PASSWORD}"] if self.auth else []
        tls = [] if self.ca else ["--dest-tls-verify=false"]
        subprocess.run(["skopeo", "copy", "--quiet", *tls, *creds, f"oci:{layout}:latest", f"docker://{self.host}/{target}"],
                       check=True, capture_output=True, timeout=120, env=cli_env(trusting(self.ca)))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def tls_certificate(directory: Path) -> Path:
    """A self-signed certificate for 127.0.0.1 (``.pem``, its key beside it as ``.key``)."""
    needs("openssl")
    cert = directory / "ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(cert.with_suffix(".key")), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert


def trusting(ca: Path | None) -> dict[str, str]:
    """The environment in which Go programs (skopeo) trust ``ca``."""
    return {"SSL_CERT_FILE": str(ca)} if ca else {}


def serve(root: Path, auth: bool) -> Iterator[RealRegistry]:
    needs("docker-registry", "skopeo")
    server = RealRegistry(root, auth)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[RealRegistry]:
    yield from serve(tmp_path, auth=False)


@pytest.fixture
def auth_registry(tmp_path: Path) -> Iterator[RealRegistry]:
    yield from serve(tmp_path, auth=True)


def oci_layout(directory: Path, content: str) -> str:
    """A one-layer image as an OCI layout, by hand; returns its manifest digest."""
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def blob(data: bytes) -> tuple[str, int]:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return f"sha256:{digest}", len(data)

    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as archive:
        info = tarfile.TarInfo("hello.txt")
        info.size, info.mtime = len(content.encode()), 0
        archive.addfile(info, io.BytesIO(content.encode()))
    diff_id = "sha256:" + hashlib.sha256(tar.getvalue()).hexdigest()
    layer, layer_size = blob(gzip.compress(tar.getvalue(), mtime=0))
    config, config_size = blob(json.dumps({"architecture": "amd64", "os": "linux",
                                           "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode())
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer, "size": layer_size}],
    }).encode()
    digest, size = blob(manifest)
    (directory / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (directory / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": size,
         "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}))
    return digest


def stream(tmp_path: Path, *images: str) -> Path:
    path = tmp_path / "rendered.yaml"
    path.write_text(POD.format(containers="".join(f"    - {{name: c{n}, image: '{i}'}}\n" for n, i in enumerate(images))))
    return path


def verify(host: str, *args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return run_cli(["verify", "--registry", host, "--folder", "civitas", *map(str, args)], env=env)


def test_verify_passes_when_everything_is_there_and_names_what_is_missing(registry: RealRegistry, tmp_path: Path) -> None:
    one, other = tmp_path / "one", tmp_path / "other"
    digest = oci_layout(one, "one")
    oci_layout(other, "other")
    rendered = stream(tmp_path, "nginx:1.27", f"quay.io/acme/app:2.0@{digest}", "busybox")
    registry.push(one, "civitas/library/nginx:1.27")
    registry.push(one, "civitas/acme/app:2.0")
    result = verify(registry.host, "--insecure", rendered)
    assert result.returncode == 1 and result.stdout == b""
    lines = result.stderr.decode().splitlines()
    assert [line for line in lines if "is missing" in line] == [
        f"civitas-postrender: error: {registry.host}/civitas/library/busybox:latest is missing (the target of "
        f"docker.io/library/busybox, first seen at {rendered} document 0 Pod/p at spec.containers[2].image)"]
    assert lines[-1].endswith(f"1 of 3 images are missing from {registry.host}")
    registry.push(one, "civitas/library/busybox:latest")
    result = verify(registry.host, "--insecure", rendered)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode() == f"all 3 images are on {registry.host}\n"
    # The same through the image list post-render leaves behind: it keeps its coordinates.
    listed = tmp_path / "images.json"
    assert run_cli(["--registry", registry.host, "--folder", "civitas", "--images-out", str(listed), str(rendered)]).returncode == 0
    assert run_cli(["verify", "--insecure", str(listed)]).returncode == 0


def test_a_pinned_digest_must_be_there_by_digest(registry: RealRegistry, tmp_path: Path) -> None:
    wanted, moved = tmp_path / "wanted", tmp_path / "moved"
    digest = oci_layout(wanted, "the pinned build")
    oci_layout(moved, "what the tag points to now")
    registry.push(moved, "civitas/acme/app:2.0")  # the tag moved upstream before Harbor copied it
    rendered = stream(tmp_path, f"quay.io/acme/app:2.0@{digest}")
    result = verify(registry.host, "--insecure", rendered)
    assert result.returncode == 1
    assert (f"{registry.host}/civitas/acme/app:2.0@{digest} is missing by its digest, while the tag 2.0 is there: "
            "the tag moved upstream") in result.stderr.decode()
    registry.push(wanted, "civitas/acme/app:2.0")
    assert verify(registry.host, "--insecure", rendered).returncode == 0


def test_tls_is_verified_unless_insecure(registry: RealRegistry, tmp_path: Path) -> None:
    result = verify(registry.host, stream(tmp_path, "nginx:1.27"))
    assert result.returncode == 1
    assert f"https://{registry.host}: TLS fails" in result.stderr.decode() and "--insecure" in result.stderr.decode()


def test_basic_auth_from_env_or_docker_config(auth_registry: RealRegistry, tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    oci_layout(layout, "x")
    auth_registry.push(layout, "civitas/library/nginx:1.27")
    rendered = stream(tmp_path, "nginx:1.27")
    anonymous = verify(auth_registry.host, "--insecure", rendered)
    assert anonymous.returncode == 1 and "wants credentials" in anonymous.stderr.decode()
    env = {"CIVITAS_POSTRENDER_USERNAME": USER, "CIVITAS_POSTRENDER_PASSWORD": PASSWORD}
    assert verify(auth_registry.host, "--insecure", rendered, env=env).returncode == 0
    wrong = verify(auth_registry.host, "--insecure", rendered, env={**env, "CIVITAS_POSTRENDER_PASSWORD": "nope"})
    assert wrong.returncode == 1 and "refuses these credentials" in wrong.stderr.decode()
    assert "nope" not in wrong.stderr.decode()
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"auths": {auth_registry.host: {"auth": base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}}}))
    assert verify(auth_registry.host, "--insecure", "--docker-config", config, rendered).returncode == 0


# -- the bearer-token flow (Harbor, Docker Hub) -------------------------------------------------


class TokenFlow:
    """A registry that wants a bearer token and the token endpoint that issues it, on 127.0.0.1."""

    def __init__(self, manifests: set[str]) -> None:
        self.token_requests: list[dict[str, str]] = []
        flow = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # the token endpoint
                from urllib.parse import parse_qs, urlparse

                query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
                flow.token_requests.append({**query, "authorization": self.headers.get("Authorization", "")})
                good = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
                if not self.path.startswith("/service/token") or self.headers.get("Authorization") != good:
                    self.send_response(401)
                    self.end_headers()
                    return
                body = json.dumps({"token": "token-for-" + query.get("scope", "")}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_HEAD(self) -> None:  # the registry
                name, _, reference = self.path.removeprefix("/v2/").partition("/manifests/")
                scope = f"repository:{name}:pull"
                if self.headers.get("Authorization") != f"Bearer token-for-{scope}":
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", f'Bearer realm="http://{flow.host}/service/token",'
                                                         f'service="harbor-registry",scope="{scope}"')
                    self.end_headers()
                    return
                self.send_response(200 if f"{name}:{reference}" in manifests else 404)
                self.end_headers()

        self.http = LocalServer(Handler)
        self.host = self.http.host

    def stop(self) -> None:
        self.http.stop()


@pytest.fixture
def token_flow() -> Iterator[TokenFlow]:
    flow = TokenFlow({"civitas/library/nginx:1.27"})
    yield flow
    flow.stop()


def test_bearer_token_flow(token_flow: TokenFlow, tmp_path: Path) -> None:
    env = {"CIVITAS_POSTRENDER_USERNAME": USER, "CIVITAS_POSTRENDER_PASSWORD": PASSWORD}
    assert verify(token_flow.host, "--insecure", stream(tmp_path, "nginx:1.27"), env=env).returncode == 0
    request = token_flow.token_requests[-1]
    assert (request["service"], request["scope"]) == ("harbor-registry", "repository:civitas/library/nginx:pull")
    missing = verify(token_flow.host, "--insecure", stream(tmp_path, "nginx:1.27", "redis:8"), env=env)
    assert missing.returncode == 1 and f"{token_flow.host}/civitas/library/redis:8 is missing" in missing.stderr.decode()
    refused = verify(token_flow.host, "--insecure", stream(tmp_path, "nginx:1.27"))
    assert refused.returncode == 1 and "answers HTTP 401" in refused.stderr.decode() and "give credentials" in refused.stderr.decode()


# -- end to end: post-render, mirror with the README's skopeo commands, verify -------------------


def readme_skopeo_commands() -> tuple[str, str]:
    """The README's two commands that turn `images --format skopeo` into skopeo runs."""
    from conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    block = readme[readme.index("| csplit "):]
    split = block[2:block.index("\n")]
    loop = block[block.index("for f in sync-"):]
    return split, loop[:loop.index("\n")]


def test_end_to_end_post_render_mirror_with_skopeo_then_verify(tmp_path: Path) -> None:
    needs("docker-registry", "skopeo", "csplit", "sed")
    ca = tls_certificate(tmp_path)  # both registries speak TLS: the README's commands run unchanged
    (tmp_path / "upstream").mkdir()
    (tmp_path / "mirror").mkdir()
    upstream = RealRegistry(tmp_path / "upstream", auth=False, ca=ca)
    mirror = RealRegistry(tmp_path / "mirror", auth=False, ca=ca)
    try:
        first, second = tmp_path / "first", tmp_path / "second"
        digest = oci_layout(first, "first")
        oci_layout(second, "second")
        upstream.push(first, "library/nginx:1.27")
        upstream.push(first, "acme/app:2.0")
        upstream.push(second, "acme/app:3.0")
        rendered = stream(tmp_path, f"{upstream.host}/library/nginx:1.27", f"{upstream.host}/acme/app:2.0@{digest}")
        settings = ["--registry", mirror.host, "--folder", "civitas"]
        post_rendered = run_cli([*settings, str(rendered)])
        assert post_rendered.returncode == 0, post_rendered.stderr.decode()
        assert f"image: '{mirror.host}/civitas/acme/app:2.0@{digest}'" in post_rendered.stdout.decode()
        nothing_yet = verify(mirror.host, "--ca-file", ca, rendered)
        assert nothing_yet.returncode == 1 and "2 of 2 images are missing" in nothing_yet.stderr.decode()
        split, loop = readme_skopeo_commands()
        work = tmp_path / "work"
        work.mkdir()
        images = run_cli(["images", *settings, "--format", "skopeo", str(rendered)])
        assert images.returncode == 0, images.stderr.decode()
        for command, stdin in ((split, images.stdout), (loop, b"")):
            done = subprocess.run(["sh", "-c", command], input=stdin, cwd=work, capture_output=True,
                                  env=cli_env(trusting(ca)), timeout=300)
            assert done.returncode == 0, (command, done.stderr.decode())
        result = verify(mirror.host, "--ca-file", ca, rendered)
        assert result.returncode == 0, result.stderr.decode()
        assert result.stdout.decode() == f"all 2 images are on {mirror.host}\n"
        # A chart upgrade changes a tag nobody mirrored yet: verify names it.
        upgraded = stream(tmp_path, f"{upstream.host}/library/nginx:1.27", f"{upstream.host}/acme/app:3.0")
        result = verify(mirror.host, "--ca-file", ca, upgraded)
        assert result.returncode == 1 and f"{mirror.host}/civitas/acme/app:3.0 is missing" in result.stderr.decode()
    finally:
        upstream.stop()
        mirror.stop()
