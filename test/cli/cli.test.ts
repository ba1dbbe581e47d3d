/**
 * The `wits` command line, run as a child process exactly as users run it:
 * `node dist/src/cli/main.js ...`, against a temp --home (no server) and against a running server.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AuditView, CreatedSession, IdentityView, SessionView, WorkspaceView } from '../../src/admin/adminOps.js';
import { makeTempDir, removeTempDir } from '../support/home.js';
import { appServiceToken, assertError } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const PACKAGE = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SECRET = /wits\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}/;

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A clean environment: no WITS_* or managed-identity variables from the machine running the tests. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(WITS_|IDENTITY_|MSI_|IMDS_|AZURE_)/.test(key)) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

const scratch = makeTempDir('wits-cli-cwd-');

function wits(args: readonly string[], options: { env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: cleanEnv(options.env), cwd: scratch, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err !== null && typeof err.code !== 'number') {
          reject(new Error(`wits ${args.join(' ')} did not run: ${err.message}`));
          return;
        }
        resolve({ code: err === null ? 0 : (err.code as number), stdout, stderr });
      },
    );
  });
}

/** Runs a command that must succeed with --json output, and parses it. */
async function witsJson<T>(args: readonly string[], options: { env?: Record<string, string> } = {}): Promise<T> {
  const result = await wits([...args, '--json'], options);
  assert.equal(result.code, 0, `wits ${args.join(' ')} --json failed (${result.code}): ${result.stderr}`);
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    assert.fail(`wits ${args.join(' ')} --json printed no JSON: ${result.stdout.slice(0, 300)}`);
  }
}

/** One line on stderr, nothing on stdout, the given exit code. */
function assertOneLineError(result: CliResult, code: number, pattern?: RegExp): void {
  assert.equal(result.code, code, `exit code ${result.code}, stderr: ${result.stderr}`);
  assert.equal(result.stdout, '', `stdout should be empty, got: ${result.stdout.slice(0, 200)}`);
  assert.ok(result.stderr.endsWith('\n'), 'stderr ends with a newline');
  assert.equal(result.stderr.trimEnd().split('\n').length, 1, `stderr is one line: ${JSON.stringify(result.stderr)}`);
  assert.match(result.stderr, /^wits/);
  if (pattern !== undefined) assert.match(result.stderr, pattern);
}

after(() => removeTempDir(scratch));

describe('wits CLI: help and usage', () => {
  let commands: string[];

  before(async () => {
    const result = await wits(['--help']);
    const block = /Commands:\n([\s\S]*?)\n\n/.exec(result.stdout);
    assert.ok(block !== null, result.stdout);
    commands = (block[1] as string).split('\n').map((line) => line.trim().split(/\s+/)[0] as string);
  });

  test('--help, -h, help and no arguments print the overview with Usage', async () => {
    for (const args of [['--help'], ['-h'], ['help'], []]) {
      const result = await wits(args);
      assert.equal(result.code, 0, args.join(' '));
      assert.match(result.stdout, /Usage: wits <command>/);
      assert.equal(result.stderr, '');
    }
    for (const name of ['serve', 'exec', 'token', 'audiences', 'workspace', 'identity', 'session', 'audit']) {
      assert.ok(commands.includes(name), `the overview lists '${name}'`);
    }
  });

  test('every command has --help (and -h) with Usage, exit 0', async () => {
    for (const name of commands) {
      for (const flag of ['--help', '-h']) {
        const result = await wits([name, flag]);
        assert.equal(result.code, 0, `${name} ${flag}: ${result.stderr}`);
        assert.match(result.stdout, /Usage/, `${name} ${flag}`);
        assert.equal(result.stderr, '');
      }
    }
  });

  test("'help COMMAND' prints that command's help; --help after other flags too", async () => {
    const viaHelp = await wits(['help', 'session']);
    const viaFlag = await wits(['session', '--help']);
    assert.equal(viaHelp.stdout, viaFlag.stdout);
    const late = await wits(['session', 'create', '--ttl', 'bogus', '--help']);
    assert.equal(late.code, 0);
    assert.equal(late.stdout, viaFlag.stdout);
  });

  test('--version prints the package version', async () => {
    const result = await wits(['--version']);
    assert.equal(result.code, 0);
    assert.equal(result.stdout.trim(), PACKAGE.version);
  });

  test('an unknown command exits 2 with one line', async () => {
    const result = await wits(['frobnicate']);
    assertOneLineError(result, 2, /unknown command 'frobnicate'/);
  });

  test('usage mistakes exit 2 with one line', async () => {
    const home = makeTempDir('wits-cli-usage-');
    try {
      assertOneLineError(await wits(['session', '--home', home]), 2, /Missing action/);
      assertOneLineError(await wits(['session', 'explode', '--home', home]), 2, /Unknown action 'explode'/);
      assertOneLineError(await wits(['session', 'create', '--ttl', '5x', '--home', home]), 2, /--ttl/);
      assertOneLineError(await wits(['session', 'create', '--label', 'novalue', '--home', home]), 2, /--label/);
      assertOneLineError(await wits(['session', 'revoke', '--home', home]), 2, /session id/);
      assertOneLineError(await wits(['workspace', 'list', '--bogus', '--home', home]), 2, /bogus/);
      assertOneLineError(await wits(['workspace', 'update', 'default', '--audience', 'Storage', '--any-audience', '--home', home]), 2);
      assertOneLineError(await wits(['audit', '--since', 'last tuesday', '--home', home]), 2, /--since/);
      assertOneLineError(await wits(['audit', '--limit', 'ten', '--home', home]), 2, /--limit/);
      assertOneLineError(await wits(['token']), 2);
    } finally {
      removeTempDir(home);
    }
  });
});

