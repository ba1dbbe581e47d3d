"""wits_client: tokens for Python notebooks and jobs running under ``wits exec``.

One file, standard library only (Python 3.8+). Put its folder on ``PYTHONPATH`` (or copy it next
to the notebook) and::

    from wits_client import credentials, WitsCredential

    token = credentials.getToken("Storage")             # alias, resource URI or /.default scope
    credentials.isValidToken(token)                      # True

    from azure.keyvault.secrets import SecretClient     # any Azure SDK client
    secrets = SecretClient("https://my-vault.vault.azure.net", WitsCredential())

Code written for Synapse keeps working with ``from wits_client import mssparkutils``.

The endpoint comes from the environment ``wits exec`` sets: ``IDENTITY_ENDPOINT`` +
``IDENTITY_HEADER`` (App Service protocol), or ``AZURE_POD_IDENTITY_AUTHORITY_HOST`` (IMDS, with
``wits exec --imds``); or pass ``endpoint=`` and ``secret=`` of a wits server explicitly.

Tokens are cached per identity and audience: concurrent callers (threads) share one request, a
token is refreshed in the background ahead of expiry while the current one is still served, 429
and 5xx answers are retried with back-off honouring ``Retry-After``, and an expired token is never
returned.

``isValidToken`` checks expiry and not-before (with a small clock skew); with ``verify=True`` it
also checks the signature against the issuer's JWKS. The standard library has no public-key
crypto, so RS256/RS384/RS512 and ES256 are verified here with plain integer arithmetic (public-key
operations only, no secrets involved); other algorithms make ``verify=True`` return False.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import email.utils
import hashlib
import http.client
import json
import os
import random
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from types import SimpleNamespace
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

__all__ = [
    "AccessToken",
    "AccessTokenInfo",
    "AsyncWitsCredential",
    "CredentialUnavailableError",
    "Endpoint",
    "EndpointNotFoundError",
    "InvalidTokenResponseError",
    "TokenRequestError",
    "WitsAccessToken",
    "WitsClient",
    "WitsConnectionError",
    "WitsCredential",
    "WitsError",
    "bearer_token_provider",
    "credentials",
    "decode_jwt",
    "discover_endpoint",
    "mssparkutils",
    "notebookutils",
]

__version__ = "0.1.0"

MIN_REMAINING = 60.0
"""A cached token with less validity left than this (seconds) is not served."""
MIN_FRESH_VALIDITY = 5.0
"""A token fresh from the endpoint must be valid for at least this long, or it is refused."""
_REFRESH_ATTEMPT_INTERVAL = 5.0
_MAX_REFRESH_ATTEMPT_INTERVAL = 60.0
_FIVE_MINUTES = 300.0
_RETRYABLE = frozenset({408, 429, 500, 502, 503, 504})
_DEFAULT_CLOCK_SKEW = 60
_IMDS_PATH = "/metadata/identity/oauth2/token"
_APP_SERVICE_SUFFIX = "/msi/token"
_NATIVE_SUFFIX = "/v1/token"


# ------------------------------------------------------------------------------------------ errors


class WitsError(Exception):
    """Base of every error of this module; ``code`` is stable (``ERR_UNKNOWN_AUDIENCE``, ...).

    Example::

        try:
            credentials.getToken("Stroage")
        except WitsError as err:
            print(err.code, err.suggestion)   # ERR_UNKNOWN_AUDIENCE Storage
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: Optional[int] = None,
        suggestion: Optional[str] = None,
        choices: Optional[Sequence[str]] = None,
        retry_after: Optional[float] = None,
        oauth_error: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.suggestion = suggestion
        self.choices = tuple(choices) if choices is not None else None
        self.retry_after = retry_after
        self.oauth_error = oauth_error

    def __str__(self) -> str:
        return self.message


class EndpointNotFoundError(WitsError):
    """The process does not run under ``wits exec`` (``missing`` names the variables looked for).

    Example::

        try:
            credentials.getToken("Storage")
        except EndpointNotFoundError as err:
            print(err.missing)
    """

    def __init__(self, missing: Sequence[str] = ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "AZURE_POD_IDENTITY_AUTHORITY_HOST"), detail: Optional[str] = None) -> None:
        text = detail or (
            "No wits endpoint in this environment: neither IDENTITY_ENDPOINT + IDENTITY_HEADER (App Service) "
            "nor AZURE_POD_IDENTITY_AUTHORITY_HOST (IMDS) is set."
        )
        super().__init__("ERR_NO_WITS_ENDPOINT", text + " Run the process under `wits exec -- <command>`, or pass endpoint= and secret= explicitly.")
        self.missing = tuple(missing)


class CredentialUnavailableError(WitsError):
    """Raised by ``WitsCredential`` outside ``wits exec``; named like azure-identity's class.

    Example::

        try:
            WitsCredential().get_token("https://storage.azure.com/.default")
        except CredentialUnavailableError:
            pass  # fall back to another credential
    """

    def __init__(self, message: str) -> None:
        super().__init__("ERR_NO_WITS_ENDPOINT", message)


class TokenRequestError(WitsError):
    """The wits endpoint refused: ``code`` is the server's (or ``ERR_HTTP_<status>``).

    Example::

        try:
            credentials.getToken("Vualt")
        except TokenRequestError as err:
            token = credentials.getToken(err.suggestion)   # "Vault"
    """


