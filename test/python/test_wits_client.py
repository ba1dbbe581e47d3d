"""Tests of python/wits_client.py, standard library only.

Run by test/client/python.test.ts (``npm test``) with a live wits session in the environment::

    PYTHONPATH=python python3 -m unittest discover -s test/python -v

Without a live session (IDENTITY_ENDPOINT + IDENTITY_HEADER and WITS_TEST_LIVE=1) the live tests
are skipped and the offline ones, against a scripted local endpoint, still run.
"""

import asyncio
import base64
import http.server
import json
import os
import re
import sys
import threading
import time
import unittest
from typing import Any, Callable, Dict, List, Optional

import wits_client
from wits_client import (
    AccessToken,
    AsyncWitsCredential,
    CredentialUnavailableError,
    EndpointNotFoundError,
    InvalidTokenResponseError,
    TokenRequestError,
    WitsClient,
    WitsConnectionError,
    WitsCredential,
    WitsError,
    bearer_token_provider,
    credentials,
    decode_jwt,
    discover_endpoint,
    mssparkutils,
    notebookutils,
)

LIVE = os.environ.get("WITS_TEST_LIVE") == "1" and bool(os.environ.get("IDENTITY_ENDPOINT")) and bool(os.environ.get("IDENTITY_HEADER"))
OUT: Dict[str, Any] = {}


def b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def craft(claims: Dict[str, Any], header: Optional[Dict[str, Any]] = None) -> str:
    return "{}.{}.{}".format(b64(header or {"alg": "RS256", "typ": "JWT", "kid": "none"}), b64(claims), "c2ln")


def claims_of(token: str) -> Dict[str, Any]:
    decoded = decode_jwt(token)
    assert decoded is not None
    return decoded[1]


def token_body(lifetime: int = 3600, issued_ago: int = 0, aud: str = "https://storage.azure.com", refresh_in: Optional[int] = None, resource: Optional[str] = None) -> Dict[str, str]:
    now = int(time.time())
    iat = now - issued_ago
    exp = iat + lifetime
    body = {
        "access_token": craft({"aud": aud, "iss": "http://wits.test", "iat": iat, "nbf": iat, "exp": exp, "jti": os.urandom(8).hex()}),
        "expires_in": str(exp - now),
        "expires_on": str(exp),
        "not_before": str(iat),
        "resource": resource or aud,
        "token_type": "Bearer",
        "client_id": "00000000-0000-0000-0000-0000000000c1",
    }
    if refresh_in is not None:
        body["refresh_in"] = str(refresh_in)
    return body


class Fake:
    """A scripted token endpoint on loopback; records every request."""

    def __init__(self, script: Callable[[Dict[str, Any], int], Any]) -> None:
        self.script = script
        self.requests: List[Dict[str, Any]] = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                info = {"method": self.command, "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
                fake.requests.append(info)
                answer = fake.script(info, len(fake.requests) - 1)
                if answer == "reset":
                    self.close_connection = True
                    self.connection.close()
                    return
                status, payload, headers, delay = answer if len(answer) == 4 else (*answer, 0)
                if delay:
                    time.sleep(delay)
                text = payload if isinstance(payload, str) else json.dumps(payload)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(text.encode())))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(text.encode())

            do_GET = _handle
            do_POST = _handle

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:{}".format(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def client(self, **options: Any) -> WitsClient:
        options.setdefault("retry_delay", 0.01)
        return WitsClient(env={"IDENTITY_ENDPOINT": self.url + "/msi/token", "IDENTITY_HEADER": "the-secret"}, **options)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def ok(**kwargs: Any) -> Any:
    return (200, token_body(**kwargs), None)


# ------------------------------------------------------------------------------------------ live


