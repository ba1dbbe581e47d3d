/**
 * Zero-setup mode: `wits exec` in a fresh, empty directory, with no server, no --home and no WITS_*
 * variables, starts its own server in-process (state in ./.wits) for the life of the command.
 * The child verifies its tokens itself while that server is up (through the JWKS of its
 * IDENTITY_ENDPOINT's origin); afterwards a `wits serve` on the same state directory publishes the
 * same keys, so tokens from both modes verify against it too.
 */
import { createRemoteJWKSet, jwtVerify } from 'jose';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { originOf } from './resourceServer.js';
import {
  clientScript,
  cleanEnv,
  lastJsonLine,
  removeDir,
  RESOURCES,
  startServe,
  tempDir,
  wits,
  witsOk,
  type ClientTokens,
  type WitsServer,
} from './support.js';

describe('wits exec with no setup at all', { concurrency: false }, () => {
  let dir: string;
  let appService: ClientTokens;
  let imds: ClientTokens;
  let later: WitsServer | undefined;

  before(() => {
    dir = tempDir('zero');
    assert.deepEqual(readdirSync(dir), [], 'the directory starts empty');
  });

  after(async () => {
    await later?.stop();
    if (dir !== undefined) removeDir(dir);
  });

  test('DefaultAzureCredential (App Service) gets tokens that verify while the in-process server is up', async () => {
    const result = await wits(['exec', '--', process.execPath, clientScript('identity'), '--credential', 'dac', '--verify', '--show-endpoint'], {
      cwd: dir,
      env: cleanEnv(),
    });
    assert.equal(result.code, 0, `stdout: ${result.stdout}\nstderr: ${result.stderr}`);
    appService = lastJsonLine<ClientTokens>(result);
    assert.match(appService.identityEndpoint ?? '', /^http:\/\/127\.0\.0\.1:\d+\/msi\/token$/);
    assert.match(appService.identityHeader ?? '', /^wits\./);
    const verified = appService.verified ?? [];
    assert.deepEqual(verified.map((v) => v.resource), [...RESOURCES]);
    for (const v of verified) {
      assert.equal(v.claims.aud, v.resource);
      assert.equal(v.claims.iss, originOf(appService.identityEndpoint as string), 'the default issuer is the server URL');
      assert.equal(v.claims.idtyp, 'app');
    }
    assert.ok(existsSync(join(dir, '.wits', 'admin-token')), 'state went to ./.wits');
  });

  test('msal-node (IMDS) works in zero-setup mode too', async () => {
    const result = await wits(['exec', '--imds', '--', process.execPath, clientScript('msal')], { cwd: dir, env: cleanEnv() });
    assert.equal(result.code, 0, `stdout: ${result.stdout}\nstderr: ${result.stderr}`);
    imds = lastJsonLine<ClientTokens>(result);
    assert.equal(imds.source, 'DefaultToImds');
    assert.deepEqual(imds.tokens.map((t) => t.resource), [...RESOURCES]);
  });

  test('the in-process server is gone after exit; its keys persist, so a later server verifies both runs', async () => {
    assert.ok(appService && imds, 'the two runs above succeeded');
    // The in-process server died with the command.
    await assert.rejects(fetch(`${originOf(appService.identityEndpoint as string)}/healthz`));

    later = await startServe(join(dir, '.wits'));
    const discovery = (await (await fetch(`${later.url}/.well-known/openid-configuration`)).json()) as { jwks_uri: string };
    const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
    const runs = [
      { out: appService, issuer: originOf(appService.identityEndpoint as string) },
      { out: imds, issuer: undefined },
    ];
    const appids = new Set<unknown>();
    for (const { out, issuer } of runs) {
      for (const t of out.tokens) {
        const { payload } = await jwtVerify(t.token, jwks, { audience: t.resource, algorithms: ['RS256', 'ES256'], ...(issuer === undefined ? {} : { issuer }) });
        assert.equal(payload.aud, t.resource);
        assert.match(String(payload.iss), /^http:\/\/127\.0\.0\.1:\d+$/);
        assert.ok((payload.exp as number) * 1000 > Date.now());
        appids.add(payload.appid);
      }
    }
    assert.equal(appids.size, 1, 'both runs used the default workspace system identity of this directory');

    const { stdout } = await witsOk(['session', 'list', '--all', '--json', '--home', join(dir, '.wits')], { env: cleanEnv() });
    const sessions = JSON.parse(stdout) as Array<{ status: string; labels: Record<string, string> }>;
    assert.equal(sessions.length, 2, 'one session per wits exec');
    assert.deepEqual(sessions.map((s) => s.status), ['revoked', 'revoked']);
  });
});