describe('wits audiences', () => {
  test('--json lists CognitiveServices and AIServices with their resources', async () => {
    const list = await witsJson<Array<{ name: string; synonyms: string[]; resources: Record<string, string> }>>(['audiences']);
    const byName = new Map(list.map((a) => [a.name, a]));
    assert.equal(byName.get('CognitiveServices')?.resources.AzureCloud, 'https://cognitiveservices.azure.com');
    assert.equal(byName.get('AIServices')?.resources.AzureCloud, 'https://ai.azure.com');
    assert.equal(byName.get('Storage')?.resources.AzureCloud, 'https://storage.azure.com');
  });

  test('the table names them too; an unknown cloud is one line of error', async () => {
    const result = await wits(['audiences']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /CognitiveServices\s+https:\/\/cognitiveservices\.azure\.com/);
    assert.match(result.stdout, /AIServices\s+https:\/\/ai\.azure\.com/);
    const bad = await wits(['audiences', '--cloud', 'Mars']);
    assert.notEqual(bad.code, 0);
    assert.equal(bad.stderr.trimEnd().split('\n').length, 1);
  });
});

/** The same admin flow, against a state directory or a server; `access` are the flags that pick it. */
function adminFlow(label: string, setup: () => Promise<{ access: string[]; env: Record<string, string>; check?: (secret: string, revoked: boolean) => Promise<void> }>): void {
  describe(`wits admin commands (${label})`, () => {
    let access: string[];
    let env: Record<string, string>;
    let check: ((secret: string, revoked: boolean) => Promise<void>) | undefined;
    const run = (args: string[]) => wits([...args, ...access], { env });
    const json = <T>(args: string[]) => witsJson<T>([...args, ...access], { env });

    before(async () => {
      ({ access, env, check } = await setup());
    });

    test('workspace create / list / show / update', async () => {
      const created = await json<WorkspaceView>(['workspace', 'create', 'team', '--audience', 'Storage', '--audience', 'https://vault.azure.net/.default']);
      assert.equal(created.name, 'team');
      assert.deepEqual(created.allowedAudiences, ['https://storage.azure.com', 'https://vault.azure.net']);
      assert.equal(created.identities[0]?.kind, 'system');
      assert.match(created.identities[0]?.clientId ?? '', GUID);

      const list = await json<WorkspaceView[]>(['workspace', 'list']);
      assert.deepEqual(list.map((w) => w.name), ['default', 'team']);
      const text = await run(['workspace', 'list']);
      assert.equal(text.code, 0);
      assert.match(text.stdout, /^NAME\s+CLOUD/m);
      assert.match(text.stdout, /^team\s+AzureCloud/m);

      const shown = await json<WorkspaceView>(['workspace', 'show', 'team']);
      assert.deepEqual(shown, created);

      const widened = await json<WorkspaceView>(['workspace', 'update', 'team', '--any-audience']);
      assert.equal(widened.allowedAudiences, null);
      const narrowed = await json<WorkspaceView>(['workspace', 'update', 'team', '--audience', 'CognitiveServices']);
      assert.deepEqual(narrowed.allowedAudiences, ['https://cognitiveservices.azure.com']);
    });

    test('identity add (generated ids) and list', async () => {
      const added = await json<IdentityView>(['identity', 'add', 'etl', '--workspace', 'team']);
      assert.equal(added.name, 'etl');
      assert.equal(added.kind, 'user');
      assert.match(added.clientId, GUID);
      assert.match(added.objectId, GUID);
      const listed = await json<IdentityView[]>(['identity', 'list', '--workspace', 'team']);
      assert.deepEqual(listed.map((i) => i.name), ['system', 'etl']);
      const text = await run(['identity', 'add', 'loader', '--workspace', 'team']);
      assert.equal(text.code, 0);
      assert.match(text.stdout, /client id:\s+[0-9a-f-]{36}/);
    });

    test('session create (secret once) / list (never the secret) / revoke; audit', async () => {
      const created = await json<CreatedSession>(['session', 'create', '--workspace', 'team', '--ttl', '30m', '--label', 'job=nightly']);
      assert.match(created.secret, SECRET);
      assert.equal(created.workspace, 'team');
      assert.equal(Date.parse(created.expiresAt) - Date.parse(created.createdAt), 30 * 60_000);
      assert.deepEqual(created.labels, { job: 'nightly' });
      const part = created.secret.split('.')[2] as string;

      const textCreate = await run(['session', 'create', '--workspace', 'team']);
      assert.equal(textCreate.code, 0);
      const shownSecrets = textCreate.stdout.match(new RegExp(SECRET, 'g')) ?? [];
      assert.equal(shownSecrets.length, 1, 'the secret is printed exactly once');
      assert.match(textCreate.stdout, /shown once/);

      await check?.(created.secret, false);

      const listed = await run(['session', 'list', '--workspace', 'team', '--json']);
      assert.equal(listed.code, 0);
      const sessions = JSON.parse(listed.stdout) as SessionView[];
      assert.ok(sessions.some((s) => s.id === created.id));
      assert.doesNotMatch(listed.stdout, SECRET);
      assert.ok(!listed.stdout.includes(part), 'session list --json never shows the secret');
      for (const s of sessions) assert.equal((s as unknown as Record<string, unknown>).secret, undefined);
      const listedText = await run(['session', 'list', '--workspace', 'team']);
      assert.ok(!listedText.stdout.includes(part));

      const revoked = await json<SessionView>(['session', 'revoke', created.id]);
      assert.equal(revoked.status, 'revoked');
      await check?.(created.secret, true);
      const active = await json<SessionView[]>(['session', 'list', '--workspace', 'team']);
      assert.ok(!active.some((s) => s.id === created.id));
      const all = await json<SessionView[]>(['session', 'list', '--workspace', 'team', '--all']);
      assert.equal(all.find((s) => s.id === created.id)?.status, 'revoked');

      const audit = await run(['audit', '--json', '--since', '1h']);
      assert.equal(audit.code, 0, audit.stderr);
      const rows = JSON.parse(audit.stdout) as AuditView[];
      assert.ok(Array.isArray(rows));
      if (check !== undefined) {
        assert.ok(rows.some((r) => r.outcome === 'issued' && r.sessionId === created.id), 'the issuance is audited');
        assert.ok(rows.some((r) => r.outcome === 'refused' && r.code === 'ERR_SESSION_REVOKED'), 'the refusal is audited');
      }
      assert.ok(!audit.stdout.includes(part), 'audit never shows the secret');
      const limited = await json<AuditView[]>(['audit', '--limit', '1']);
      assert.ok(limited.length <= 1);
    });

    test('errors are one line on stderr with a non-zero exit', async () => {
      assertOneLineError(await run(['workspace', 'show', 'nope']), 1, /ERR_UNKNOWN_WORKSPACE/);
      assertOneLineError(await run(['workspace', 'create', 'team']), 1, /ERR_CONFLICT/);
      assertOneLineError(await run(['workspace', 'create', 'bad name']), 1, /ERR_INVALID_ARGUMENT/);
      assertOneLineError(await run(['workspace', 'create', 'x', '--audience', 'CognitiveServics']), 1, /ERR_UNKNOWN_AUDIENCE/);
      assertOneLineError(await run(['session', 'create', '--workspace', 'nope']), 1, /ERR_UNKNOWN_WORKSPACE/);
      assertOneLineError(await run(['session', 'create', '--ttl', '0']), 1, /ERR_INVALID_ARGUMENT/);
      assertOneLineError(await run(['session', 'create', '--ttl', '999d']), 1, /ERR_INVALID_ARGUMENT/);
      assertOneLineError(await run(['session', 'create', '--workspace', 'team', '--audience', 'Storage']), 1, /ERR_AUDIENCE_NOT_ALLOWED/);
      assertOneLineError(await run(['session', 'revoke', 'no-such-session']), 1, /ERR_UNKNOWN_SESSION/);
      assertOneLineError(await run(['identity', 'add', 'etl', '--workspace', 'team']), 1, /ERR_CONFLICT/);
      assertOneLineError(await run(['identity', 'add', 'x', '--client-id', 'not-a-guid']), 1, /ERR_INVALID_ARGUMENT/);
    });
  });
}

