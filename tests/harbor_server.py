"""A Harbor v2.0 API test server on 127.0.0.1: the endpoints ``harbor sync`` uses, behaving as Harbor does.

Every request body is checked against ``../shared/harbor/harbor-v2.0-swagger.yaml`` (with unknown
fields refused, which Harbor ignores silently); a violation is a 400 and is kept in ``violations``.
Harbor's rules from its source (../shared/harbor/NOTES.md): basic auth on every call; policy names
unique (409); exactly one of ``src_registry.id``/``dest_registry.id``; ``dest_namespace`` a Docker
name; a missing ``dest_namespace_replace_count`` stored as -1; deletion read from ``deletion``;
filters JSON at most 1024 characters; registry names at most 64 characters and unique; project
names by Harbor's rule; lists paged (``page``, ``page_size`` at most 100, ``X-Total-Count``).
Replication executions run one task per repository and tag set the policy selects; they are
InProgress when first asked for (always, when ``stuck``), then Succeed, or Failed where ``failing``
names the repository.
"""
from __future__ import annotations

import base64
import json
import re
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from test_mirror_formats import harbor_definitions, replace_namespace, specific_paths, strict

USER, PASSWORD = "admin", "Harbor12345"
API = "/api/v2.0"
PROJECT = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*\Z")
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
DOCKER_NAME = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*\Z")
ADAPTERS = {"docker-hub", "docker-registry", "quay", "github-ghcr", "harbor"}


