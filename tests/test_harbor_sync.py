"""``harbor sync`` against the Harbor API test server (tests/harbor_server.py) on 127.0.0.1: a first
sync, a chart upgrade, a removed image, policies of others, dry runs, replication, credentials, TLS."""
from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import run_cli
from harbor_server import PASSWORD, USER, HarborServer
from postrender import mirror
from postrender.mirror import harbor as harbor_format
from test_verify import stream, tls_certificate

ENV = {"CIVITAS_POSTRENDER_HARBOR_USERNAME": USER, "CIVITAS_POSTRENDER_HARBOR_PASSWORD": PASSWORD}
IMAGES = ("nginx:1.27", "quay.io/acme/app:2.0", "bitnami/redis:8.2.1")


@pytest.fixture
def harbor() -> Iterator[HarborServer]:
    server = HarborServer()
    yield server
    server.stop()
    assert server.violations == [], "a request body does not follow Harbor's swagger"


def sync(server: HarborServer, *args: str | Path, env: dict[str, str] | None = None, stdin: bytes = b"",
         url: str | None = None) -> subprocess.CompletedProcess[bytes]:
    return run_cli(["harbor", "sync", "--url", url or server.url, "--registry", "registry.intern", "--folder", "civitas",
                    *map(str, args)], env=ENV if env is None else env, stdin=stdin)


def synced(server: HarborServer, *args: str | Path) -> list[str]:
    """A sync that must succeed: its stdout lines."""
    result = sync(server, "--insecure", *args)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode().splitlines()


def policy_of(server: HarborServer, repository: str) -> dict[str, Any]:
    return next(p for p in server.policies.values() if p["filters"][0]["value"] == repository)


def test_first_sync_creates_then_nothing_changes(harbor: HarborServer, tmp_path: Path) -> None:
    lines = synced(harbor, stream(tmp_path, *IMAGES))
    assert lines[0] == "Plan: 6 to create, 0 to update, 0 to delete; 0 policies unchanged."
    assert lines[1:4] == ["+ project civitas: private", "+ registry docker.io: docker-hub, https://hub.docker.com",
                          "+ registry quay.io: quay, https://quay.io"]
    assert harbor.projects["civitas"]["metadata"] == {"public": "false"}
    ids = {r["name"]: r["id"] for r in harbor.registries.values()}
    placed = {(p["src_registry"]["id"], p["filters"][0]["value"], p["filters"][1]["value"], p["dest_namespace"],
               p["dest_namespace_replace_count"]) for p in harbor.policies.values()}
    assert placed == {(ids["docker.io"], "library/nginx", "1.27", "civitas", 0), (ids["quay.io"], "acme/app", "2.0", "civitas", 0),
                      (ids["docker.io"], "bitnami/redis", "8.2.1", "civitas", 0)}
    assert all(p["description"].endswith("[managed by civitas-postrender, folder civitas]") for p in harbor.policies.values())
    before = len(harbor.changes())
    assert synced(harbor, stream(tmp_path, *reversed(IMAGES))) == [
        "Plan: 0 to create, 0 to update, 0 to delete; 3 policies unchanged."]
    assert len(harbor.changes()) == before


def test_upgrade_updates_in_place_and_a_removed_image_is_deleted(harbor: HarborServer, tmp_path: Path) -> None:
    synced(harbor, stream(tmp_path, *IMAGES))
    redis, nginx = policy_of(harbor, "bitnami/redis"), policy_of(harbor, "library/nginx")
    others = {i: dict(p) for i, p in harbor.policies.items() if i != redis["id"]}
    before = len(harbor.changes())
    lines = synced(harbor, stream(tmp_path, "nginx:1.27", "quay.io/acme/app:2.0", "bitnami/redis:8.2.2"))
    assert lines == ["Plan: 0 to create, 1 to update, 0 to delete; 2 policies unchanged.",
                     f"~ policy {redis['name']}: tag filter 8.2.1 -> 8.2.2"]
    assert harbor.changes()[before:] == [("PUT", f"/api/v2.0/replication/policies/{redis['id']}")]
    assert harbor.policies[redis["id"]]["filters"][1]["value"] == "8.2.2"
    assert {i: p for i, p in harbor.policies.items() if i != redis["id"]} == others
    before = len(harbor.changes())
    lines = synced(harbor, stream(tmp_path, "quay.io/acme/app:2.0", "bitnami/redis:8.2.2"))
    assert lines == ["Plan: 0 to create, 0 to update, 1 to delete; 2 policies unchanged.",
                     f"- policy {nginx['name']}: docker.io library/nginx, tags 1.27"]
    assert harbor.changes()[before:] == [("DELETE", f"/api/v2.0/replication/policies/{nginx['id']}")]