@unittest.skipUnless(LIVE, "needs a live wits session (test/client/python.test.ts provides one)")
class LiveTests(unittest.TestCase):
    """Against a real wits server, through the environment `wits exec` would set."""

    @classmethod
    def tearDownClass(cls) -> None:
        out = os.environ.get("WITS_TEST_OUT")
        if out:
            with open(out, "w") as f:
                json.dump(OUT, f)

    def test_get_token_by_alias_uri_and_scope(self) -> None:
        alias = credentials.getToken("Storage")
        uri = credentials.getToken("https://storage.azure.com")
        scope = credentials.getToken("https://cognitiveservices.azure.com/.default")
        self.assertEqual(claims_of(alias)["aud"], "https://storage.azure.com")
        self.assertEqual(uri, alias, "one resource, one cached token")
        self.assertEqual(claims_of(scope)["aud"], "https://cognitiveservices.azure.com")
        OUT.update(alias=alias, scope=scope)

    def test_mssparkutils_and_notebookutils_names(self) -> None:
        token = mssparkutils.credentials.getToken("Vault")
        self.assertEqual(claims_of(token)["aud"], "https://vault.azure.net")
        self.assertTrue(mssparkutils.credentials.isValidToken(token))
        self.assertEqual(notebookutils.credentials.getToken("keyvault"), token)
        self.assertEqual(credentials.get_token("Vault"), token)
        self.assertTrue(credentials.is_valid_token(token))

    def test_get_access_token(self) -> None:
        t = credentials.getAccessToken("AzureOpenAI")
        self.assertEqual(t.resource, "https://cognitiveservices.azure.com")
        self.assertEqual(t.token_type, "Bearer")
        self.assertGreater(t.expires_on, time.time() + 3000)
        self.assertTrue(time.time() - 2 <= t.refresh_on <= t.expires_on - 300)
        self.assertNotIn(t.token, repr(t))

    def test_is_valid_token_verifies_the_signature_through_the_jwks(self) -> None:
        token = credentials.getToken("Storage")
        self.assertTrue(credentials.isValidToken(token, verify=True))
        self.assertTrue(credentials.isValidToken(token, verify=True, audience="https://storage.azure.com/.default"))
        self.assertFalse(credentials.isValidToken(token, audience="https://vault.azure.net"))
        head, payload, sig = token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["aud"] = "https://vault.azure.net"
        tampered = "{}.{}.{}".format(head, b64(claims), sig)
        self.assertTrue(credentials.isValidToken(tampered), "claims alone cannot tell")
        self.assertFalse(credentials.isValidToken(tampered, verify=True))
        self.assertFalse(credentials.isValidToken(token, verify=True, issuer="https://somebody-else.example"))
        OUT["tampered"] = tampered

    def test_a_typo_names_the_right_alias(self) -> None:
        with self.assertRaises(TokenRequestError) as caught:
            credentials.getToken("Stroage")
        err = caught.exception
        self.assertEqual(err.code, "ERR_UNKNOWN_AUDIENCE")
        self.assertEqual(err.status, 400)
        self.assertEqual(err.suggestion, "Storage")
        self.assertIn("Did you mean 'Storage'?", str(err))

    def test_wits_credential(self) -> None:
        credential = WitsCredential()
        token = credential.get_token("https://vault.azure.net/.default")
        self.assertIsInstance(token, AccessToken)
        self.assertIsInstance(token.expires_on, int)
        self.assertEqual(claims_of(token.token)["aud"], "https://vault.azure.net")
        info = credential.get_token_info("https://vault.azure.net/.default", options={"tenant_id": "ignored"})
        self.assertEqual((info.token, info.token_type), (token.token, "Bearer"))
        self.assertLessEqual(info.refresh_on, info.expires_on - 300)
        with self.assertRaises(ValueError):
            credential.get_token("https://vault.azure.net/.default", "https://storage.azure.com/.default")
        token2, expires_on = credential.get_token("https://vault.azure.net/.default")  # unpacks like azure-core's
        self.assertEqual(token2, token.token)
        OUT["credential"] = token.token

    def test_async_credential(self) -> None:
        async def main() -> AccessToken:
            async with AsyncWitsCredential() as credential:
                return await credential.get_token("https://storage.azure.com/.default")

        self.assertEqual(claims_of(asyncio.run(main()).token)["aud"], "https://storage.azure.com")

    def test_user_assigned_identity(self) -> None:
        client_id = os.environ.get("WITS_TEST_UAMI_CLIENT_ID")
        if not client_id:
            self.skipTest("no user-assigned identity given")
        token = WitsCredential(client_id=client_id).get_token("https://storage.azure.com/.default")
        self.assertEqual(claims_of(token.token)["appid"], client_id)
        with self.assertRaises(TokenRequestError) as caught:
            credentials.getToken("Storage", client_id="11111111-2222-3333-4444-555555555555")
        self.assertEqual(caught.exception.code, "ERR_UNKNOWN_IDENTITY")

    def test_es256_tokens_verify_with_the_pure_python_p256_code(self) -> None:
        endpoint, secret = os.environ.get("WITS_TEST_ES256_ENDPOINT"), os.environ.get("WITS_TEST_ES256_SECRET")
        if not endpoint or not secret:
            self.skipTest("no ES256 server given")
        client = WitsClient(endpoint=endpoint, secret=secret)
        token = client.get_token("Storage")
        self.assertEqual(decode_jwt(token)[0]["alg"], "ES256")  # type: ignore[index]
        self.assertTrue(client.is_valid_token(token, verify=True))
        head, payload, sig = token.split(".")
        flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
        self.assertFalse(client.is_valid_token("{}.{}.{}".format(head, payload, flipped), verify=True))
        self.assertFalse(client.is_valid_token(token, verify=True, issuer=os.environ.get("IDENTITY_ENDPOINT")))
        OUT["es256"] = token