class WitsConnectionError(WitsError):
    """The endpoint could not be reached or timed out after every retry (``ERR_NETWORK``/``ERR_TIMEOUT``).

    Example::

        try:
            credentials.getToken("Storage")
        except WitsConnectionError:
            print("is the wits server running?")
    """


class InvalidTokenResponseError(WitsError):
    """A 200 without a usable token (``ERR_INVALID_RESPONSE``) or with an expired one (``ERR_EXPIRED_TOKEN``).

    Example::

        try:
            credentials.getToken("Storage")
        except InvalidTokenResponseError as err:
            print(err.code)
    """


# --------------------------------------------------------------------------------- token shapes


class AccessToken(NamedTuple):
    """What ``WitsCredential.get_token`` returns: azure-core's ``AccessToken`` shape.

    Example::

        token, expires_on = WitsCredential().get_token("https://storage.azure.com/.default")
    """

    token: str
    expires_on: int


class AccessTokenInfo:
    """What ``WitsCredential.get_token_info`` returns: azure-core's ``AccessTokenInfo`` shape.

    Example::

        info = WitsCredential().get_token_info("https://vault.azure.net/.default")
        print(info.expires_on, info.refresh_on, info.token_type)
    """

    def __init__(self, token: str, expires_on: int, *, token_type: str = "Bearer", refresh_on: Optional[int] = None) -> None:
        self.token = token
        self.expires_on = expires_on
        self.token_type = token_type
        self.refresh_on = refresh_on

    def __repr__(self) -> str:  # never shows the token
        return "AccessTokenInfo(token='****', expires_on={}, token_type={!r}, refresh_on={})".format(self.expires_on, self.token_type, self.refresh_on)


class WitsAccessToken(NamedTuple):
    """What ``credentials.getAccessToken`` returns; times are epoch seconds.

    Example::

        t = credentials.getAccessToken("Storage")
        print(t.resource, t.expires_on, t.refresh_on)   # https://storage.azure.com ...
    """

    token: str
    expires_on: int
    refresh_on: int
    resource: str
    client_id: Optional[str] = None
    token_type: str = "Bearer"

    def __repr__(self) -> str:  # never shows the token
        return "WitsAccessToken(token='****', expires_on={}, refresh_on={}, resource={!r})".format(self.expires_on, self.refresh_on, self.resource)


class Endpoint(NamedTuple):
    """A wits endpoint: ``kind`` is ``app-service``, ``imds`` or ``native``.

    Example::

        print(discover_endpoint().kind)
    """

    kind: str
    url: str
    secret: Optional[str] = None

    def __repr__(self) -> str:  # never shows the secret
        return "Endpoint(kind={!r}, url={!r})".format(self.kind, self.url)


# ------------------------------------------------------------------------------------ discovery


def _check_url(value: str, what: str) -> None:
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise WitsError("ERR_INVALID_ENDPOINT", "{} must be an http(s) URL, got {!r}.".format(what, value[:200]))
    if "@" in parsed.netloc:
        raise WitsError("ERR_INVALID_ENDPOINT", "{} must not contain user information.".format(what))


def discover_endpoint(env: Optional[Mapping[str, str]] = None, endpoint: Optional[str] = None, secret: Optional[str] = None) -> Endpoint:
    """The wits endpoint: explicit ``endpoint`` + ``secret``, else App Service variables, else IMDS.

    Raises ``EndpointNotFoundError`` naming what is missing.

    Example::

        endpoint = discover_endpoint()          # inside `wits exec -- python job.py`
    """
    if endpoint is not None or secret is not None:
        if not endpoint or not secret:
            raise WitsError("ERR_INVALID_ENDPOINT", "Pass both endpoint= (a wits server URL) and secret= (the session secret).")
        base = endpoint.strip().rstrip("/")
        _check_url(base, "The endpoint")
        return Endpoint("native", base if base.endswith(_NATIVE_SUFFIX) else base + _NATIVE_SUFFIX, secret)
    env = os.environ if env is None else env
    identity_endpoint = env.get("IDENTITY_ENDPOINT")
    identity_header = env.get("IDENTITY_HEADER")
    imds = env.get("AZURE_POD_IDENTITY_AUTHORITY_HOST")
    if identity_endpoint and identity_header:
        _check_url(identity_endpoint, "IDENTITY_ENDPOINT")
        return Endpoint("app-service", identity_endpoint, identity_header)
    if imds:
        _check_url(imds, "AZURE_POD_IDENTITY_AUTHORITY_HOST")
        return Endpoint("imds", imds.rstrip("/") + _IMDS_PATH)
    if identity_endpoint:
        raise EndpointNotFoundError(["IDENTITY_HEADER"], "IDENTITY_ENDPOINT is set but IDENTITY_HEADER is missing: the App Service protocol needs both (wits exec sets both).")
    if identity_header:
        raise EndpointNotFoundError(["IDENTITY_ENDPOINT"], "IDENTITY_HEADER is set but IDENTITY_ENDPOINT is missing: the App Service protocol needs both (wits exec sets both).")
    raise EndpointNotFoundError()


def _server_base(endpoint: Endpoint) -> Optional[str]:
    if endpoint.kind == "imds":
        return None
    suffix = _NATIVE_SUFFIX if endpoint.kind == "native" else _APP_SERVICE_SUFFIX
    parsed = urllib.parse.urlsplit(endpoint.url)
    path = parsed.path.rstrip("/")
    if not path.endswith(suffix):
        return None
    return "{}://{}{}".format(parsed.scheme, parsed.netloc, path[: -len(suffix)])


