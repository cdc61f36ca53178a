"""``harbor sync``'s work: compare the Harbor bodies with what Harbor holds, plan, apply, replicate.

Harbor ends up with exactly the policies the lists need: missing ones are created, changed ones
updated in place (``PUT``; names carry no tags, so a chart upgrade updates), and policies that
carry this folder's marker (``managed_marker``) but are no longer needed are deleted.  Any other
policy is never touched; one whose name a needed policy wants is an error, before any change.
Registry endpoints are looked up by name and created when missing, never changed; so are the
projects the policies replicate into.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .harbor_api import Harbor, HarborError
from .mirror.harbor import managed_marker

Out = Callable[[str], None]
# What a policy body of ours says; the rest of a stored policy (speed, copy_by_chunk, ...) is kept.
OPTIONAL = ("speed", "copy_by_chunk", "single_active_replication")
DONE = {"Succeed", "Failed", "Stopped"}  # an execution's final states


@dataclass(frozen=True)
class Change:
    action: str  # create, update, delete
    kind: str  # project, registry, policy
    name: str
    detail: str
    body: dict[str, Any] = field(default_factory=dict, compare=False)
    id: int | None = None  # of the policy to update or delete

    def __str__(self) -> str:
        sign = {"create": "+", "update": "~", "delete": "-"}[self.action]
        return f"{sign} {self.kind} {self.name}" + (f": {self.detail}" if self.detail else "")


@dataclass
class Plan:
    changes: list[Change]
    registry_ids: dict[str, int]  # endpoint name -> id, of those that exist
    unchanged: dict[str, int]  # policy name -> id

    def summary(self) -> str:
        counts = {action: sum(c.action == action for c in self.changes) for action in ("create", "update", "delete")}
        return (f"Plan: {counts['create']} to create, {counts['update']} to update, {counts['delete']} to delete; "
                f"{len(self.unchanged)} {'policy' if len(self.unchanged) == 1 else 'policies'} unchanged.")


def plan(harbor: Harbor, body: dict[str, Any], public: bool) -> Plan:
    """What has to change in Harbor for it to hold exactly ``body``'s policies (nothing is changed)."""
    marker = managed_marker(body["folder"])
    changes = [Change("create", "project", p, "public" if public else "private",
                      {"project_name": p, "metadata": {"public": str(public).lower()}})
               for p in sorted(_projects(body["policies"])) if not harbor.exists("/projects", {"project_name": p})]
    registry_ids = {str(r["name"]): int(r["id"]) for r in harbor.list("/registries")}
    changes += [Change("create", "registry", r["name"], f"{r['type']}, {r['url']}", r)
                for r in body["registries"] if r["name"] not in registry_ids]
    existing = {str(p["name"]): p for p in harbor.list("/replication/policies")}
    conflicts = [f"replication policy {p['name']!r} exists, but not with the marker {marker!r}: harbor sync never "
                 "changes a policy it does not manage; rename or delete it in Harbor"
                 for p in body["policies"] if p["name"] in existing and not _ours(existing[p["name"]], marker)]
    if conflicts:
        raise HarborError(*conflicts)
    unchanged: dict[str, int] = {}
    for policy in body["policies"]:
        old = existing.get(policy["name"])
        if old is None:
            changes.append(Change("create", "policy", policy["name"], _selects(policy), policy))
            continue
        differences = _differences(old, policy, registry_ids.get(policy["src_registry"]["name"]))
        if differences:
            changes.append(Change("update", "policy", policy["name"], "; ".join(differences),
                                  {**{k: old[k] for k in OPTIONAL if old.get(k) is not None}, **policy}, int(old["id"])))
        else:
            unchanged[policy["name"]] = int(old["id"])
    wanted = {p["name"] for p in body["policies"]}
    changes += [Change("delete", "policy", name, _selects(old), id=int(old["id"])) for name, old in sorted(existing.items())
                if name not in wanted and _ours(old, marker)]
    return Plan(changes, registry_ids, unchanged)


def apply(harbor: Harbor, planned: Plan, out: Out) -> dict[str, int]:
    """Make the planned changes (projects, endpoints, policies created or updated, then the deletions,
    so that nothing is ever unreplicated); the needed policies' ids by name."""
    ids = dict(planned.registry_ids)
    policies = dict(planned.unchanged)
    for change in planned.changes:
        out(str(change))
        if change.kind == "project":
            harbor.create("/projects", change.body)
        elif change.kind == "registry":
            new = harbor.create("/registries", change.body)
            ids[change.name] = new if new is not None else _registry_id(harbor, change.name)
        elif change.action == "delete":
            harbor.delete(f"/replication/policies/{change.id}")
        else:
            body = {**change.body, "src_registry": {**change.body["src_registry"], "id": ids[change.body["src_registry"]["name"]]}}
            if change.id is not None:  # an update
                harbor.update(f"/replication/policies/{change.id}", body)
                policies[change.name] = change.id
            else:
                new = harbor.create("/replication/policies", body)
                policies[change.name] = new if new is not None else _policy_id(harbor, change.name)
    return policies