class Problem(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class LocalServer:
    """An HTTP server on 127.0.0.1 (TLS with ``certificate``), served from a thread until ``stop``."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], certificate: Path | None = None) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        if certificate is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certificate, certificate.with_suffix(".key"))
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


class HarborServer:
    def __init__(self, certificate: Path | None = None) -> None:
        self.projects: dict[str, dict[str, Any]] = {"library": {"project_id": 1, "name": "library", "metadata": {"public": "true"}}}
        self.registries: dict[int, dict[str, Any]] = {}
        self.policies: dict[int, dict[str, Any]] = {}
        self.executions: dict[int, dict[str, Any]] = {}
        self.tasks: dict[int, list[dict[str, Any]]] = {}
        self.failing: dict[str, str] = {}  # repository -> the error its task logs
        self.stuck = False  # executions stay InProgress
        self.requests: list[tuple[str, str, Any]] = []  # method, path, body
        self.violations: list[str] = []
        self._next = 100
        self._lock = threading.Lock()
        self._validators = self._schemas()
        self.http = LocalServer(self._handler(), certificate)
        self.url = f"{'https' if certificate else 'http'}://{self.http.host}"

    def stop(self) -> None:
        self.http.stop()

    def changes(self) -> list[tuple[str, str]]:
        """Every request that changes something: (method, path)."""
        return [(method, path) for method, path, _ in self.requests if method in ("POST", "PUT", "DELETE")]

    def policy(self, name: str) -> dict[str, Any]:
        return next(p for p in self.policies.values() if p["name"] == name)

    def add_policy(self, body: dict[str, Any]) -> int:
        """A policy made by someone else, straight into the store."""
        with self._lock:
            return self._store_policy(self._new_id(), body)

    # -- the API ------------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        route = path.removeprefix(API)
        if method == "HEAD" and route == "/projects":
            return (200 if query.get("project_name") in self.projects else 404), None, {}
        if route == "/projects" and method == "POST":
            self._check(body, "ProjectReq")
            name = str(body.get("project_name", ""))
            if not PROJECT.match(name):
                raise Problem(400, f"project name {name!r} is not valid")
            if name in self.projects:
                raise Problem(409, f"project {name} already exists")
            self.projects[name] = {"project_id": self._new_id(), "name": name, "metadata": body.get("metadata") or {}}
            return 201, None, {"Location": f"{API}/projects/{self.projects[name]['project_id']}"}
        if route == "/registries":
            if method == "GET":
                return self._page(list(self.registries.values()), query)
            if method == "POST":
                return self._create_registry(body)
        if route == "/replication/policies":
            if method == "GET":
                return self._page([self._shown(p) for p in self.policies.values()], query)
            if method == "POST":
                self._check(body, "ReplicationPolicy")
                self._validate_policy(body, None)
                policy_id = self._store_policy(self._new_id(), body)
                return 201, None, {"Location": f"{API}/replication/policies/{policy_id}"}
        match = re.fullmatch(r"/replication/policies/(\d+)", route)
        if match:
            policy_id = int(match[1])
            if policy_id not in self.policies:
                raise Problem(404, f"policy {policy_id} not found")
            if method == "GET":
                return 200, self._shown(self.policies[policy_id]), {}
            if method == "PUT":
                self._check(body, "ReplicationPolicy")
                self._validate_policy(body, policy_id)
                self._store_policy(policy_id, body)
                return 200, None, {}
            if method == "DELETE":
                del self.policies[policy_id]
                return 200, None, {}
        if route == "/replication/executions" and method == "POST":
            self._check(body, "StartReplicationExecution")
            return self._start(int(body.get("policy_id", 0)))
        match = re.fullmatch(r"/replication/executions/(\d+)(/tasks(?:/(\d+)/log)?)?", route)
        if match and method == "GET" and int(match[1]) in self.executions:
            execution = self.executions[int(match[1])]
            if match[3]:
                task = next((t for t in self.tasks[execution["id"]] if t["id"] == int(match[3])), None)
                if task is None:
                    raise Problem(404, "task not found")
                return 200, task["_log"], {"Content-Type": "text/plain"}
            if match[2]:
                tasks = [{k: v for k, v in t.items() if k != "_log"} for t in self.tasks[execution["id"]]]
                return self._page([t for t in tasks if query.get("status") in (None, t["status"])], query)
            return 200, self._progress(execution), {}
        raise Problem(404, f"{method} {path}: no such endpoint here")

    def _create_registry(self, body: Any) -> tuple[int, Any, dict[str, str]]:
        self._check(body, "Registry")
        name, url = str(body.get("name") or ""), str(body.get("url") or "")
        if not name or len(name) > 64:
            raise Problem(400, f"the registry name must be 1 to 64 characters long: {name!r}")
        if not re.match(r"https?://[^/\s]+", url) or body.get("type") not in ADAPTERS:
            raise Problem(400, f"invalid url {url!r} or type {body.get('type')!r}")
        if any(r["name"] == name for r in self.registries.values()):
            raise Problem(409, f"registry {name} already exists")
        registry_id = self._new_id()
        self.registries[registry_id] = {**body, "id": registry_id, "status": "healthy"}
        return 201, None, {"Location": f"{API}/registries/{registry_id}"}

    def _validate_policy(self, body: dict[str, Any], own_id: int | None) -> None:
        """controller/replication/model/model.go, pkg/replication/dao/dao.go."""
        if not body.get("name"):
            raise Problem(400, "the policy name is required")
        if any(p["name"] == body["name"] and i != own_id for i, p in self.policies.items()):
            raise Problem(409, f"policy {body['name']} already exists")
        src, dest = (body.get("src_registry") or {}).get("id"), (body.get("dest_registry") or {}).get("id")
        if bool(src) == bool(dest):
            raise Problem(400, "either src_registry or dest_registry should be empty and the other one shouldn't be empty")
        if src and src not in self.registries:
            raise Problem(400, f"registry {src} not found")
        namespace = body.get("dest_namespace") or ""
        if namespace and not DOCKER_NAME.match(namespace):
            raise Problem(400, f"invalid dest_namespace {namespace!r}")
        if (body.get("trigger") or {}).get("type") not in ("manual", "event_based", "scheduled"):
            raise Problem(400, "invalid trigger type")
        for f in body.get("filters") or ():
            if not isinstance(f.get("value"), str) or (f.get("type") == "name" and f.get("decoration")):
                raise Problem(400, f"invalid filter {f}")
        if len(json.dumps(body.get("filters") or [], separators=(",", ":"))) > 1024:
            raise Problem(500, "value too long for type character varying(1024)")

    def _store_policy(self, policy_id: int, body: dict[str, Any]) -> int:
        """As the handler reads a body: ids of the registries only, -1 for a missing replace count,
        deletion from ``deletion``; a PUT replaces the whole policy."""
        src = self.registries.get((body.get("src_registry") or {}).get("id"), {})
        self.policies[policy_id] = {
            "id": policy_id, "name": body["name"], "description": body.get("description", ""),
            "src_registry": src, "dest_registry": {"id": 0, "name": "Local"},
            "dest_namespace": body.get("dest_namespace", ""),
            "dest_namespace_replace_count": body.get("dest_namespace_replace_count", -1),
            "trigger": {"type": (body.get("trigger") or {}).get("type"), "trigger_settings": {"cron": ""}},
            "filters": [{"decoration": "", **f} for f in body.get("filters") or ()],
            "deletion": bool(body.get("deletion")), "override": bool(body.get("override")),
            "enabled": bool(body.get("enabled")), "speed": body.get("speed", -1),
        }
        return policy_id

    def _shown(self, policy: dict[str, Any]) -> dict[str, Any]:
        return {**policy, "replicate_deletion": policy["deletion"]}

    def _start(self, policy_id: int) -> tuple[int, Any, dict[str, str]]:
        policy = self.policies.get(policy_id)
        if policy is None:
            raise Problem(404, f"policy {policy_id} not found")
        filters = {f["type"]: f["value"] for f in policy["filters"]}
        execution_id = self._new_id()
        tasks = []
        for repository in specific_paths(filters["name"]) or []:
            error = self.failing.get(repository)
            dest = replace_namespace(repository, policy["dest_namespace"], policy["dest_namespace_replace_count"])
            log = ("2026-12-01T08:00:00Z [INFO] [/controller/replication/transfer/image/transfer.go:120]: copying\n"
                   + (f"2026-12-01T08:00:01Z [ERROR] [/controller/replication/transfer/image/transfer.go:210]: {error}\n"
                      if error else ""))
            tasks.append({"id": self._new_id(), "execution_id": execution_id, "status": "Failed" if error else "Succeed",
                          "operation": "copy", "resource_type": "image", "src_resource": f"{repository}:[{filters['tag']}]",
                          "dst_resource": f"{dest}:[{filters['tag']}]", "_log": log})
        self.tasks[execution_id] = tasks
        self.executions[execution_id] = {"id": execution_id, "policy_id": policy_id, "trigger": "manual", "asked": 0}
        return 201, None, {"Location": f"{API}/replication/executions/{execution_id}"}

    def _progress(self, execution: dict[str, Any]) -> dict[str, Any]:
        """InProgress the first time it is asked for, then done."""
        execution["asked"] += 1
        tasks = self.tasks[execution["id"]]
        failed = sum(t["status"] == "Failed" for t in tasks)
        shown = {k: v for k, v in execution.items() if k != "asked"}
        if execution["asked"] == 1 or self.stuck:
            return {**shown, "status": "InProgress", "total": len(tasks), "in_progress": len(tasks), "succeed": 0,
                    "failed": 0, "stopped": 0, "status_text": ""}
        return {**shown, "status": "Failed" if failed else "Succeed", "total": len(tasks), "in_progress": 0,
                "succeed": len(tasks) - failed, "failed": failed, "stopped": 0, "status_text": ""}

    def _page(self, items: list[Any], query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        name = (query.get("q") or "").removeprefix("name=") or query.get("name")
        if name:
            items = [i for i in items if i.get("name") == name]
        page, size = int(query.get("page", 1)), int(query.get("page_size", 10))
        if size > 100 or page < 1 or size < 1:
            raise Problem(422, "page_size should be at most 100")
        return 200, items[(page - 1) * size: page * size], {"X-Total-Count": str(len(items))}

    def _check(self, body: Any, definition: str) -> None:
        errors = sorted(str(e.message) for e in self._validators[definition].iter_errors(body))
        if errors:
            self.violations.append(f"{definition}: {'; '.join(errors)}")
            raise Problem(400, f"the body is not a {definition}: {'; '.join(errors)}")

    def _schemas(self) -> dict[str, Any]:
        from jsonschema import Draft4Validator

        definitions = strict(harbor_definitions())
        return {name: Draft4Validator({"$ref": f"#/definitions/{name}", "definitions": definitions})
                for name in ("ProjectReq", "Registry", "ReplicationPolicy", "StartReplicationExecution")}

    def _new_id(self) -> int:
        self._next += 1
        return self._next

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        harbor = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                good = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
                try:
                    body = json.loads(raw) if raw else None
                    with harbor._lock:
                        harbor.requests.append((self.command, parts.path, body))
                        if self.headers.get("Authorization") != good:
                            raise Problem(401, "unauthorized")
                        if self.command in ("POST", "PUT") and self.headers.get("Content-Type") != "application/json":
                            raise Problem(415, "application/json only")
                        status, answer, headers = harbor.handle(self.command, parts.path, query, body)
                except Problem as problem:
                    status, headers = problem.status, {}
                    answer = {"errors": [{"code": {401: "UNAUTHORIZED", 404: "NOT_FOUND", 409: "CONFLICT"}.get(
                        problem.status, "BAD_REQUEST"), "message": str(problem)}]}
                except ValueError as exc:
                    status, headers, answer = 400, {}, {"errors": [{"code": "BAD_REQUEST", "message": str(exc)}]}
                data = answer.encode() if isinstance(answer, str) else json.dumps(answer).encode() if answer is not None else b""
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                if "Content-Type" not in headers:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

        return Handler
