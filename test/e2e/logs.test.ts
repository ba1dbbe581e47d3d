/**
 * Log hygiene: an end-to-end run at `--log-level debug` (a `wits serve`, several `wits exec` in both
 * modes, a zero-setup `wits exec` with its in-process server, refusals), then every captured log,
 * the audit rows and the session listing are searched for every token, session secret and admin
 * credential seen in the run, for pieces of them, and for anything shaped like a JWT or a session
 * secret. Zero hits allowed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  AI_FOUNDRY,
  CLI,
  clientScript,
  cleanEnv,
  COGNITIVE_SERVICES,
  lastJsonLine,
  removeDir,
  startServe,
  tempDir,
  wits,
  witsOk,
  type ClientTokens,
  type RunResult,
  type WitsServer,
} from './support.js';

const JWT_SHAPE = /eyJ[A-Za-z0-9_-]{10,}\./;
const SESSION_SECRET_SHAPE = /wits\.[A-Za-z0-9_-]{22}\./;

describe('no token or secret reaches a log or the audit', { concurrency: false }, () => {
  let home: string;
  let zeroDir: string;
  let server: WitsServer;
  /** name -> captured text */
  const logs = new Map<string, string>();
  const tokens = new Set<string>();
  const sessionSecrets = new Set<string>();
  const adminCredentials = new Set<string>();

  function collect(out: ClientTokens): void {
    for (const t of out.tokens) tokens.add(t.token);
    if (out.identityHeader !== undefined) sessionSecrets.add(out.identityHeader);
  }

  function keepStderr(name: string, result: RunResult): void {
    logs.set(`${name} (wits exec stderr)`, result.stderr);
  }

  before(async () => {
    home = tempDir('logs');
    zeroDir = tempDir('logs-zero');
    server = await startServe(home, ['--log-level', 'debug']);
    adminCredentials.add(server.adminToken);
    const execArgs = ['exec', '--log-level', 'debug', '--server', server.url, '--home', home];

    // App Service mode, DefaultAzureCredential; the child also reports its session secret.
    const appService = await wits([...execArgs, '--', process.execPath, clientScript('identity'), '--credential', 'dac', '--show-endpoint'], { env: cleanEnv() });
    assert.equal(appService.code, 0, appService.stderr);
    collect(lastJsonLine<ClientTokens>(appService));
    keepStderr('appservice dac', appService);

    // IMDS mode, msal-node.
    const imds = await wits([...execArgs, '--imds', '--', process.execPath, clientScript('msal')], { env: cleanEnv() });
    assert.equal(imds.code, 0, imds.stderr);
    collect(lastJsonLine<ClientTokens>(imds));
    keepStderr('imds msal', imds);

    // wits token --json prints a whole token response on stdout (stdout is the product's output, not a log).
    const cli = await wits([...execArgs, '--imds', '--', process.execPath, CLI, 'token', 'CognitiveServices', '--json'], { env: cleanEnv() });
    assert.equal(cli.code, 0, cli.stderr);
    tokens.add((JSON.parse(cli.stdout) as { access_token: string }).access_token);
    keepStderr('wits token --json', cli);

    // Refusals: an unknown identity from a real client, a revoked secret, a wrong admin credential.
    const refused = await wits([...execArgs, '--', process.execPath, clientScript('identity'), '--credential', 'mi', '--client-id', '00000000-0000-4000-8000-0000000000ff', '--show-endpoint'], {
      env: cleanEnv(),
    });
    assert.notEqual(refused.code, 0, 'an unknown client id fails');
    keepStderr('refused client', refused);
    const revokedSecret = [...sessionSecrets][0] as string;
    const revoked = await fetch(`${server.appServiceEndpoint}?api-version=2019-08-01&resource=${encodeURIComponent(AI_FOUNDRY)}`, {
      headers: { 'x-identity-header': revokedSecret },
    });
    assert.equal(revoked.status, 401);
    const wrongAdmin = `witsadm.${'A'.repeat(43)}`;
    adminCredentials.add(wrongAdmin);
    const denied = await fetch(`${server.url}/admin/sessions`, { headers: { authorization: `Bearer ${wrongAdmin}` } });
    assert.equal(denied.status, 401);

    // Zero-setup exec: its in-process server logs to the exec's stderr.
    const zero = await wits(['exec', '--log-level', 'debug', '--', process.execPath, clientScript('identity'), '--credential', 'mi', '--show-endpoint'], {
      cwd: zeroDir,
      env: cleanEnv(),
    });
    assert.equal(zero.code, 0, zero.stderr);
    collect(lastJsonLine<ClientTokens>(zero));
    keepStderr('zero-setup', zero);
    adminCredentials.add(readFileSync(join(zeroDir, '.wits', 'admin-token'), 'utf8').trim());

    // Admin commands at the end, so the server logs them too.
    for (const [name, args] of [
      ['audit (server)', ['audit', '--json']],
      ['session list (server)', ['session', 'list', '--all', '--json']],
    ] as const) {
      logs.set(name, (await witsOk(args, { env: server.adminEnv() })).stdout);
    }
    for (const [name, args] of [
      ['audit (zero-setup home)', ['audit', '--json', '--home', join(zeroDir, '.wits')]],
      ['session list (zero-setup home)', ['session', 'list', '--all', '--json', '--home', join(zeroDir, '.wits')]],
    ] as const) {
      logs.set(name, (await witsOk(args, { env: cleanEnv() })).stdout);
    }

    await server.stop();
    logs.set('wits serve stdout', server.output().stdout);
    logs.set('wits serve stderr', server.output().stderr);
  });

  after(async () => {
    await server?.stop();
    if (home !== undefined) removeDir(home);
    if (zeroDir !== undefined) removeDir(zeroDir);
  });

  test('the run produced what is searched: tokens, secrets and real log lines', () => {
    // The service caches tokens per identity and resource across sessions, so the runs against the
    // shared server may see the same two tokens; the zero-setup installation has its own two.
    assert.ok(tokens.size >= 4, `at least two distinct tokens per installation, got ${tokens.size}`);
    // The App Service children that succeeded reported their secrets; the others (IMDS, the failing
    // client) are covered by the session-secret pattern.
    assert.equal(sessionSecrets.size, 2);
    for (const s of sessionSecrets) assert.match(s, SESSION_SECRET_SHAPE);
    for (const t of tokens) assert.match(t, JWT_SHAPE);
    const serve = logs.get('wits serve stderr') ?? '';
    assert.match(serve, /"path":"\/msi\/token","status":200/, 'the server logged token requests');
    assert.match(serve, /"status":401/, 'the server logged the refusals');
    assert.match(serve, /"path":"\/admin\/sessions"/);
    assert.match(logs.get('appservice dac (wits exec stderr)') ?? '', /session created for command/);
    assert.match(logs.get('zero-setup (wits exec stderr)') ?? '', /"path":"\/msi\/token","status":200/, 'the in-process server logged');
    assert.match(logs.get('refused client (wits exec stderr)') ?? '', /client_id/, 'the failing client explained itself');
  });

  test('no log, audit row or session listing contains a token, a secret or a piece of one', () => {
    const needles: Array<[string, string]> = [];
    for (const t of tokens) {
      const [, payload, signature] = t.split('.') as [string, string, string];
      needles.push(['token', t], ['token payload', payload], ['token signature', signature]);
    }
    for (const s of sessionSecrets) needles.push(['session secret', s], ['session secret part', s.split('.')[2] as string]);
    for (const a of adminCredentials) needles.push(['admin credential', a], ['admin credential part', a.split('.')[1] as string]);
    for (const [, needle] of needles) assert.ok(needle.length >= 20, 'needles are long enough to be meaningful');

    const hits: string[] = [];
    for (const [name, text] of logs) {
      for (const [kind, needle] of needles) if (text.includes(needle)) hits.push(`${name}: ${kind}`);
      if (JWT_SHAPE.test(text)) hits.push(`${name}: JWT-shaped text`);
      if (SESSION_SECRET_SHAPE.test(text)) hits.push(`${name}: session-secret-shaped text`);
    }
    assert.deepEqual(hits, []);
  });

  test('the audit identifies each token by its jti instead', () => {
    const rows = [
      ...(JSON.parse(logs.get('audit (server)') ?? '[]') as Array<{ tokenId: string | null; outcome: string }>),
      ...(JSON.parse(logs.get('audit (zero-setup home)') ?? '[]') as Array<{ tokenId: string | null; outcome: string }>),
    ];
    const audited = new Set(rows.map((r) => r.tokenId));
    for (const t of tokens) {
      const jti = (JSON.parse(Buffer.from(t.split('.')[1] as string, 'base64url').toString('utf8')) as { jti: string }).jti;
      assert.ok(audited.has(jti), `token ${jti} is in the audit`);
    }
    assert.ok(rows.some((r) => r.outcome === 'refused'), 'refusals are audited');
    assert.ok([COGNITIVE_SERVICES, AI_FOUNDRY].every((a) => (logs.get('audit (server)') ?? '').includes(a)), 'audiences are recorded');
  });
});