def replicate(harbor: Harbor, policies: dict[str, int], out: Out, poll: float, timeout: float) -> None:
    """Start every policy and wait for the executions; fail naming each failed task's repository and error."""
    running: dict[int, str] = {}
    for name, policy_id in sorted(policies.items()):
        execution = harbor.create("/replication/executions", {"policy_id": policy_id})
        if execution is None:
            raise HarborError(f"policy {name}: Harbor started an execution without saying its id")
        running[execution] = name
        out(f"policy {name}: execution {execution} started")
    shown: dict[int, str] = {}
    finished: dict[int, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    while True:
        for execution, name in running.items():
            if execution in finished:
                continue
            state = harbor.get(f"/replication/executions/{execution}")
            line = (f"policy {name}: execution {execution} {state.get('status')}: {state.get('succeed', 0)} of "
                    f"{state.get('total', 0)} tasks succeeded, {state.get('failed', 0)} failed, "
                    f"{state.get('in_progress', 0)} in progress")
            if shown.get(execution) != line:
                out(line)
                shown[execution] = line
            if state.get("status") in DONE:
                finished[execution] = state
        if len(finished) == len(running):
            break
        if time.monotonic() >= deadline:
            raise HarborError(*(f"policy {name}: execution {e} still running after {timeout:g} s"
                                for e, name in running.items() if e not in finished))
        time.sleep(poll)
    failures = [problem for e, state in sorted(finished.items()) if state.get("status") != "Succeed"
                for problem in _failures(harbor, running[e], e, state)]
    if failures:
        raise HarborError(*failures, f"{sum(s.get('status') != 'Succeed' for s in finished.values())} of "
                                     f"{len(finished)} replications failed")
    out(f"all {len(finished)} replications succeeded")


def _failures(harbor: Harbor, name: str, execution: int, state: dict[str, Any]) -> list[str]:
    tasks = [t for t in harbor.list(f"/replication/executions/{execution}/tasks") if t.get("status") != "Succeed"]
    if not tasks:
        return [f"policy {name}: execution {execution} {state.get('status')}: {state.get('status_text') or 'no tasks'}"]
    return [f"policy {name}: {t.get('src_resource')} -> {t.get('dst_resource')}: {t.get('status')}: "
            f"{_error(harbor, execution, t)}" for t in tasks]


def _error(harbor: Harbor, execution: int, task: dict[str, Any]) -> str:
    """The last error line of a task's log, without its timestamp and source location."""
    try:
        log = harbor.text(f"/replication/executions/{execution}/tasks/{task.get('id')}/log")
    except HarborError:
        return "(no log)"
    lines = [line for line in log.splitlines() if line.strip()]
    errors = [line for line in lines if "[ERROR]" in line] or lines[-1:]
    return errors[-1].rpartition("]: ")[2].strip() if errors else "(empty log)"


def _ours(policy: dict[str, Any], marker: str) -> bool:
    return str(policy.get("description") or "").endswith(marker)


def _projects(policies: list[dict[str, Any]]) -> set[str]:
    """The projects the policies replicate into: their namespace's first component, or (flat scheme)
    the source path's, which the name filter starts with."""
    name_filter = {p["name"]: next(f["value"] for f in p["filters"] if f["type"] == "name") for p in policies}
    return {(p["dest_namespace"] or name_filter[p["name"]]).split("/")[0] for p in policies}


def _filters(policy: dict[str, Any]) -> dict[str, tuple[str, str]]:
    # Harbor reads a missing decoration as "matches"
    return {str(f.get("type")): (str(f.get("value")), str(f.get("decoration") or "matches")) for f in policy.get("filters") or ()}


def _selects(policy: dict[str, Any]) -> str:
    filters = _filters(policy)
    source = (policy.get("src_registry") or {}).get("name", "?")
    return f"{source} {filters.get('name', ('**', ''))[0]}, tags {filters.get('tag', ('**', ''))[0]}"


def _differences(old: dict[str, Any], new: dict[str, Any], registry_id: int | None) -> list[str]:
    """What a stored policy says otherwise than ours, one phrase each."""
    differences = []
    old_filters, new_filters = _filters(old), _filters(new)
    for kind in sorted(old_filters.keys() | new_filters.keys()):
        if old_filters.get(kind) != new_filters.get(kind):
            differences.append(f"{kind} filter {_shown(old_filters.get(kind))} -> {_shown(new_filters.get(kind))}")
    stored = {
        "src_registry.id": (old.get("src_registry") or {}).get("id"),
        "dest_namespace": old.get("dest_namespace") or "",
        "dest_namespace_replace_count": old.get("dest_namespace_replace_count", -1),  # missing: -1, as Harbor reads it
        "trigger": (old.get("trigger") or {}).get("type"),
        "override": old.get("override"),
        "enabled": old.get("enabled"),
        "replicate_deletion": bool(old.get("replicate_deletion") or old.get("deletion")),
        "description": old.get("description"),
    }
    wanted = {
        "src_registry.id": registry_id, "dest_namespace": new["dest_namespace"],
        "dest_namespace_replace_count": new["dest_namespace_replace_count"], "trigger": new["trigger"]["type"],
        "override": new["override"], "enabled": new["enabled"], "replicate_deletion": new["replicate_deletion"],
        "description": new["description"],
    }
    differences += [f"{key} {stored[key]!r} -> {wanted[key]!r}" if key != "description" else "description"
                    for key in wanted if stored[key] != wanted[key]]
    return differences


def _shown(filter_value: tuple[str, str] | None) -> str:
    if filter_value is None:
        return "(none)"
    value, decoration = filter_value
    return value if decoration == "matches" else f"{value} ({decoration})"


def _registry_id(harbor: Harbor, name: str) -> int:
    return next(int(r["id"]) for r in harbor.list("/registries") if r["name"] == name)


def _policy_id(harbor: Harbor, name: str) -> int:
    return next(int(p["id"]) for p in harbor.list("/replication/policies") if p["name"] == name)
