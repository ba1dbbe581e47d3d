/** Endpoint discovery: precedence, explicit endpoints, and errors that name what is missing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt, discoverEndpoint, EndpointNotFoundError, serverBaseUrl, WitsClient, WitsClientError } from '../../src/client/index.js';

test('App Service variables win over IMDS, as in the official clients', () => {
  const endpoint = discoverEndpoint({
    IDENTITY_ENDPOINT: 'http://127.0.0.1:8339/msi/token',
    IDENTITY_HEADER: 'secret',
    AZURE_POD_IDENTITY_AUTHORITY_HOST: 'http://127.0.0.1:9999',
  });
  assert.deepEqual(endpoint, { kind: 'app-service', url: 'http://127.0.0.1:8339/msi/token', secret: 'secret' });
  assert.equal(serverBaseUrl(endpoint), 'http://127.0.0.1:8339');
});

test('IMDS: the token path under the host, no secret, no discovery base', () => {
  const endpoint = discoverEndpoint({ AZURE_POD_IDENTITY_AUTHORITY_HOST: 'http://127.0.0.1:9999/' });
  assert.deepEqual(endpoint, { kind: 'imds', url: 'http://127.0.0.1:9999/metadata/identity/oauth2/token' });
  assert.equal(serverBaseUrl(endpoint), undefined);
});

test('an explicit endpoint uses the native API, with or without a path prefix', () => {
  assert.deepEqual(discoverEndpoint({}, { endpoint: 'https://wits.example.com/', secret: 's' }), { kind: 'native', url: 'https://wits.example.com/v1/token', secret: 's' });
  const prefixed = discoverEndpoint({ IDENTITY_ENDPOINT: 'http://ignored', IDENTITY_HEADER: 'x' }, { endpoint: 'https://gw.example.com/wits', secret: 's' });
  assert.equal(prefixed.url, 'https://gw.example.com/wits/v1/token');
  assert.equal(serverBaseUrl(prefixed), 'https://gw.example.com/wits');
  assert.throws(() => discoverEndpoint({}, { endpoint: 'https://wits.example.com', secret: '' }), { code: 'ERR_INVALID_ENDPOINT' });
  assert.throws(() => discoverEndpoint({}, { endpoint: 'not a url', secret: 's' }), { code: 'ERR_INVALID_ENDPOINT' });
  assert.throws(() => discoverEndpoint({}, { endpoint: 'https://user:pw@wits.example.com', secret: 's' }), { code: 'ERR_INVALID_ENDPOINT' });
});

test('nothing set: EndpointNotFoundError naming every variable and `wits exec`', () => {
  assert.throws(
    () => discoverEndpoint({}),
    (err: unknown) => {
      assert.ok(err instanceof EndpointNotFoundError);
      assert.ok(err instanceof WitsClientError);
      assert.equal(err.code, 'ERR_NO_WITS_ENDPOINT');
      assert.deepEqual(err.missing, ['IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'AZURE_POD_IDENTITY_AUTHORITY_HOST']);
      assert.match(err.message, /IDENTITY_ENDPOINT \+ IDENTITY_HEADER \(App Service\)/);
      assert.match(err.message, /AZURE_POD_IDENTITY_AUTHORITY_HOST \(IMDS\)/);
      assert.match(err.message, /wits exec -- <command>/);
      return true;
    },
  );
});

test('half of the App Service pair: the error names the other half', () => {
  assert.throws(() => discoverEndpoint({ IDENTITY_ENDPOINT: 'http://127.0.0.1:1/msi/token' }), (err: unknown) => {
    assert.ok(err instanceof EndpointNotFoundError);
    assert.deepEqual(err.missing, ['IDENTITY_HEADER']);
    assert.match(err.message, /IDENTITY_HEADER is missing/);
    return true;
  });
  assert.throws(() => discoverEndpoint({ IDENTITY_HEADER: 'x' }), /IDENTITY_ENDPOINT is missing/);
  // With the IMDS variable present, a lone IDENTITY_ENDPOINT does not block IMDS.
  assert.equal(discoverEndpoint({ IDENTITY_ENDPOINT: 'http://x', AZURE_POD_IDENTITY_AUTHORITY_HOST: 'http://127.0.0.1:2' }).kind, 'imds');
});

test('malformed URLs in the environment are reported as such', () => {
  assert.throws(() => discoverEndpoint({ IDENTITY_ENDPOINT: 'localhost:8339/msi/token', IDENTITY_HEADER: 'x' }), { code: 'ERR_INVALID_ENDPOINT', message: /IDENTITY_ENDPOINT/ });
  assert.throws(() => discoverEndpoint({ AZURE_POD_IDENTITY_AUTHORITY_HOST: 'file:///etc' }), { code: 'ERR_INVALID_ENDPOINT' });
});

test('a client is created outside wits exec without error; the error comes with the first token request', async () => {
  const client = new WitsClient({ env: {} });
  assert.throws(() => client.endpoint, EndpointNotFoundError);
  await assert.rejects(client.getToken('Storage'), EndpointNotFoundError);
});

test('decodeJwt: header and payload of a compact JWS, undefined for anything else', () => {
  const token = `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from('{"aud":"https://storage.azure.com","name":"J\u00fcrgen"}').toString('base64url')}.c2ln`;
  assert.deepEqual(decodeJwt(token), { header: { alg: 'RS256' }, payload: { aud: 'https://storage.azure.com', name: 'J\u00fcrgen' } });
  for (const bad of ['', 'a.b', 'a.b.c', '!!.e30.x', `e30.${Buffer.from('[1]').toString('base64url')}.x`, `.e30.x`, 42 as unknown as string]) {
    assert.equal(decodeJwt(bad), undefined, String(bad));
  }
});
