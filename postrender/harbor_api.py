"""Harbor's v2.0 REST API over requests: basic auth, verified TLS, paged lists, Harbor's errors.

Only what ``harbor sync`` needs; every body follows ``../shared/harbor/harbor-v2.0-swagger.yaml``.
Lists are paged (``page``, ``page_size`` at most 100, ``X-Total-Count``); a created resource's id
is the last component of the ``Location`` header of the 201.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .distribution import TIMEOUT, Credentials
from .errors import ConfigError, PostrenderError

PAGE_SIZE = 100  # Harbor's maximum


class HarborError(PostrenderError):
    """Harbor refused a request, or a replication failed."""


class Harbor:
    def __init__(self, url: str, credentials: Credentials, *, ca_file: str | None = None, insecure: bool = False) -> None:
        import requests

        url = url.rstrip("/")
        if "://" not in url:
            url = "https://" + url
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"--url {url}: not a Harbor URL (https://HOST)")
        if parts.scheme == "http" and not insecure:
            raise ConfigError(f"--url {url}: plain HTTP would send the credentials unencrypted: use https://, "
                              "or pass --insecure")
        self.url = url
        self.api = url + "/api/v2.0"
        self.session = requests.Session()
        self.session.auth = (credentials.username, credentials.password)
        # Given with every request: a session's own setting loses to REQUESTS_CA_BUNDLE in the environment.
        self.verify: str | bool = ca_file if ca_file else not insecure
        if insecure:  # asked for: no warning per request
            import urllib3

            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

    def list(self, path: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every item of a paged list endpoint."""
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            response = self._send("GET", path, params={**(params or {}), "page": page, "page_size": PAGE_SIZE})
            batch = response.json()
            if not isinstance(batch, list):
                raise HarborError(f"GET {self.api}{path}: Harbor answered with no list")
            items += batch
            total = response.headers.get("X-Total-Count")
            if not batch or len(batch) < PAGE_SIZE or (total is not None and len(items) >= int(total)):
                return items
            page += 1

    def get(self, path: str) -> Any:
        return self._send("GET", path).json()

    def text(self, path: str) -> str:
        return str(self._send("GET", path).text)

    def exists(self, path: str, params: Mapping[str, Any]) -> bool:
        """``HEAD``: 200 it exists, 404 it does not."""
        return bool(self._send("HEAD", path, params=params, missing_ok=True).status_code == 200)

    def create(self, path: str, body: Mapping[str, Any]) -> int | None:
        """``POST``; the new resource's id (from ``Location``), when Harbor gives one."""
        location = self._send("POST", path, body=body).headers.get("Location", "")
        last = location.rstrip("/").rpartition("/")[2]
        return int(last) if last.isdigit() else None

    def update(self, path: str, body: Mapping[str, Any]) -> None:
        self._send("PUT", path, body=body)

    def delete(self, path: str) -> None:
        self._send("DELETE", path)

    def _send(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
              body: Mapping[str, Any] | None = None, missing_ok: bool = False) -> Any:
        import requests

        url = self.api + path
        try:
            response = self.session.request(method, url, params=params, json=body, timeout=TIMEOUT, verify=self.verify,
                                            headers={"Accept": "application/json"})
        except requests.exceptions.SSLError as exc:
            raise ConfigError(f"{self.url}: TLS fails ({exc}): pass --ca-file for a private CA, or --insecure") from None
        except requests.exceptions.RequestException as exc:
            raise ConfigError(f"cannot reach {self.url}: {exc}") from None
        if response.status_code == 401:
            raise ConfigError(f"{method} {url}: HTTP 401: Harbor refuses these credentials")
        if response.status_code == 403:
            raise ConfigError(f"{method} {url}: HTTP 403: the user may not do this (harbor sync needs an admin, or a "
                              "robot account with the registry, replication and project permissions)")
        if response.status_code == 404 and missing_ok:
            return response
        if not 200 <= response.status_code < 300:
            raise HarborError(f"{method} {url}: HTTP {response.status_code}: {_message(response)}")
        return response


def _message(response: Any) -> str:
    """Harbor's error text (``{"errors": [{"code", "message"}]}``), else the start of the body."""
    try:
        errors = response.json().get("errors")
        return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors)
    except (ValueError, AttributeError, TypeError):
        return str(response.text[:200]).strip() or "no message"