const homes: string[] = [];
after(() => {
  for (const home of homes) removeTempDir(home);
});

adminFlow('a state directory, no server', async () => {
  const home = makeTempDir('wits-cli-home-');
  homes.push(home);
  return { access: ['--home', home], env: {} };
});

let server: TestServer | undefined;
after(async () => {
  await server?.close();
});

adminFlow('a running server via --server and WITS_ADMIN_TOKEN', async () => {
  server = await startTestServer();
  const running = server;
  return {
    // A --home that is not the server's: the credential must come from WITS_ADMIN_TOKEN.
    access: ['--server', running.url, '--home', scratch],
    env: { WITS_ADMIN_TOKEN: running.adminToken },
    async check(secret, revoked) {
      const response = await appServiceToken(running.url, secret, { resource: 'CognitiveServices' });
      if (revoked) assertError(response, 401, 'ERR_SESSION_REVOKED');
      else assert.equal(response.status, 200, response.text);
    },
  };
});

describe('wits CLI and a running server on the same home (no --server)', () => {
  let shared: TestServer;

  before(async () => {
    shared = await startTestServer();
  });

  after(async () => {
    await shared?.close();
  });

  test('a session created by the CLI works at once; its revocation applies to the next request', async () => {
    const created = await witsJson<CreatedSession>(['session', 'create', '--home', shared.home]);
    const ok = await appServiceToken(shared.url, created.secret, { resource: 'Storage' });
    assert.equal(ok.status, 200, ok.text);
    await witsJson<SessionView>(['session', 'revoke', created.id, '--home', shared.home]);
    assertError(await appServiceToken(shared.url, created.secret, { resource: 'Storage' }), 401, 'ERR_SESSION_REVOKED');
    const audit = await witsJson<AuditView[]>(['audit', '--home', shared.home]);
    assert.ok(audit.some((r) => r.sessionId === created.id && r.outcome === 'issued'));
  });

  test('a wrong WITS_ADMIN_TOKEN against the server is one line, non-zero', async () => {
    const result = await wits(['workspace', 'list', '--server', shared.url, '--home', scratch], { env: { WITS_ADMIN_TOKEN: 'witsadm.wrong' } });
    assertOneLineError(result, 1, /ERR_ADMIN_UNAUTHENTICATED/);
  });

  test('the admin credential is read from --home when WITS_ADMIN_TOKEN is not set', async () => {
    const list = await witsJson<WorkspaceView[]>(['workspace', 'list', '--server', shared.url, '--home', shared.home]);
    assert.ok(list.some((w) => w.name === 'default'));
  });

  test('an unreachable server is one line, non-zero', async () => {
    const result = await wits(['workspace', 'list', '--server', 'http://127.0.0.1:9', '--home', scratch], { env: { WITS_ADMIN_TOKEN: 'x' } });
    assertOneLineError(result, 1, /Cannot reach/);
  });
});