def unmanaged(name: str, registry_id: int, description: str = "made by hand") -> dict[str, Any]:
    return {"name": name, "description": description, "src_registry": {"id": registry_id}, "dest_namespace": "civitas",
            "dest_namespace_replace_count": 0, "trigger": {"type": "manual"}, "enabled": True, "override": True,
            "filters": [{"type": "name", "value": "library/nginx"}, {"type": "tag", "value": "1.27", "decoration": "matches"}]}


def test_policies_it_does_not_manage_are_never_touched(harbor: HarborServer, tmp_path: Path) -> None:
    synced(harbor, stream(tmp_path, *IMAGES))
    docker = next(r["id"] for r in harbor.registries.values() if r["name"] == "docker.io")
    # More than one page of other people's policies, one of them another folder's.
    for n in range(150):
        harbor.add_policy(unmanaged(f"by-hand-{n:03d}", docker))
    harbor.add_policy(unmanaged("other-folder", docker, "x " + harbor_format.managed_marker("other")))
    theirs = {i: dict(p) for i, p in harbor.policies.items() if "civitas-postrender, folder civitas" not in p["description"]}
    before = len(harbor.changes())
    lines = synced(harbor, stream(tmp_path, "quay.io/acme/app:2.0"))
    assert lines[0] == "Plan: 0 to create, 0 to update, 2 to delete; 1 policy unchanged."
    assert {i: p for i, p in harbor.policies.items() if i in theirs} == theirs
    assert all(method == "DELETE" for method, _ in harbor.changes()[before:])
    pages = [path for method, path, _ in harbor.requests if method == "GET" and path.endswith("/replication/policies")]
    assert len(pages) >= 2, "the policies were read page by page"
    # A policy it needs whose name someone else's policy holds: an error before any change.
    wanted = policy_of(harbor, "acme/app")
    harbor.policies[wanted["id"]]["description"] = "taken over by hand"
    before = len(harbor.changes())
    result = sync(harbor, "--insecure", stream(tmp_path, "quay.io/acme/app:2.0", "nginx:1.28"))
    assert result.returncode == 1
    assert f"replication policy '{wanted['name']}' exists, but not with the marker" in result.stderr.decode()
    assert harbor.changes()[before:] == []


def test_a_managed_policy_without_replace_count_is_repaired(harbor: HarborServer, tmp_path: Path) -> None:
    """Harbor reads a missing dest_namespace_replace_count as -1 (legacy: only the last path component)."""
    synced(harbor, stream(tmp_path, "bitnami/redis:8.2.1"))
    policy = policy_of(harbor, "bitnami/redis")
    body = {k: v for k, v in policy.items() if k not in ("id", "dest_namespace_replace_count")}
    harbor.policies[policy["id"]] = {**harbor.policies[policy["id"]], "dest_namespace_replace_count": -1}
    assert "dest_namespace_replace_count" not in body
    lines = synced(harbor, stream(tmp_path, "bitnami/redis:8.2.1"))
    assert lines[1] == f"~ policy {policy['name']}: dest_namespace_replace_count -1 -> 0"
    assert harbor.policies[policy["id"]]["dest_namespace_replace_count"] == 0


def test_dry_run_prints_the_plan_and_changes_nothing(harbor: HarborServer, tmp_path: Path) -> None:
    result = sync(harbor, "--insecure", "--dry-run", "--project-public", stream(tmp_path, *IMAGES))
    assert result.returncode == 0, result.stderr.decode()
    lines = result.stdout.decode().splitlines()
    assert lines[:3] == ["+ project civitas: public", "+ registry docker.io: docker-hub, https://hub.docker.com",
                         "+ registry quay.io: quay, https://quay.io"]
    assert sorted(line.split(": ")[1] for line in lines[3:6]) == [
        "docker.io bitnami/redis, tags 8.2.1", "docker.io library/nginx, tags 1.27", "quay.io acme/app, tags 2.0"]
    assert lines[6] == "Plan: 6 to create, 0 to update, 0 to delete; 0 policies unchanged. (dry run: nothing changed)"
    assert harbor.changes() == [] and not harbor.policies
    synced(harbor, stream(tmp_path, *IMAGES))
    before = len(harbor.changes())
    result = sync(harbor, "--insecure", "--dry-run", stream(tmp_path, "nginx:1.28", "quay.io/acme/app:2.0"))
    assert [line[0] for line in result.stdout.decode().splitlines()] == ["~", "-", "P"]
    assert harbor.changes()[before:] == []
    assert sync(harbor, "--dry-run", "--wait", stream(tmp_path, *IMAGES)).returncode == 1


