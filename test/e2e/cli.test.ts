/**
 * `wits exec` as a process supervisor, and `wits token` inside and outside it, against a running
 * `wits serve`: exit codes pass through, signals reach the child, the session dies with the
 * command, mistakes give one clear line.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { StrictResourceServer } from './resourceServer.js';
import {
  clientScript,
  cleanEnv,
  COGNITIVE_SERVICES,
  lastJsonLine,
  removeDir,
  CLI,
  startServe,
  tempDir,
  wits,
  witsOk,
  type ClientTokens,
  type RunOptions,
  type RunResult,
  type WitsServer,
} from './support.js';

interface SessionView {
  id: string;
  status: 'active' | 'revoked' | 'expired';
  labels: Record<string, string>;
  revokedAt: string | null;
}

function oneLine(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, `expected exactly one line, got: ${JSON.stringify(text)}`);
  return lines[0] as string;
}

describe('wits exec and wits token', { concurrency: false }, () => {
  let home: string;
  let server: WitsServer;
  let resourceServer: StrictResourceServer;

  before(async () => {
    home = tempDir('cli');
    server = await startServe(home);
    resourceServer = new StrictResourceServer(server.url);
  });

  after(async () => {
    await server?.stop();
    if (home !== undefined) removeDir(home);
  });

  /** `wits exec --server URL` with the admin credential in WITS_ADMIN_TOKEN (no --home). */
  function exec(execArgs: readonly string[], command: readonly string[], options: Pick<RunOptions, 'onSpawn'> = {}): Promise<RunResult> {
    return wits(['exec', '--server', server.url, ...execArgs, '--', ...command], { ...options, env: cleanEnv({ WITS_ADMIN_TOKEN: server.adminToken }) });
  }

  async function sessionsLabelled(key: string, value: string): Promise<SessionView[]> {
    const { stdout } = await witsOk(['session', 'list', '--all', '--json'], { env: server.adminEnv() });
    return (JSON.parse(stdout) as SessionView[]).filter((s) => s.labels[key] === value);
  }

  test("the command's exit code is wits exec's exit code", async () => {
    const three = await exec([], [process.execPath, '-e', 'process.exit(3)']);
    assert.equal(three.code, 3, three.stderr);
    const zero = await exec([], [process.execPath, '-e', 'process.exit(0)']);
    assert.equal(zero.code, 0, zero.stderr);
    // A command killed by a signal: 128 + the signal number, as shells report it.
    const killed = await exec([], [process.execPath, '-e', "process.kill(process.pid, 'SIGKILL')"]);
    assert.equal(killed.signal, null);
    assert.equal(killed.code, 128 + 9, killed.stderr);
  });

  test('SIGTERM to wits exec reaches the child, and wits exits with its code', async () => {
    const dir = tempDir('signal');
    try {
      const marker = join(dir, 'marker');
      let sent = false;
      const result = await exec(['--label', 'e2e=signal'], [process.execPath, clientScript('trapSignal'), marker], {
        onSpawn: (child) => {
          // Signal only the wits process (not its group), once the child says its trap is set.
          child.stdout?.on('data', (d: Buffer) => {
            if (!sent && d.toString().includes('ready')) {
              sent = true;
              child.kill('SIGTERM');
            }
          });
        },
      });
      assert.ok(sent, `the child got ready\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
      assert.equal(result.signal, null, 'wits exec was not killed by the signal');
      assert.equal(result.code, 7, `wits exits with the child's code\nstderr: ${result.stderr}`);
      assert.equal(readFileSync(marker, 'utf8'), 'SIGTERM', 'the child received SIGTERM');
      const sessions = await sessionsLabelled('e2e', 'signal');
      assert.equal(sessions.length, 1);
      assert.equal(sessions[0]?.status, 'revoked', 'the session is revoked after a signalled exit too');
    } finally {
      removeDir(dir);
    }
  });

  test('the session is revoked when the command exits: listed as revoked, its secret refused', async () => {
    const result = await exec(['--label', 'e2e=revoke'], [process.execPath, clientScript('identity'), '--credential', 'mi', '--resource', COGNITIVE_SERVICES, '--show-endpoint']);
    assert.equal(result.code, 0, result.stderr);
    const out = lastJsonLine<ClientTokens>(result);
    // While it ran, the session worked.
    await resourceServer.verify(out.tokens[0]?.token as string, COGNITIVE_SERVICES);

    const sessions = await sessionsLabelled('e2e', 'revoke');
    assert.equal(sessions.length, 1);
    assert.equal(sessions[0]?.status, 'revoked');
    assert.notEqual(sessions[0]?.revokedAt, null);
    assert.equal(sessions[0]?.labels.command, 'node', 'wits records the command name');

    // The secret the command had is now worthless.
    const url = `${out.identityEndpoint}?api-version=2019-08-01&resource=${encodeURIComponent(COGNITIVE_SERVICES)}`;
    const response = await fetch(url, { headers: { 'x-identity-header': out.identityHeader as string } });
    assert.equal(response.status, 401);
    const body = (await response.json()) as { error?: string; code?: string };
    assert.equal(body.code, 'ERR_SESSION_REVOKED');
    assert.equal(typeof body.error, 'string');
  });

  test('a missing command gives one line on stderr and a non-zero exit', async () => {
    const none = await wits(['exec', '--server', server.url], { env: cleanEnv({ WITS_ADMIN_TOKEN: server.adminToken }) });
    assert.notEqual(none.code, 0);
    assert.match(oneLine(none.stderr), /^wits exec: .*command/i);
    assert.equal(none.stdout, '');

    const absent = await exec(['--label', 'e2e=absent'], [join(home, 'no-such-program')]);
    assert.notEqual(absent.code, 0);
    assert.match(oneLine(absent.stderr), /no-such-program/);
    const sessions = await sessionsLabelled('e2e', 'absent');
    assert.ok(sessions.every((s) => s.status === 'revoked'), 'a session created for a command that could not start is revoked');
  });

  for (const mode of ['appservice', 'imds'] as const) {
    const modeArgs = mode === 'imds' ? ['--imds'] : [];

    test(`wits token CognitiveServices under exec (${mode}) prints one verifiable token`, async () => {
      const result = await exec(modeArgs, [process.execPath, CLI, 'token', 'CognitiveServices']);
      assert.equal(result.code, 0, result.stderr);
      const token = oneLine(result.stdout);
      assert.equal(result.stdout, token + '\n', 'the token alone, for $(wits token ...)');
      const claims = await resourceServer.verify(token, COGNITIVE_SERVICES);
      assert.equal(claims.aud, COGNITIVE_SERVICES, 'the alias resolves to the Azure OpenAI resource');
    });

    test(`wits token --json under exec (${mode}) prints the full token response`, async () => {
      const result = await exec(modeArgs, [process.execPath, CLI, 'token', 'CognitiveServices', '--json']);
      assert.equal(result.code, 0, result.stderr);
      const body = JSON.parse(result.stdout) as Record<string, string>;
      const claims = await resourceServer.verify(body.access_token as string, COGNITIVE_SERVICES);
      assert.equal(body.token_type, 'Bearer');
      assert.equal(body.resource, 'CognitiveServices', 'the resource is echoed as the caller sent it');
      assert.match(body.expires_on as string, /^\d+$/);
      assert.match(body.expires_in as string, /^\d+$/);
      assert.equal(Number(body.expires_on), claims.exp);
      assert.ok(Math.abs(Number(body.expires_in) - (claims.exp - Date.now() / 1000)) <= 5);
      assert.equal(body.client_id, claims.appid);
    });
  }

  test('wits token --decode under exec prints the header and claims', async () => {
    const result = await exec([], [process.execPath, CLI, 'token', 'https://ai.azure.com/.default', '--decode']);
    assert.equal(result.code, 0, result.stderr);
    const decoded = JSON.parse(result.stdout) as { header: Record<string, unknown>; payload: Record<string, unknown> };
    assert.equal(decoded.payload.aud, 'https://ai.azure.com', 'the /.default scope becomes its resource');
    assert.equal(decoded.payload.idtyp, 'app');
    assert.equal(decoded.payload.iss, server.issuer);
    assert.equal(decoded.header.typ, 'JWT');
    const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> };
    assert.ok(jwks.keys.some((k) => k.kid === decoded.header.kid), 'the kid is a published key');
    assert.doesNotMatch(result.stdout, /eyJ[A-Za-z0-9_-]{10,}\./, '--decode does not print the token itself');
  });

  test('wits token with a misspelt alias fails with one line suggesting the right one', async () => {
    const result = await exec([], [process.execPath, CLI, 'token', 'CognitivServices']);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(oneLine(result.stderr), /^wits token: .*CognitivServices.*Did you mean 'CognitiveServices'/);
  });

  test('wits exec against an unreachable server fails with one line naming it', async () => {
    const result = await wits(['exec', '--server', 'http://127.0.0.1:9', '--', process.execPath, '-e', 'process.exit(0)'], {
      env: cleanEnv({ WITS_ADMIN_TOKEN: server.adminToken }),
    });
    assert.notEqual(result.code, 0);
    assert.match(oneLine(result.stderr), /^wits exec: .*http:\/\/127\.0\.0\.1:9/);
  });

  test('wits token outside exec fails with one line naming IDENTITY_ENDPOINT', async () => {
    const result = await wits(['token', 'CognitiveServices'], { env: cleanEnv() });
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(oneLine(result.stderr), /^wits token: .*IDENTITY_ENDPOINT.*wits exec/);
  });

  test('wits exec hides competing identity variables from the command', async () => {
    const result = await wits(
      ['exec', '--server', server.url, '--', process.execPath, '-e', 'process.stdout.write(JSON.stringify(process.env))'],
      {
        env: cleanEnv({
          WITS_ADMIN_TOKEN: server.adminToken,
          MSI_ENDPOINT: 'http://127.0.0.1:9/msi',
          MSI_SECRET: 'x',
          IDENTITY_SERVER_THUMBPRINT: 'ab',
          IMDS_ENDPOINT: 'http://127.0.0.1:9',
          AZURE_POD_IDENTITY_AUTHORITY_HOST: 'http://127.0.0.1:9',
          AZURE_FEDERATED_TOKEN_FILE: join(home, 'federated-token'),
          AZURE_CLIENT_ID: '00000000-0000-4000-8000-0000000000aa',
        }),
      },
    );
    assert.equal(result.code, 0, result.stderr);
    const env = JSON.parse(result.stdout) as Record<string, string>;
    for (const name of ['MSI_ENDPOINT', 'MSI_SECRET', 'IDENTITY_SERVER_THUMBPRINT', 'IMDS_ENDPOINT', 'AZURE_POD_IDENTITY_AUTHORITY_HOST', 'AZURE_FEDERATED_TOKEN_FILE', 'WITS_ADMIN_TOKEN']) {
      assert.equal(env[name], undefined, `${name} is not passed to the command`);
    }
    // AZURE_CLIENT_ID stays: DefaultAzureCredential sends it as the managed identity's client_id.
    assert.equal(env.AZURE_CLIENT_ID, '00000000-0000-4000-8000-0000000000aa');
    assert.equal(env.IDENTITY_ENDPOINT, `${server.url}/msi/token`);
    assert.match(env.IDENTITY_HEADER ?? '', /^wits\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
  });
});