# --------------------------------------------------------------------------------------- offline


class ValidityTests(unittest.TestCase):
    def test_fresh_expired_not_yet_valid_and_garbage(self) -> None:
        now = int(time.time())
        self.assertTrue(credentials.isValidToken(craft({"exp": now + 600, "nbf": now - 5, "iat": now - 5})))
        self.assertFalse(credentials.isValidToken(craft({"exp": now - 600})))
        self.assertFalse(credentials.isValidToken(craft({"exp": now + 7200, "nbf": now + 3600})))
        self.assertFalse(credentials.isValidToken(craft({"exp": now + 7200, "iat": now + 3600})))
        for garbage in ["", "abc", "a.b.c", "a.b", craft({}), craft({"exp": str(now + 600)}), craft({"exp": True}), craft({"exp": now + 60}, {"typ": "JWT"}), None, 42, "x" * 100000]:
            self.assertFalse(credentials.isValidToken(garbage), repr(garbage)[:40])  # type: ignore[arg-type]

    def test_clock_skew(self) -> None:
        now = int(time.time())
        self.assertTrue(credentials.isValidToken(craft({"exp": now - 30})))
        self.assertFalse(credentials.isValidToken(craft({"exp": now - 30}), clock_skew=0))
        self.assertTrue(credentials.isValidToken(craft({"exp": now + 600, "nbf": now + 30})))
        self.assertFalse(credentials.isValidToken(craft({"exp": now - 90})))

    def test_verify_refuses_unsigned_and_unknown_algorithms(self) -> None:
        now = int(time.time())
        for header in ({"alg": "none"}, {"alg": "HS256"}, {"alg": "RS256", "crit": ["x"]}):
            token = craft({"exp": now + 600, "iss": "http://127.0.0.1:9"}, header)
            self.assertFalse(WitsClient(env={}).is_valid_token(token, verify=True))

    def test_rsa_and_p256_arithmetic_rejects_malformed_keys(self) -> None:
        self.assertFalse(wits_client._verify_rsa("RS256", {"n": "AQAB", "e": "AQAB"}, b"x", b"\x00"))
        self.assertFalse(wits_client._verify_es256({"crv": "P-256", "x": "AQAB", "y": "AQAB"}, b"x", b"\x01" * 64))
        self.assertFalse(wits_client._verify_es256({"crv": "P-384", "x": "AQAB", "y": "AQAB"}, b"x", b"\x01" * 64))

    def test_p256_point_arithmetic(self) -> None:
        # n * G is the point at infinity; 2G computed two ways agrees.
        self.assertIsNone(wits_client._ec_mul(wits_client._P256_N, wits_client._P256_G))
        self.assertEqual(wits_client._ec_mul(2, wits_client._P256_G), wits_client._ec_add(wits_client._P256_G, wits_client._P256_G))

    def test_decode_jwt(self) -> None:
        header, claims = decode_jwt(craft({"aud": "x", "name": "J\u00fcrgen"})) or ({}, {})
        self.assertEqual(header["alg"], "RS256")
        self.assertEqual(claims["name"], "J\u00fcrgen")
        self.assertIsNone(decode_jwt("a.b.c"))