def test_wait_replicates_and_reports_progress(harbor: HarborServer, tmp_path: Path) -> None:
    lines = synced(harbor, "--wait", "--poll-interval", "0", stream(tmp_path, *IMAGES))
    executions = [json.dumps(body) for method, path, body in harbor.requests
                  if (method, path) == ("POST", "/api/v2.0/replication/executions")]
    assert sorted(executions) == sorted(json.dumps({"policy_id": i}) for i in harbor.policies)
    name = policy_of(harbor, "library/nginx")["name"]
    progress = [line for line in lines if line.startswith(f"policy {name}: ")]
    assert [line.split(" ", 4)[-1] for line in progress] == [
        "started", "InProgress: 0 of 1 tasks succeeded, 0 failed, 1 in progress",
        "Succeed: 1 of 1 tasks succeeded, 0 failed, 0 in progress"]
    assert lines[-1] == "all 3 replications succeeded"


def test_wait_fails_naming_each_failed_task(harbor: HarborServer, tmp_path: Path) -> None:
    harbor.failing["library/nginx"] = "pull manifest from remote registry: unauthorized: pull access denied"
    result = sync(harbor, "--insecure", "--wait", "--poll-interval", "0", stream(tmp_path, *IMAGES))
    assert result.returncode == 1
    errors = [line for line in result.stderr.decode().splitlines() if "error:" in line]
    name = policy_of(harbor, "library/nginx")["name"]
    assert errors == [f"civitas-postrender: error: policy {name}: library/nginx:[1.27] -> civitas/library/nginx:[1.27]: "
                      "Failed: pull manifest from remote registry: unauthorized: pull access denied",
                      "civitas-postrender: error: 1 of 3 replications failed"]


def test_wait_gives_up_after_the_timeout(harbor: HarborServer, tmp_path: Path) -> None:
    harbor.stuck = True
    result = sync(harbor, "--insecure", "--wait", "--poll-interval", "0", "--wait-timeout", "0", stream(tmp_path, "nginx:1.27"))
    assert result.returncode == 1
    name = policy_of(harbor, "library/nginx")["name"]
    assert f"policy {name}: execution {max(harbor.executions)} still running after 0 s" in result.stderr.decode()


def test_credentials_never_from_argv_and_never_shown(harbor: HarborServer, tmp_path: Path) -> None:
    rendered = stream(tmp_path, *IMAGES)
    assert "CIVITAS_POSTRENDER_HARBOR_USERNAME" in sync(harbor, "--insecure", rendered, env={}).stderr.decode()
    wrong = sync(harbor, "--insecure", rendered, env={**ENV, "CIVITAS_POSTRENDER_HARBOR_PASSWORD": "hunter2"})
    assert wrong.returncode == 1 and "refuses these credentials" in wrong.stderr.decode()
    assert "hunter2" not in wrong.stderr.decode() + wrong.stdout.decode()
    argv = sync(harbor, "--insecure", "--password", "hunter2", rendered)
    assert argv.returncode == 1 and "never taken from the command line" in argv.stderr.decode()
    assert "hunter2" not in argv.stderr.decode()
    env = {"CIVITAS_POSTRENDER_HARBOR_USERNAME": USER}
    piped = sync(harbor, "--insecure", "--password-stdin", "--dry-run", rendered, env=env, stdin=f"{PASSWORD}\n".encode())
    assert piped.returncode == 0, piped.stderr.decode()
    assert sync(harbor, "--password-stdin", "-", env=env).returncode == 1
    plain = sync(harbor, rendered)  # http:// without --insecure: the password would travel in clear
    assert plain.returncode == 1 and "plain HTTP" in plain.stderr.decode()
    assert harbor.changes() == []


def test_tls_is_verified_with_the_given_ca(tmp_path: Path) -> None:
    server = HarborServer(tls_certificate(tmp_path))
    try:
        rendered = stream(tmp_path, *IMAGES)
        refused = sync(server, rendered)
        assert refused.returncode == 1 and "TLS fails" in refused.stderr.decode() and "--ca-file" in refused.stderr.decode()
        result = sync(server, "--ca-file", tmp_path / "ca.pem", rendered)
        assert result.returncode == 0, result.stderr.decode()
        assert len(server.policies) == 3
    finally:
        server.stop()
    assert server.violations == []


