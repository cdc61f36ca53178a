"""--exclude globs (postrender.plan.Glob): the same answers as the regular expression they
replace, in time linear in the name (no timing here: a backtracking matcher would not finish
the long cases at all, and the hostile catalogue runs them under a CPU limit)."""
from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postrender.plan import Glob


def _as_regex(pattern: str) -> re.Pattern[str]:
    """The old translation: ``**`` any characters, ``*`` within a segment, ``?`` one non-slash."""
    parts, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            parts.append(".*")
            i += 2
        else:
            parts.append({"*": "[^/]*", "?": "[^/]"}.get(pattern[i], re.escape(pattern[i])))
            i += 1
    return re.compile("".join(parts) + r"\Z")


@pytest.mark.parametrize(("pattern", "name", "matches"), [
    ("docker.io/library/busybox", "docker.io/library/busybox", True),
    ("docker.io/library/busybox", "docker.io/library/busybox2", False),
    ("ghcr.io/acme/*", "ghcr.io/acme/app", True),
    ("ghcr.io/acme/*", "ghcr.io/acme/team/app", False),
    ("ghcr.io/acme/**", "ghcr.io/acme/team/app", True),
    ("ghcr.io/**/app", "ghcr.io/app", False),
    ("ghcr.io/**app", "ghcr.io/app", True),
    ("quay.io/?cme/*", "quay.io/acme/x", True),
    ("quay.io/?cme/*", "quay.io//cme/x", False),
    ("*", "", True),
    ("**", "a/b/c", True),
    ("", "", True),
    ("", "a", False),
    ("a***b", "a/x/b", True),
    ("**a*a*a*a*a*a*a*a*a*a*b", "a" * 5000 + "c", False),
    ("**a*a*a*a*a*a*a*a*a*a*b", "a" * 5000 + "b", True),
    ("*a*a*a*a*a*a*a*a*a*a*/b", "a" * 3000 + "/c", False),
])
def test_glob(pattern: str, name: str, matches: bool) -> None:
    assert Glob(pattern).match(name) is matches


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="ab/*?.", max_size=8), st.text(alphabet="ab/.", max_size=10))
def test_glob_agrees_with_the_regular_expression(pattern: str, name: str) -> None:
    assert Glob(pattern).match(name) == bool(_as_regex(pattern).match(name))