class DiscoveryTests(unittest.TestCase):
    def test_order_and_kinds(self) -> None:
        both = {"IDENTITY_ENDPOINT": "http://127.0.0.1:1/msi/token", "IDENTITY_HEADER": "s", "AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:2"}
        self.assertEqual(discover_endpoint(both).kind, "app-service")
        self.assertEqual(discover_endpoint({"AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:2/"}).url, "http://127.0.0.1:2/metadata/identity/oauth2/token")
        explicit = discover_endpoint(both, endpoint="http://wits:8339/", secret="s")
        self.assertEqual((explicit.kind, explicit.url), ("native", "http://wits:8339/v1/token"))
        self.assertNotIn("s'", repr(explicit))

    def test_missing_variables_are_named(self) -> None:
        with self.assertRaises(EndpointNotFoundError) as caught:
            discover_endpoint({})
        self.assertEqual(caught.exception.code, "ERR_NO_WITS_ENDPOINT")
        self.assertEqual(caught.exception.missing, ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "AZURE_POD_IDENTITY_AUTHORITY_HOST"))
        self.assertIn("wits exec", str(caught.exception))
        with self.assertRaises(EndpointNotFoundError) as caught:
            discover_endpoint({"IDENTITY_ENDPOINT": "http://127.0.0.1:1/msi/token"})
        self.assertEqual(caught.exception.missing, ("IDENTITY_HEADER",))
        self.assertIn("IDENTITY_HEADER is missing", str(caught.exception))
        with self.assertRaises(WitsError):
            discover_endpoint({"IDENTITY_ENDPOINT": "localhost:1", "IDENTITY_HEADER": "x"})

    def test_outside_wits_exec_the_credential_is_unavailable(self) -> None:
        with self.assertRaises(CredentialUnavailableError) as caught:
            WitsCredential(env={}).get_token("https://storage.azure.com/.default")
        self.assertEqual(type(caught.exception).__name__, "CredentialUnavailableError")
        self.assertIn("IDENTITY_ENDPOINT", str(caught.exception))