def test_lists_keep_their_coordinates_and_empty_input_is_refused(harbor: HarborServer, tmp_path: Path) -> None:
    listed = tmp_path / "images.json"
    written = run_cli(["--registry", "registry.intern", "--folder", "platform", "--images-out", str(listed),
                       str(stream(tmp_path, "nginx:1.27"))])
    assert written.returncode == 0, written.stderr.decode()
    result = run_cli(["harbor", "sync", "--url", harbor.url, "--insecure", str(listed)], env=ENV)
    assert result.returncode == 0, result.stderr.decode()
    assert [p["dest_namespace"] for p in harbor.policies.values()] == ["platform"] and "platform" in harbor.projects
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = sync(harbor, "--insecure", empty)
    assert refused.returncode == 1 and "--allow-empty" in refused.stderr.decode()
    assert len(harbor.policies) == 1
    # lists that hold no image (rendered with the values overlay: every image already private) delete nothing
    nothing = tmp_path / "nothing.json"
    assert run_cli(["--registry", "registry.intern", "--folder", "platform", "--images-out", str(nothing)],
                   stdin=stream(tmp_path, "registry.intern/platform/library/nginx:1.27").read_bytes()).returncode == 0
    refused = run_cli(["harbor", "sync", "--url", harbor.url, "--insecure", str(nothing)], env=ENV)
    assert refused.returncode == 1 and "no image to mirror" in refused.stderr.decode() and "--allow-empty" in refused.stderr.decode()
    assert len(harbor.policies) == 1
    emptied = run_cli(["harbor", "sync", "--url", harbor.url, "--insecure", "--allow-empty", str(nothing)], env=ENV)
    assert emptied.returncode == 0, emptied.stderr.decode()
    assert harbor.policies == {}


def test_long_registry_names_fit_harbor(harbor: HarborServer, tmp_path: Path) -> None:
    domain = "a-rather-long-registry-host-name-of-some-vendor.eu-central-1.registry.example.org"
    assert len(domain) > 64
    name = harbor_format.endpoint_name(domain)
    assert len(name) == 64 and name != harbor_format.endpoint_name(domain[:-1] + "x")
    synced(harbor, stream(tmp_path, f"{domain}/team/app:1.0"))
    assert [r["name"] for r in harbor.registries.values()] == [name]
    assert [p["src_registry"]["name"] for p in harbor.policies.values()] == [name]


def test_policy_names_do_not_depend_on_tags_or_order() -> None:
    def names(*sources: str) -> list[str]:
        listing = mirror.merge([{"source": s, "occurrences": [], "rule": "r"} for s in sources], "registry.intern", "civitas")
        return sorted(p["name"] for p in harbor_format.bodies(listing)[0]["policies"])

    assert names("quay.io/p/a:1", "quay.io/p/b:2") == names("quay.io/p/b:3", "quay.io/p/a:4")
    assert names("quay.io/p/a:1", "quay.io/p/b:1") != names("quay.io/p/a:1", "quay.io/p/c:1")
    assert all(len(n) <= 256 for n in names(*(f"quay.io/{'x' * 200}/r{i}:1" for i in range(3))))


def test_the_test_server_behaves_as_harbor(harbor: HarborServer) -> None:
    """The rules the server holds sync to, each seen through the client sync uses."""
    from postrender.distribution import Credentials
    from postrender.errors import PostrenderError
    from postrender.harbor_api import Harbor

    client = Harbor(harbor.url, Credentials(USER, PASSWORD), insecure=True)
    registry = client.create("/registries", {"name": "quay.io", "type": "quay", "url": "https://quay.io"})
    policy = {"name": "p", "src_registry": {"name": "quay.io"}, "dest_namespace": "civitas", "trigger": {"type": "manual"},
              "filters": [{"type": "name", "value": "acme/app"}]}
    cases = [
        ("/registries", {"name": "x" * 65, "type": "quay", "url": "https://quay.io"}, "HTTP 400: BAD_REQUEST: the registry name must be"),
        ("/registries", {"name": "quay.io", "type": "quay", "url": "https://quay.io"}, "HTTP 409"),
        ("/registries", {"name": "q", "type": "quay", "url": "https://quay.io", "bogus": 1}, "'bogus' was unexpected"),
        ("/replication/policies", policy, "either src_registry or dest_registry"),
        ("/projects", {"project_name": "a--b"}, "project name 'a--b' is not valid"),
    ]
    for path, body, message in cases:
        with pytest.raises(PostrenderError, match=message.replace("(", r"\(").replace(")", r"\)")):
            client.create(path, body)
    created = client.create("/replication/policies", {**policy, "src_registry": {"id": registry}})
    assert client.get(f"/replication/policies/{created}")["dest_namespace_replace_count"] == -1  # missing means -1
    with pytest.raises(PostrenderError, match="HTTP 409"):
        client.create("/replication/policies", {**policy, "src_registry": {"id": registry}})
    for n in range(205):
        harbor.add_policy({**policy, "name": f"p{n}", "src_registry": {"id": registry}})
    assert len(client.list("/replication/policies")) == 206  # three pages of at most 100
    with pytest.raises(PostrenderError, match="HTTP 401"):
        Harbor(harbor.url, Credentials(USER, "wrong"), insecure=True).list("/registries")
    harbor.violations.clear()  # the bogus field above was refused on purpose