# ------------------------------------------------------------------------------------------ JWTs


def _b64url(part: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", part) or len(part) % 4 == 1:
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def decode_jwt(token: str) -> Optional[Tuple[Dict[str, Any], Dict[str, Any]]]:
    """``(header, claims)`` of a JWT, not verified; None when ``token`` is not one.

    Example::

        header, claims = decode_jwt(credentials.getToken("Storage"))
        print(claims["aud"])
    """
    if not isinstance(token, str) or len(token) > 65536:
        return None
    parts = token.split(".")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        return None
    try:
        header = json.loads(_b64url(parts[0]).decode("utf-8"))
        claims = json.loads(_b64url(parts[1]).decode("utf-8"))
    except (ValueError, UnicodeDecodeError, binascii.Error):
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    return header, claims


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and re.fullmatch(r"\s*\d+(\.\d+)?\s*", value):
        return float(value)
    return None


def _canonical_resource(value: str) -> str:
    text = value.strip()
    if text.lower().endswith("/.default"):
        text = text[: -len("/.default")]
    text = text.rstrip("/")
    match = re.match(r"^([a-z][a-z0-9+.-]*://)([^/]*)(.*)$", text, re.IGNORECASE)
    return text.lower() if match is None else match.group(1).lower() + match.group(2).lower() + match.group(3)


def _check_claims(token: Any, audience: Optional[str], clock_skew: float, now: float) -> bool:
    decoded = decode_jwt(token)
    if decoded is None:
        return False
    header, claims = decoded
    if not isinstance(header.get("alg"), str):
        return False
    times = {}
    for name in ("exp", "nbf", "iat"):
        if name in claims:
            value = claims[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return False
            times[name] = float(value)
    if "exp" not in times or now >= times["exp"] + clock_skew:
        return False
    if "nbf" in times and now < times["nbf"] - clock_skew:
        return False
    if "iat" in times and now < times["iat"] - clock_skew:
        return False
    if audience is not None:
        aud = claims.get("aud")
        values = aud if isinstance(aud, list) else [aud]
        want = _canonical_resource(audience)
        if not any(isinstance(v, str) and _canonical_resource(v) == want for v in values):
            return False
    return True


# Signature verification with integer arithmetic (public-key operations only).

_DIGEST_INFO = {  # DER prefixes of DigestInfo (RFC 8017 section 9.2, note 1)
    "RS256": (hashlib.sha256, bytes.fromhex("3031300d060960864801650304020105000420")),
    "RS384": (hashlib.sha384, bytes.fromhex("3041300d060960864801650304020205000430")),
    "RS512": (hashlib.sha512, bytes.fromhex("3051300d060960864801650304020305000440")),
}

# NIST P-256 (FIPS 186-4, D.1.2.3)
_P256_P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
_P256_A = _P256_P - 3
_P256_B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
_P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_P256_G = (
    0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
    0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
)


def _int(part: Any) -> Optional[int]:
    if not isinstance(part, str):
        return None
    try:
        return int.from_bytes(_b64url(part), "big")
    except (ValueError, binascii.Error):
        return None


def _verify_rsa(alg: str, jwk: Mapping[str, Any], data: bytes, signature: bytes) -> bool:
    n, e = _int(jwk.get("n")), _int(jwk.get("e"))
    if n is None or e is None or n.bit_length() < 2048 or e < 3:
        return False
    k = (n.bit_length() + 7) // 8
    if len(signature) != k:
        return False
    s = int.from_bytes(signature, "big")
    if s >= n:
        return False
    hash_fn, prefix = _DIGEST_INFO[alg]
    t = prefix + hash_fn(data).digest()
    expected = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
    return pow(s, e, n).to_bytes(k, "big") == expected


def _ec_add(p1: Optional[Tuple[int, int]], p2: Optional[Tuple[int, int]]) -> Optional[Tuple[int, int]]:
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2:
        if (y1 + y2) % _P256_P == 0:
            return None
        slope = (3 * x1 * x1 + _P256_A) * pow(2 * y1, -1, _P256_P) % _P256_P
    else:
        slope = (y2 - y1) * pow(x2 - x1, -1, _P256_P) % _P256_P
    x3 = (slope * slope - x1 - x2) % _P256_P
    return x3, (slope * (x1 - x3) - y1) % _P256_P


def _ec_mul(k: int, point: Tuple[int, int]) -> Optional[Tuple[int, int]]:
    result: Optional[Tuple[int, int]] = None
    addend: Optional[Tuple[int, int]] = point
    while k:
        if k & 1:
            result = _ec_add(result, addend)
        addend = _ec_add(addend, addend)
        k >>= 1
    return result


def _verify_es256(jwk: Mapping[str, Any], data: bytes, signature: bytes) -> bool:
    if jwk.get("crv") != "P-256" or len(signature) != 64:
        return False
    x, y = _int(jwk.get("x")), _int(jwk.get("y"))
    if x is None or y is None or not (0 <= x < _P256_P and 0 <= y < _P256_P):
        return False
    if (y * y - (x * x * x + _P256_A * x + _P256_B)) % _P256_P != 0:
        return False  # not on the curve
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    if not (1 <= r < _P256_N and 1 <= s < _P256_N):
        return False
    e = int.from_bytes(hashlib.sha256(data).digest(), "big")
    w = pow(s, -1, _P256_N)
    point = _ec_add(_ec_mul(e * w % _P256_N, _P256_G), _ec_mul(r * w % _P256_N, (x, y)))
    return point is not None and point[0] % _P256_N == r


_KTY = {"RS256": "RSA", "RS384": "RSA", "RS512": "RSA", "ES256": "EC"}
_ENTRA_V1 = re.compile(r"^https://sts\.windows\.net/([0-9a-f-]{36})/$")
_ENTRA_V2 = re.compile(r"^https://login\.microsoftonline\.com/([0-9a-f-]{36})/v2\.0$")


def _discovery_url(issuer: str) -> str:
    v1, v2 = _ENTRA_V1.match(issuer), _ENTRA_V2.match(issuer)
    if v1:
        return "https://login.microsoftonline.com/{}/.well-known/openid-configuration".format(v1.group(1))
    if v2:
        return "https://login.microsoftonline.com/{}/v2.0/.well-known/openid-configuration".format(v2.group(1))
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


# -------------------------------------------------------------------------------------- transport

_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""Token requests never go through HTTP(S)_PROXY: the endpoint is local and the secret must stay so."""


def _parse_retry_after(value: Optional[str], now: float) -> Optional[float]:
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return None if when is None else max(0.0, when.timestamp() - now)


def _shown(url: str) -> str:
    parsed = urllib.parse.urlsplit(url)
    return "{}://{}{}".format(parsed.scheme, parsed.netloc, parsed.path)


def _quote(text: str) -> str:
    shown = text if len(text) <= 80 else text[:80] + "..."
    return "'" + re.sub(r"[^\x20-\x7e]", "?", shown) + "'"


class _Entry:
    __slots__ = ("token", "next_attempt", "failures")

    def __init__(self, token: WitsAccessToken, now: float) -> None:
        self.token = token
        self.next_attempt = token.refresh_on if token.refresh_on > now else now + _REFRESH_ATTEMPT_INTERVAL
        self.failures = 0


class _Flight:
    __slots__ = ("done", "result", "error")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: Optional[WitsAccessToken] = None
        self.error: Optional[BaseException] = None


def _audience_key(audience: str) -> str:
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)(.*)$", audience)
    if match is None:
        return audience.lower() if re.fullmatch(r"[A-Za-z0-9_-]+", audience) else audience
    scheme, host, path = match.group(1).lower(), match.group(2), match.group(3)
    if path.endswith("/"):
        path = path[:-1]
    if path.lower().endswith("/.default"):
        path = path[: -len("/.default")]
        if path.endswith("/"):
            path = path[:-1]
    return "{}://{}{}".format(scheme, host.lower() if scheme == "https" else host, path)


def _identity(client_id: Optional[str], object_id: Optional[str], resource_id: Optional[str]) -> Tuple[Dict[str, str], str]:
    given = [(name, value) for name, value in (("client_id", client_id), ("object_id", object_id), ("resource_id", resource_id)) if value is not None]
    if len(given) > 1:
        raise WitsError("ERR_AMBIGUOUS_IDENTITY", "Give at most one of client_id, object_id and resource_id.")
    if not given:
        return {}, "system"
    name, value = given[0]
    if not isinstance(value, str) or not value.strip():
        raise WitsError("ERR_INVALID_ARGUMENT", "{} must be a non-empty string.".format(name))
    return {name: value.strip()}, "{}={}".format(name, value.strip().lower())


# ----------------------------------------------------------------------------------------- client


class WitsClient:
    """Tokens from the wits endpoint of this process, cached and refreshed ahead of expiry.

    Most code uses the module's ``credentials`` object or ``WitsCredential``; create a client to
    pass an explicit endpoint or keep a separate cache.

    Example::

        client = WitsClient()                                   # endpoint from `wits exec`
        client = WitsClient(endpoint="http://wits:8339", secret=session_secret)
        token = client.get_token("CognitiveServices")
    """

    def __init__(
        self,
        endpoint: Optional[str] = None,
        secret: Optional[str] = None,
        *,
        env: Optional[Mapping[str, str]] = None,
        max_retries: int = 3,
        retry_delay: float = 0.5,
        max_retry_delay: float = 30.0,
        timeout: float = 30.0,
    ) -> None:
        if max_retries < 0 or retry_delay < 0 or max_retry_delay < 0 or timeout <= 0:
            raise ValueError("max_retries, retry_delay and max_retry_delay must be >= 0 and timeout > 0")
        self._env = env
        self._endpoint: Optional[Endpoint] = discover_endpoint(None, endpoint, secret) if (endpoint is not None or secret is not None) else None
        self._max_retries = int(max_retries)
        self._retry_delay = float(retry_delay)
        self._max_retry_delay = float(max_retry_delay)
        self._timeout = float(timeout)
        self._lock = threading.Lock()
        self._entries: Dict[str, _Entry] = {}
        self._links: Dict[str, str] = {}
        self._inflight: Dict[str, _Flight] = {}
        self._documents: Dict[str, Tuple[float, Any]] = {}
        self._wits_issuer: Optional[str] = None
        self.last_refresh_error: Optional[BaseException] = None
        """The error of the last failed background refresh (the cached token was served meanwhile)."""

    @property
    def endpoint(self) -> Endpoint:
        """The endpoint, discovered on first use (``EndpointNotFoundError`` outside ``wits exec``).

        Example::

            print(WitsClient().endpoint.kind)    # 'app-service'
        """
        if self._endpoint is None:
            self._endpoint = discover_endpoint(self._env)
        return self._endpoint

    # -- tokens

    def get_access_token(
        self,
        audience: str,
        *,
        client_id: Optional[str] = None,
        object_id: Optional[str] = None,
        resource_id: Optional[str] = None,
        force_refresh: bool = False,
    ) -> WitsAccessToken:
        """The token for ``audience`` with its expiry, refresh time and canonical resource.

        Example::

            t = client.get_access_token("https://cognitiveservices.azure.com/.default")
            print(t.resource, t.expires_on)
        """
        if not isinstance(audience, str) or not audience.strip():
            raise WitsError("ERR_MISSING_AUDIENCE", "No audience given: pass an alias (e.g. Storage), a resource URI or a /.default scope.")
        requested = audience.strip()
        identity, identity_key = _identity(client_id, object_id, resource_id)
        endpoint = self.endpoint
        key = identity_key + "\0" + _audience_key(requested)

        def fetch() -> WitsAccessToken:
            return self._fetch(endpoint, requested, identity)

        return self._get(key, identity_key, fetch, force_refresh)

    def get_token(self, audience: str, **identity: Any) -> str:
        """An access token (JWT) for ``audience``: alias, resource URI or ``/.default`` scope.

        Example::

            token = client.get_token("Storage")
            token = client.get_token("Vault", client_id="00000000-0000-0000-0000-000000000001")
        """
        return self.get_access_token(audience, **identity).token

    def is_valid_token(
        self,
        token: str,
        *,
        verify: bool = False,
        audience: Optional[str] = None,
        issuer: Union[str, Sequence[str], None] = None,
        clock_skew: float = _DEFAULT_CLOCK_SKEW,
    ) -> bool:
        """False for garbage, expired or not-yet-valid tokens (``clock_skew`` seconds allowed).

        With ``verify=True`` the signature is checked against the issuer's JWKS (RS256/384/512 and
        ES256); trusted issuers are ``issuer`` if given, else the wits server of this process and
        Entra ID (under IMDS, where the server cannot be asked, the token's own issuer). Never raises.

        Example::

            if not client.is_valid_token(token, verify=True):
                token = client.get_token("Storage")
        """
        try:
            if not _check_claims(token, audience, float(clock_skew), time.time()):
                return False
            if not verify:
                return True
            return self._verify_signature(token, issuer)
        except Exception:  # noqa: BLE001 - a validity check must answer, not raise
            return False

    def clear_cache(self) -> None:
        """Forget every cached token.

        Example::

            client.clear_cache()
        """
        with self._lock:
            self._entries.clear()
            self._links.clear()

    # mssparkutils naming
    getToken = get_token
    getAccessToken = get_access_token
    isValidToken = is_valid_token

    # -- cache

    def _get(self, key: str, identity_key: str, fetch: Callable[[], WitsAccessToken], force: bool) -> WitsAccessToken:
        with self._lock:
            canonical = self._links.get(key, key)
            entry = None if force else self._entries.get(canonical)
            now = time.time()
            if entry is not None:
                if now < entry.token.expires_on - MIN_REMAINING:
                    if now >= entry.token.refresh_on and now >= entry.next_attempt and key not in self._inflight:
                        entry.next_attempt = now + min(_MAX_REFRESH_ATTEMPT_INTERVAL, _REFRESH_ATTEMPT_INTERVAL * 2 ** entry.failures)
                        flight = self._inflight[key] = _Flight()
                        threading.Thread(target=self._run, args=(key, identity_key, flight, fetch, entry), name="wits-token-refresh", daemon=True).start()
                    return entry.token
                del self._entries[canonical]
            flight = self._inflight.get(key)
            owner = flight is None
            if flight is None:
                flight = self._inflight[key] = _Flight()
        if owner:
            self._run(key, identity_key, flight, fetch, None)
        flight.done.wait()
        if flight.error is not None:
            raise flight.error
        assert flight.result is not None
        return flight.result

    def _run(self, key: str, identity_key: str, flight: _Flight, fetch: Callable[[], WitsAccessToken], background: Optional[_Entry]) -> None:
        try:
            token = fetch()
            with self._lock:
                canonical = identity_key + "\0" + _audience_key(token.resource)
                self._links.pop(key, None)
                self._links[key] = canonical
                self._entries.pop(canonical, None)
                self._entries[canonical] = _Entry(token, time.time())
                while len(self._entries) > 1000:
                    del self._entries[next(iter(self._entries))]
                while len(self._links) > 4000:
                    del self._links[next(iter(self._links))]
            flight.result = token
        except BaseException as err:  # noqa: BLE001 - handed to every waiter
            flight.error = err
            if background is not None:
                background.failures += 1
                self.last_refresh_error = err
        finally:
            with self._lock:
                if self._inflight.get(key) is flight:
                    del self._inflight[key]
            flight.done.set()

    # -- HTTP

    def _request(self, endpoint: Endpoint, audience: str, identity: Mapping[str, str]) -> Tuple[int, Optional[str], Any]:
        if endpoint.kind == "native":
            body: Dict[str, str] = {"audience": audience}
            names = {"client_id": "clientId", "object_id": "objectId", "resource_id": "resourceId"}
            for name, value in identity.items():
                body[names[name]] = value
            request = urllib.request.Request(
                endpoint.url,
                data=json.dumps(body).encode("utf-8"),
                method="POST",
                headers={"Authorization": "Bearer " + (endpoint.secret or ""), "Content-Type": "application/json", "Accept": "application/json"},
            )
        else:
            imds = endpoint.kind == "imds"
            params = {"api-version": "2018-02-01" if imds else "2019-08-01", "resource": audience}
            names = {"client_id": "client_id", "object_id": "object_id", "resource_id": "msi_res_id" if imds else "mi_res_id"}
            for name, value in identity.items():
                params[names[name]] = value
            headers = {"Metadata": "true", "Accept": "application/json"} if imds else {"X-IDENTITY-HEADER": endpoint.secret or "", "Accept": "application/json"}
            separator = "&" if "?" in endpoint.url else "?"
            request = urllib.request.Request(endpoint.url + separator + urllib.parse.urlencode(params), headers=headers)
        try:
            with _NO_PROXY_OPENER.open(request, timeout=self._timeout) as response:
                status, retry_after, raw = response.status, response.headers.get("Retry-After"), response.read()
        except urllib.error.HTTPError as err:
            status, retry_after, raw = err.code, err.headers.get("Retry-After") if err.headers else None, err.read()
        try:
            body_json = json.loads(raw.decode("utf-8")) if raw else None
        except (ValueError, UnicodeDecodeError):
            body_json = None
        return status, retry_after, body_json

    def _fetch(self, endpoint: Endpoint, audience: str, identity: Mapping[str, str]) -> WitsAccessToken:
        attempt = 0
        while True:
            failure: WitsError
            try:
                status, retry_after, body = self._request(endpoint, audience, identity)
            except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
                reason = getattr(err, "reason", err)
                timed_out = isinstance(reason, TimeoutError) or "timed out" in str(reason)
                failure = WitsConnectionError(
                    "ERR_TIMEOUT" if timed_out else "ERR_NETWORK",
                    "Could not reach the wits endpoint at {}: {}.".format(_shown(endpoint.url), reason),
                )
                wait = self._backoff(attempt + 1)
            else:
                now = time.time()
                if status == 200:
                    return _parse_token(endpoint, audience, body, now)
                failure = _error_from(audience, status, retry_after, body, now)
                if status not in _RETRYABLE:
                    raise failure
                wait = max(failure.retry_after or 0.0, self._backoff(attempt + 1))
            if attempt >= self._max_retries or wait > self._max_retry_delay:
                if attempt > 0:
                    failure.message += " (gave up after {} attempts)".format(attempt + 1)
                    failure.args = (failure.message,)
                raise failure
            time.sleep(wait)
            attempt += 1

    def _backoff(self, retry: int) -> float:
        return min(self._max_retry_delay, self._retry_delay * 2 ** (retry - 1) * (0.8 + random.random() * 0.4))

    # -- signature verification

    def _document(self, url: str) -> Optional[Dict[str, Any]]:
        cached = self._documents.get(url)
        if cached is not None and time.time() - cached[0] < 600:
            return cached[1]
        try:
            request = urllib.request.Request(url, headers={"Accept": "application/json"})
            with _NO_PROXY_OPENER.open(request, timeout=self._timeout) as response:
                value = json.loads(response.read().decode("utf-8"))
        except Exception:  # noqa: BLE001
            return None
        if not isinstance(value, dict):
            return None
        if len(self._documents) > 32:
            self._documents.clear()
        self._documents[url] = (time.time(), value)
        return value

    def _trusts(self, issuer: str, pinned: Union[str, Sequence[str], None]) -> bool:
        same = lambda a, b: a.rstrip("/") == b.rstrip("/")  # noqa: E731
        if pinned is not None:
            return any(same(p, issuer) for p in ([pinned] if isinstance(pinned, str) else pinned))
        if _ENTRA_V1.match(issuer) or _ENTRA_V2.match(issuer):
            return True
        try:
            base = _server_base(self.endpoint)
        except EndpointNotFoundError:
            base = None
        if base is None:
            return True  # no wits server to ask (IMDS, or outside wits exec): the token's own issuer
        if self._wits_issuer is None:
            doc = self._document(base + "/.well-known/openid-configuration")
            self._wits_issuer = doc.get("issuer") if doc and isinstance(doc.get("issuer"), str) else None
        return self._wits_issuer is not None and same(self._wits_issuer, issuer)

    def _verify_signature(self, token: str, pinned: Union[str, Sequence[str], None]) -> bool:
        decoded = decode_jwt(token)
        if decoded is None:
            return False
        header, claims = decoded
        alg, issuer = header.get("alg"), claims.get("iss")
        if alg not in _KTY or "crit" in header or not isinstance(issuer, str) or not re.match(r"^https?://", issuer):
            return False
        if not self._trusts(issuer, pinned):
            return False
        discovery = self._document(_discovery_url(issuer))
        if not discovery or not isinstance(discovery.get("jwks_uri"), str) or discovery.get("issuer", "").rstrip("/") != issuer.rstrip("/"):
            return False
        jwks = self._document(discovery["jwks_uri"])
        keys = jwks.get("keys") if jwks else None
        if not isinstance(keys, list):
            return False
        head, payload, sig = token.split(".")
        try:
            signature = _b64url(sig)
        except (ValueError, binascii.Error):
            return False
        data = (head + "." + payload).encode("ascii")
        kid = header.get("kid")
        for jwk in keys:
            if not isinstance(jwk, dict) or (kid is not None and jwk.get("kid") != kid):
                continue
            if jwk.get("kty") != _KTY[alg] or jwk.get("use", "sig") != "sig" or jwk.get("alg", alg) != alg:
                continue
            ok = _verify_es256(jwk, data, signature) if alg == "ES256" else _verify_rsa(alg, jwk, data, signature)
            if ok:
                return True
        return False


def _parse_token(endpoint: Endpoint, audience: str, body: Any, now: float) -> WitsAccessToken:
    if not isinstance(body, dict):
        raise InvalidTokenResponseError("ERR_INVALID_RESPONSE", "The wits endpoint at {} answered 200 without a JSON token response.".format(_shown(endpoint.url)))
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise InvalidTokenResponseError("ERR_INVALID_RESPONSE", "The token response from {} has no access_token.".format(_shown(endpoint.url)))
    decoded = decode_jwt(token)
    claims = decoded[1] if decoded else {}
    expires_on, expires_in, exp = _number(body.get("expires_on")), _number(body.get("expires_in")), _number(claims.get("exp"))
    expiry = expires_on if expires_on is not None else (now + expires_in if expires_in is not None else exp)
    if expiry is None:
        raise InvalidTokenResponseError("ERR_INVALID_RESPONSE", "The token response from {} says nothing about when the token expires.".format(_shown(endpoint.url)))
    if expiry < now + MIN_FRESH_VALIDITY:
        raise InvalidTokenResponseError(
            "ERR_EXPIRED_TOKEN",
            "The wits endpoint returned a token for {} that expired at {}; expired tokens are never handed out. Check the system clock.".format(
                _quote(audience), time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expiry))
            ),
        )
    refresh_in = _number(body.get("refresh_in"))
    if refresh_in is not None:
        refresh = now + refresh_in
    else:
        issued = _number(body.get("not_before")) or _number(claims.get("nbf")) or _number(claims.get("iat")) or now
        issued = min(issued, now)
        refresh = issued + (expiry - issued) / 2
    refresh = max(now, min(refresh, expiry - _FIVE_MINUTES))
    echoed = body.get("resource") if isinstance(body.get("resource"), str) and body.get("resource") else None
    aud = claims.get("aud") if isinstance(claims.get("aud"), str) else None
    resource = (echoed or aud) if endpoint.kind == "native" else (aud or echoed)
    client_id = body.get("client_id") if isinstance(body.get("client_id"), str) and body.get("client_id") else None
    return WitsAccessToken(token, int(expiry), int(refresh), resource or audience, client_id)


def _error_from(audience: str, status: int, retry_after: Optional[str], body: Any, now: float) -> TokenRequestError:
    fields = body if isinstance(body, dict) else {}
    nested = fields.get("error") if isinstance(fields.get("error"), dict) else {}
    code = fields.get("code") if isinstance(fields.get("code"), str) and re.fullmatch(r"[A-Z][A-Z0-9_]{0,63}", fields.get("code", "")) else "ERR_HTTP_{}".format(status)
    text = next(
        (v for v in (fields.get("message"), fields.get("error_description"), nested.get("message"), fields.get("error")) if isinstance(v, str) and v),
        "The wits endpoint answered HTTP {}.".format(status),
    ).strip()
    suggestion = fields.get("suggestion") if isinstance(fields.get("suggestion"), str) and fields.get("suggestion") else None
    choices = fields.get("choices") if isinstance(fields.get("choices"), list) and all(isinstance(c, str) for c in fields.get("choices", [])) else None
    wait = _parse_retry_after(retry_after, now)
    if wait is None and isinstance(fields.get("retry_after"), (int, float)):
        wait = float(fields["retry_after"])
    if suggestion is not None and suggestion not in text:
        text += " Did you mean '{}'?".format(suggestion)
    if status == 401:
        text += " The wits session of this process is missing, expired or revoked: start the workload again under `wits exec`."
    text += " [{}, HTTP {}, audience {}]".format(code, status, _quote(audience))
    oauth = fields.get("error") if isinstance(fields.get("error"), str) else (nested.get("code") if isinstance(nested.get("code"), str) else None)
    return TokenRequestError(code, text, status=status, suggestion=suggestion, choices=choices, retry_after=wait, oauth_error=oauth)


# ------------------------------------------------------------------------ notebook-style helpers

_default_client: Optional[WitsClient] = None
_default_lock = threading.Lock()


def _default() -> WitsClient:
    global _default_client
    with _default_lock:
        if _default_client is None:
            _default_client = WitsClient()
        return _default_client


class _Credentials:
    """``mssparkutils.credentials`` for wits: ``getToken``, ``getAccessToken``, ``isValidToken``.

    Example::

        from wits_client import credentials
        token = credentials.getToken("Storage")
    """

    def getToken(self, audience: str, **identity: Any) -> str:  # noqa: N802 - mssparkutils naming
        """An access token for ``audience``: alias (``Storage``), resource URI or ``/.default`` scope.

        Example::

            credentials.getToken("https://cognitiveservices.azure.com")
        """
        return _default().get_token(audience, **identity)

    def getAccessToken(self, audience: str, **options: Any) -> WitsAccessToken:  # noqa: N802
        """The token with its expiry, refresh time and canonical resource.

        Example::

            credentials.getAccessToken("Vault").expires_on
        """
        return _default().get_access_token(audience, **options)

    def isValidToken(self, token: str, **options: Any) -> bool:  # noqa: N802
        """False for garbage, expired or not-yet-valid tokens; ``verify=True`` also checks the signature.

        Example::

            credentials.isValidToken(token)
        """
        return _default().is_valid_token(token, **options)

    get_token = getToken
    get_access_token = getAccessToken
    is_valid_token = isValidToken


credentials = _Credentials()
"""Tokens for this process, ``mssparkutils.credentials`` style (one shared cache per process).

Example::

    from wits_client import credentials
    token = credentials.getToken("Storage")
"""

mssparkutils = SimpleNamespace(credentials=credentials)
"""``from wits_client import mssparkutils`` keeps Synapse code (``mssparkutils.credentials.getToken``) working."""

notebookutils = mssparkutils
"""The same for Fabric code (``notebookutils.credentials.getToken``)."""


def bearer_token_provider(audience: str, **options: Any) -> Callable[[], str]:
    """A function returning a fresh token for ``audience`` on each call, e.g. for ``openai``.

    Example::

        from openai import AzureOpenAI
        client = AzureOpenAI(azure_endpoint="https://my-aoai.openai.azure.com", api_version="2024-10-21",
                             azure_ad_token_provider=bearer_token_provider("CognitiveServices"))
    """
    client = options.pop("client", None)
    _identity(options.get("client_id"), options.get("object_id"), options.get("resource_id"))
    return lambda: (client or _default()).get_token(audience, **options)


# ----------------------------------------------------------------------- Azure SDK credential


class WitsCredential:
    """An Azure SDK credential (azure-core ``TokenCredential`` and ``SupportsTokenInfo``) backed by wits.

    ``get_token(*scopes)`` returns an object with ``.token`` and ``.expires_on``; exactly one scope
    per call, as with every managed identity. Outside ``wits exec`` it raises
    ``CredentialUnavailableError``. Without endpoint options it shares the process-wide cache of
    ``credentials``.

    Example::

        from azure.storage.blob import BlobServiceClient
        blobs = BlobServiceClient("https://myaccount.blob.core.windows.net", credential=WitsCredential())
    """

    def __init__(
        self,
        *,
        client_id: Optional[str] = None,
        object_id: Optional[str] = None,
        resource_id: Optional[str] = None,
        client: Optional[WitsClient] = None,
        **client_options: Any,
    ) -> None:
        self._identity, _ = _identity(client_id, object_id, resource_id)
        if client is not None and client_options:
            raise WitsError("ERR_INVALID_ARGUMENT", "Pass either client= or client options, not both.")
        self._client = client or (WitsClient(**client_options) if client_options else None)

    def _token(self, scopes: Sequence[str], claims: Optional[str]) -> WitsAccessToken:
        if len(scopes) != 1 or not isinstance(scopes[0], str):
            raise ValueError("WitsCredential: exactly one scope per token is supported (got {}), as with every managed identity.".format(len(scopes)))
        try:
            return (self._client or _default()).get_access_token(scopes[0], force_refresh=bool(claims), **self._identity)
        except EndpointNotFoundError as err:
            raise CredentialUnavailableError("WitsCredential: " + err.message) from err

    def get_token(self, *scopes: str, claims: Optional[str] = None, tenant_id: Optional[str] = None, enable_cae: bool = False, **kwargs: Any) -> AccessToken:
        """A token for one scope, e.g. ``https://vault.azure.net/.default``; ``tenant_id`` is ignored.

        Example::

            token = WitsCredential().get_token("https://storage.azure.com/.default")
            print(token.token, token.expires_on)
        """
        t = self._token(scopes, claims)
        return AccessToken(t.token, t.expires_on)

    def get_token_info(self, *scopes: str, options: Optional[Mapping[str, Any]] = None) -> AccessTokenInfo:
        """The token with ``token_type`` and ``refresh_on`` (azure-core >= 1.31 calls this one).

        Example::

            info = WitsCredential().get_token_info("https://vault.azure.net/.default")
        """
        t = self._token(scopes, (options or {}).get("claims"))
        return AccessTokenInfo(t.token, t.expires_on, token_type="Bearer", refresh_on=t.refresh_on)

    def close(self) -> None:
        """Nothing to release; present for the Azure SDK credential protocol.

        Example::

            credential.close()
        """

    def __enter__(self) -> "WitsCredential":
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()


class AsyncWitsCredential:
    """The asyncio flavour of ``WitsCredential``, for ``azure.*.aio`` clients.

    Example::

        from azure.keyvault.secrets.aio import SecretClient
        async with AsyncWitsCredential() as credential:
            secrets = SecretClient("https://my-vault.vault.azure.net", credential)
    """

    def __init__(self, **options: Any) -> None:
        self._sync = WitsCredential(**options)

    async def get_token(self, *scopes: str, claims: Optional[str] = None, tenant_id: Optional[str] = None, enable_cae: bool = False, **kwargs: Any) -> AccessToken:
        """Like ``WitsCredential.get_token``, without blocking the event loop.

        Example::

            token = await AsyncWitsCredential().get_token("https://storage.azure.com/.default")
        """
        return await asyncio.get_running_loop().run_in_executor(None, lambda: self._sync.get_token(*scopes, claims=claims))

    async def get_token_info(self, *scopes: str, options: Optional[Mapping[str, Any]] = None) -> AccessTokenInfo:
        """Like ``WitsCredential.get_token_info``, without blocking the event loop.

        Example::

            info = await AsyncWitsCredential().get_token_info("https://vault.azure.net/.default")
        """
        return await asyncio.get_running_loop().run_in_executor(None, lambda: self._sync.get_token_info(*scopes, options=options))

    async def close(self) -> None:
        """Nothing to release.

        Example::

            await credential.close()
        """

    async def __aenter__(self) -> "AsyncWitsCredential":
        return self

    async def __aexit__(self, *args: Any) -> None:
        await self.close()