class CacheAndRetryTests(unittest.TestCase):
    def setUp(self) -> None:
        self.fake = Fake(lambda req, i: ok())

    def tearDown(self) -> None:
        self.fake.close()

    def test_50_concurrent_threads_make_one_request(self) -> None:
        self.fake.script = lambda req, i: (200, token_body(), None, 0.1)
        client = self.fake.client()
        results: List[str] = []
        threads = [threading.Thread(target=lambda: results.append(client.getToken("Storage"))) for _ in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(results), 50)
        self.assertEqual(len(set(results)), 1)
        self.assertEqual(len(self.fake.requests), 1)
        client.getToken("https://storage.azure.com/.default")
        self.assertEqual(len(self.fake.requests), 1, "the scope spelling shares the entry")

    def test_app_service_request_shape_and_identity_parameters(self) -> None:
        client = self.fake.client()
        client.get_token("Storage", client_id="c1")
        client.get_token("Storage", resource_id="/subscriptions/s/x")
        first, second = self.fake.requests
        self.assertTrue(first["path"].startswith("/msi/token?"))
        self.assertIn("api-version=2019-08-01", first["path"])
        self.assertIn("client_id=c1", first["path"])
        self.assertIn("mi_res_id=%2Fsubscriptions%2Fs%2Fx", second["path"])
        self.assertEqual(first["headers"].get("x-identity-header"), "the-secret")
        with self.assertRaises(WitsError) as caught:
            client.get_token("Storage", client_id="a", object_id="b")
        self.assertEqual(caught.exception.code, "ERR_AMBIGUOUS_IDENTITY")

    def test_imds_and_native_request_shapes(self) -> None:
        WitsClient(env={"AZURE_POD_IDENTITY_AUTHORITY_HOST": self.fake.url}).get_token("Vault", resource_id="/r")
        imds = self.fake.requests[-1]
        self.assertTrue(imds["path"].startswith("/metadata/identity/oauth2/token?"))
        self.assertIn("msi_res_id=%2Fr", imds["path"])
        self.assertEqual(imds["headers"].get("metadata"), "true")
        self.fake.script = lambda req, i: (200, token_body(refresh_in=120, resource="https://vault.azure.net", aud="https://vault.azure.net"), None)
        t = WitsClient(endpoint=self.fake.url, secret="s3cret").get_access_token("Vault", object_id="o1")
        native = self.fake.requests[-1]
        self.assertEqual((native["method"], native["path"]), ("POST", "/v1/token"))
        self.assertEqual(native["headers"].get("authorization"), "Bearer s3cret")
        self.assertEqual(json.loads(native["body"]), {"audience": "Vault", "objectId": "o1"})
        self.assertEqual(t.resource, "https://vault.azure.net")
        self.assertAlmostEqual(t.refresh_on, time.time() + 120, delta=3)

    def test_refresh_ahead_serves_the_old_token_while_one_background_request_replaces_it(self) -> None:
        def script(req: Dict[str, Any], i: int) -> Any:
            return ok(issued_ago=1799) if i == 0 else (200, token_body(), None, 0.6)

        self.fake.script = script
        client = self.fake.client()
        first = client.getToken("Storage")
        time.sleep(1.2)
        started = time.time()
        during = [client.getToken("Storage") for _ in range(10)]
        self.assertLess(time.time() - started, 0.4, "callers did not wait for the (0.6 s) refresh")
        self.assertEqual(set(during), {first})
        time.sleep(0.9)
        self.assertEqual(len(self.fake.requests), 2)
        self.assertNotEqual(client.getToken("Storage"), first)

    def test_a_token_near_expiry_is_not_served_and_an_expired_one_is_refused(self) -> None:
        def script(req: Dict[str, Any], i: int) -> Any:
            body = token_body()
            if i == 0:
                body.update(expires_on=str(int(time.time()) + 61), expires_in="61")
            return (200, body, None)

        self.fake.script = script
        client = self.fake.client()
        first = client.getToken("Storage")
        time.sleep(1.5)
        self.assertNotEqual(client.getToken("Storage"), first)
        self.assertEqual(len(self.fake.requests), 2)
        self.fake.script = lambda req, i: (200, dict(token_body(), expires_on=str(int(time.time()) - 5)), None)
        with self.assertRaises(InvalidTokenResponseError) as caught:
            self.fake.client().getToken("Storage")
        self.assertEqual(caught.exception.code, "ERR_EXPIRED_TOKEN")

    def test_retry_after_is_honoured(self) -> None:
        self.fake.script = lambda req, i: (503, {"error": "temporarily_unavailable", "code": "ERR_SOURCE_UNAVAILABLE", "message": "later"}, {"Retry-After": "1"}) if i == 0 else ok()
        started = time.time()
        self.fake.client().getToken("Storage")
        self.assertGreaterEqual(time.time() - started, 0.95)
        self.assertEqual(len(self.fake.requests), 2)

    def test_5xx_back_off_then_give_up(self) -> None:
        self.fake.script = lambda req, i: (500, {"code": "ERR_INTERNAL", "message": "boom"}, None)
        with self.assertRaises(TokenRequestError) as caught:
            self.fake.client(max_retries=2).getToken("Storage")
        self.assertEqual(len(self.fake.requests), 3)
        self.assertEqual(caught.exception.code, "ERR_INTERNAL")
        self.assertIn("gave up after 3 attempts", str(caught.exception))

    def test_retry_after_beyond_the_maximum_ends_retries(self) -> None:
        self.fake.script = lambda req, i: (429, {"error": "throttled"}, {"Retry-After": "120"})
        with self.assertRaises(TokenRequestError) as caught:
            self.fake.client().getToken("Storage")
        self.assertEqual(caught.exception.retry_after, 120)
        self.assertEqual(len(self.fake.requests), 1)

    def test_400_is_final_and_the_suggestion_reaches_the_message(self) -> None:
        self.fake.script = lambda req, i: (400, {"error": "invalid_resource", "code": "ERR_UNKNOWN_AUDIENCE", "message": "Unknown audience 'Vualt'.", "suggestion": "Vault"}, None)
        with self.assertRaises(TokenRequestError) as caught:
            self.fake.client().getToken("Vualt")
        self.assertEqual(len(self.fake.requests), 1)
        self.assertEqual(caught.exception.suggestion, "Vault")
        self.assertIn("Did you mean 'Vault'?", str(caught.exception))

    def test_connection_failures(self) -> None:
        self.fake.script = lambda req, i: "reset" if i == 0 else ok()
        self.fake.client().getToken("Storage")
        self.assertEqual(len(self.fake.requests), 2)
        url = self.fake.url
        self.fake.close()
        with self.assertRaises(WitsConnectionError) as caught:
            WitsClient(env={"IDENTITY_ENDPOINT": url + "/msi/token", "IDENTITY_HEADER": "x"}, max_retries=1, retry_delay=0.01).getToken("Storage")
        self.assertEqual(caught.exception.code, "ERR_NETWORK")
        self.fake = Fake(lambda req, i: ok())  # for tearDown

    def test_http_proxy_variables_are_not_used_for_token_requests(self) -> None:
        saved = {k: os.environ.get(k) for k in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy")}
        os.environ.update(HTTP_PROXY="http://127.0.0.1:9", http_proxy="http://127.0.0.1:9")
        os.environ.pop("NO_PROXY", None)
        os.environ.pop("no_proxy", None)
        try:
            self.fake.client(max_retries=0).getToken("Storage")
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        self.assertEqual(len(self.fake.requests), 1)

    def test_credential_claims_challenge_bypasses_the_cache(self) -> None:
        client = self.fake.client()
        credential = WitsCredential(client=client)
        a = credential.get_token("https://storage.azure.com/.default", tenant_id="t", enable_cae=True)
        self.assertEqual(credential.get_token("https://storage.azure.com/.default").token, a.token)
        b = credential.get_token("https://storage.azure.com/.default", claims='{"access_token":{}}')
        self.assertNotEqual(a.token, b.token)
        self.assertEqual(len(self.fake.requests), 2)

    def test_bearer_token_provider(self) -> None:
        provider = bearer_token_provider("Storage", client=self.fake.client())
        self.assertEqual(provider(), provider())
        self.assertEqual(len(self.fake.requests), 1)


class PackagingTests(unittest.TestCase):
    def test_the_module_imports_only_the_standard_library(self) -> None:
        with open(wits_client.__file__, encoding="utf-8") as f:
            source = f.read()
        imported = set(re.findall(r"^(?:from|import)\s+([A-Za-z_][A-Za-z0-9_]*)", source, re.MULTILINE))
        imported.discard("__future__")
        if hasattr(sys, "stdlib_module_names"):
            self.assertEqual(imported - set(sys.stdlib_module_names), set())

    def test_every_public_name_is_documented_with_an_example(self) -> None:
        for name in wits_client.__all__:
            obj = getattr(wits_client, name)
            if name in ("mssparkutils", "notebookutils"):
                continue  # namespaces around `credentials`
            doc = (obj.__doc__ if callable(obj) else type(obj).__doc__) or ""
            self.assertIn("Example::", doc, name)
            for attr, member in vars(obj if isinstance(obj, type) else type(obj)).items():
                if callable(member) and not attr.startswith("_") and getattr(member, "__doc__", None) is not None and member.__qualname__.endswith(attr):
                    self.assertIn("Example::", member.__doc__, "{}.{}".format(name, attr))

    def test_secrets_and_tokens_stay_out_of_reprs(self) -> None:
        self.assertNotIn("secret-value", repr(discover_endpoint({}, endpoint="http://x:1", secret="secret-value")))
        t = wits_client.WitsAccessToken("eyJtoken", 1, 1, "r")
        self.assertNotIn("eyJtoken", repr(t))


try:
    import azure.core  # noqa: F401

    HAVE_AZURE_CORE = True
except ImportError:
    HAVE_AZURE_CORE = False


@unittest.skipUnless(HAVE_AZURE_CORE, "azure-core is not installed (optional compatibility check)")
class AzureCoreCompatibilityTests(unittest.TestCase):
    def test_bearer_token_policy_accepts_the_credential(self) -> None:
        from azure.core.pipeline import PipelineRequest, PipelineContext
        from azure.core.pipeline.policies import BearerTokenCredentialPolicy
        from azure.core.rest import HttpRequest

        fake = Fake(lambda req, i: ok())
        try:
            policy = BearerTokenCredentialPolicy(WitsCredential(client=fake.client()), "https://storage.azure.com/.default")
            request = PipelineRequest(HttpRequest("GET", "https://account.blob.core.windows.net/"), PipelineContext(None))
            policy.on_request(request)
            self.assertTrue(request.http_request.headers["Authorization"].startswith("Bearer ey"))
        finally:
            fake.close()


if __name__ == "__main__":
    unittest.main()