def test_the_readme_ansible_task_runs_as_written(tmp_path: Path) -> None:
    """The playbook task of the README's Ansible section: its argv, with the inventory's values put in."""
    import yaml

    from conftest import CLI, ROOT, cli_env

    readme = (ROOT / "README.md").read_text()
    start = readme.index("- name: Harbor replicates every image the releases pull")
    task = yaml.safe_load(readme[start:readme.index("```", start)])[0]
    server = HarborServer(tls_certificate(tmp_path))
    try:
        images = tmp_path / "images"
        images.mkdir()
        written = run_cli(["--registry", "registry.intern", "--folder", "civitas", "--images-out", str(images / "a.json"),
                           str(stream(tmp_path, *IMAGES))])
        assert written.returncode == 0, written.stderr.decode()
        values = {"harbor_host": server.url.removeprefix("https://"), "playbook_dir": str(tmp_path),
                  "harbor_admin": USER, "harbor_password": PASSWORD}
        argv = [arg.replace("{{ ", "{").replace(" }}", "}").format(**values) for arg in task["ansible.builtin.command"]["argv"]]
        assert argv[0] == "civitas-postrender"
        env = {key: value.replace("{{ ", "{").replace(" }}", "}").format(**values) for key, value in task["environment"].items()}
        env = cli_env({**env, "REQUESTS_CA_BUNDLE": str(tmp_path / "ca.pem")})
        first = subprocess.run([*CLI, *argv[1:], "--poll-interval", "0"], capture_output=True, env=env, timeout=120)
        assert first.returncode == 0, first.stderr.decode()
        unchanged = "Plan: 0 to create, 0 to update, 0 to delete"  # the task's changed_when
        assert unchanged not in first.stdout.decode() and len(server.policies) == 3
        again = subprocess.run([*CLI, *argv[1:], "--poll-interval", "0"], capture_output=True, env=env, timeout=120)
        assert again.returncode == 0 and unchanged in again.stdout.decode()
        assert unchanged in task["changed_when"]
    finally:
        server.stop()
    assert server.violations == []


def test_harbor_without_a_command_says_which_there_are() -> None:
    result = run_cli(["harbor"])
    assert result.returncode == 1
    assert result.stderr.decode() == "civitas-postrender: error: harbor needs a command: sync (see civitas-postrender harbor --help)\n"


def test_projects_of_the_flat_scheme_and_of_overrides(harbor: HarborServer, tmp_path: Path) -> None:
    rendered = stream(tmp_path, "bitnami/redis:8.2.1", "quay.io/acme/app:2.0", "quay.io/prometheus-operator/prometheus-operator:v0.85.0")
    env = {**ENV, "CIVITAS_POSTRENDER_OVERRIDES": "quay.io/prometheus-operator/**=ops/prometheus-operator"}
    result = run_cli(["harbor", "sync", "--url", harbor.url, "--insecure", "--registry", "registry.intern", str(rendered)], env=env)
    assert result.returncode == 0, result.stderr.decode()
    assert [line for line in result.stdout.decode().splitlines() if "project" in line] == [
        "+ project acme: private", "+ project bitnami: private", "+ project ops: private"]
    placed = {(p["filters"][0]["value"], p["dest_namespace"], p["dest_namespace_replace_count"]) for p in harbor.policies.values()}
    assert placed == {("bitnami/redis", "", 0), ("acme/app", "", 0), ("prometheus-operator/prometheus-operator", "ops", 1)}
    assert all(p["description"].endswith("[managed by civitas-postrender, flat scheme]") for p in harbor.policies.values())
