"""Ask a registry whether it holds a manifest: the OCI distribution API, over requests.

``HEAD /v2/<name>/manifests/<tag-or-digest>``: 200 it is there, 404 it is not.  A 401 says
how to authenticate (``WWW-Authenticate``): ``Basic`` takes the credentials; ``Bearer`` names
a token endpoint (Harbor, Docker Hub, GitLab), asked with the credentials (or anonymously) for
a pull token per repository, as Docker does.  TLS is verified unless told otherwise; with
``insecure`` a registry that does not speak TLS is asked over plain HTTP.
"""
from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError, InputError

# Every manifest form a runtime pulls: a registry answers 404 for a type the client does not accept.
ACCEPT = ", ".join([
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
])
TIMEOUT = 30
_PARAM = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def __repr__(self) -> str:  # never print a password, not even in a traceback
        return f"Credentials(username={self.username!r}, password=***)"


class Registry:
    def __init__(self, host: str, credentials: Credentials | None = None, *, ca_file: str | None = None,
                 insecure: bool = False) -> None:
        import requests

        self.host, self.credentials, self.insecure = host, credentials, insecure
        self.session = requests.Session()
        # Given with every request: a session's own setting loses to REQUESTS_CA_BUNDLE in the environment.
        self.verify: str | bool = ca_file if ca_file else not insecure
        if insecure:  # asked for: no warning per request
            import urllib3

            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self._base: str | None = None
        self._authorization: dict[str, str] = {}  # scope -> Authorization header value

    def has_manifest(self, repository: str, reference: str) -> bool:
        """Whether ``repository`` holds ``reference`` (a tag or a digest)."""
        url = f"{self.base()}/v2/{repository}/manifests/{reference}"
        scope = f"repository:{repository}:pull"
        response = self._send(url, scope)
        if response.status_code == 401:
            self._authorization[scope] = self._authorize(response.headers.get("WWW-Authenticate", ""), scope, url)
            response = self._send(url, scope)
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        if response.status_code in (401, 403):
            raise ConfigError(f"{url}: HTTP {response.status_code}: the registry refuses "
                              + ("these credentials" if self.credentials else "anonymous pulls: give credentials"))
        raise InputError(f"{url}: unexpected answer HTTP {response.status_code}")

    def base(self) -> str:
        """``https://HOST``; with ``insecure``, ``http://HOST`` when the registry does not speak TLS."""
        if self._base is None:
            import requests

            self._base = f"https://{self.host}"
            try:
                self.session.get(f"{self._base}/v2/", timeout=TIMEOUT, verify=self.verify)
            except requests.exceptions.SSLError as exc:
                if not self.insecure:
                    raise ConfigError(f"{self._base}: TLS fails ({exc}): pass --ca-file for a private CA, "
                                      "or --insecure") from None
                self._base = f"http://{self.host}"
            except requests.exceptions.ConnectionError as exc:
                if not self.insecure:
                    raise ConfigError(f"cannot reach {self._base}: {exc}") from None
                self._base = f"http://{self.host}"
        return self._base

    def _send(self, url: str, scope: str) -> Any:
        import requests

        headers = {"Accept": ACCEPT}
        if scope in self._authorization:
            headers["Authorization"] = self._authorization[scope]
        try:
            return self.session.head(url, headers=headers, timeout=TIMEOUT, allow_redirects=True, verify=self.verify)
        except requests.exceptions.RequestException as exc:
            raise ConfigError(f"{url}: {exc}") from None

    def _authorize(self, challenge: str, scope: str, url: str) -> str:
        scheme, _, rest = challenge.partition(" ")
        params = dict(_PARAM.findall(rest))
        if scheme.lower() == "basic":
            if self.credentials is None:
                raise ConfigError(f"{url}: the registry wants credentials (basic auth): set "
                                  "CIVITAS_POSTRENDER_USERNAME and CIVITAS_POSTRENDER_PASSWORD, or --docker-config")
            return "Basic " + _basic(self.credentials)
        if scheme.lower() == "bearer" and "realm" in params:
            return "Bearer " + self._token(params, scope, url)
        raise InputError(f"{url}: unsupported authentication challenge {challenge!r}")

    def _token(self, params: dict[str, str], scope: str, url: str) -> str:
        import requests

        query = {"scope": params.get("scope") or scope}
        if "service" in params:
            query["service"] = params["service"]
        auth = (self.credentials.username, self.credentials.password) if self.credentials else None
        try:
            response = self.session.get(params["realm"], params=query, auth=auth, timeout=TIMEOUT, verify=self.verify)
        except requests.exceptions.RequestException as exc:
            raise ConfigError(f"token endpoint {params['realm']}: {exc}") from None
        if response.status_code != 200:
            raise ConfigError(f"token endpoint {params['realm']} answers HTTP {response.status_code} for {url}"
                              + ("" if self.credentials else ": give credentials"))
        try:
            body = response.json()
            token = body.get("token") or body.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise InputError(f"token endpoint {params['realm']} answers without a token")
        return token


def _basic(credentials: Credentials) -> str:
    return base64.b64encode(f"{credentials.username}:{credentials.password}".encode("utf-8")).decode("ascii")


def docker_config_credentials(path: Path, registry: str) -> Credentials | None:
    """The credentials a Docker config (``~/.docker/config.json``, a pull secret's
    ``.dockerconfigjson``) holds for ``registry``; ``None`` when it holds none."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ConfigError(f"{path}: not a Docker config (invalid JSON: {exc})") from None
    auths = data.get("auths") if isinstance(data, dict) else None
    if not isinstance(auths, dict):
        raise ConfigError(f"{path}: not a Docker config (no 'auths' object)")
    for key, entry in auths.items():
        host = re.sub(r"^https?://", "", str(key)).split("/")[0]
        if host != registry or not isinstance(entry, dict):
            continue
        if isinstance(entry.get("username"), str) and isinstance(entry.get("password"), str):
            return Credentials(entry["username"], entry["password"])
        if isinstance(entry.get("auth"), str):
            try:
                username, sep, password = base64.b64decode(entry["auth"], validate=True).decode("utf-8").partition(":")
            except ValueError:
                sep = ""
            if not sep:
                raise ConfigError(f"{path}: the 'auth' of {key} is not base64 of 'username:password'")
            return Credentials(username, password)
    return None
