/**
 * The load generator of the crash test, run as its own process (`node crashLoad.js CONFIG-JSON`) so
 * that the service can be killed under it without taking the record of what clients saw along.
 *
 * Workers loop: create a session through the admin API, ask for a few tokens with it over the App
 * Service and native protocols, now and then revoke it. Only what a client fully RECEIVED is
 * journaled, one line per fact, with a synchronous write before the next request:
 *
 *   S <tab> id <tab> secret <tab> workspace   201 received: the session must survive
 *   r <tab> id                            revocation sent
 *   R <tab> id                            200 received: the revocation must survive
 *   T <tab> sessionId <tab> jti <tab> protocol <tab> token   a complete token response received
 *
 * On SIGTERM (or SIGINT) the workers stop and one JSON line of counts is printed on stdout.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

export interface LoadConfig {
  readonly url: string;
  readonly adminToken: string;
  readonly journal: string;
  readonly workers: number;
  readonly tokensPerSession: number;
  /** One in N sessions is revoked after its token requests. */
  readonly revokeEvery: number;
  readonly audiences: readonly string[];
  /** Workspace -> client ids of its identities (besides the default system identity). */
  readonly workspaces: Readonly<Record<string, readonly string[]>>;
}

export interface LoadSummary {
  requests: number;
  /** Complete responses, by status. */
  statuses: Record<string, number>;
  /** Requests that got no complete response (connection refused or reset: the server was killed). */
  failed: number;
  sessionsAcknowledged: number;
  revocationsAcknowledged: number;
  tokensReceived: number;
  /** Unexpected answers (a refusal of a valid request, a malformed 200): must stay 0. */
  unexpected: string[];
}

const args = process.argv.slice(2);

async function main(config: LoadConfig): Promise<void> {
  const fd = openSync(config.journal, 'a');
  const journal = (...fields: string[]): void => {
    writeSync(fd, fields.join('\t') + '\n');
  };
  const summary: LoadSummary = { requests: 0, statuses: {}, failed: 0, sessionsAcknowledged: 0, revocationsAcknowledged: 0, tokensReceived: 0, unexpected: [] };
  let stopping = false;
  const stop = (): void => {
    stopping = true;
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)] as T;
  const workspaces = Object.keys(config.workspaces);

  /** One HTTP exchange; undefined when no complete response arrived. */
  async function call(path: string, init: RequestInit): Promise<{ status: number; body: any } | undefined> {
    summary.requests++;
    try {
      const response = await fetch(config.url + path, { ...init, signal: AbortSignal.timeout(30_000) });
      const text = await response.text();
      summary.statuses[response.status] = (summary.statuses[response.status] ?? 0) + 1;
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      return { status: response.status, body };
    } catch {
      summary.failed++;
      return undefined;
    }
  }

  const admin = (method: string, path: string, body?: unknown) =>
    call(path, {
      method,
      headers: { authorization: `Bearer ${config.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  function unexpected(what: string): void {
    if (summary.unexpected.length < 20) summary.unexpected.push(what.slice(0, 300));
  }

  async function tokenRequest(sessionId: string, secret: string, workspace: string): Promise<void> {
    const audience = pick(config.audiences);
    const clientIds = config.workspaces[workspace] ?? [];
    const clientId = Math.random() < 0.3 && clientIds.length > 0 ? pick(clientIds) : undefined;
    const protocol = pick(['appservice', 'native-post', 'native-form', 'native-get'] as const);
    let reply: { status: number; body: any } | undefined;
    if (protocol === 'appservice') {
      const q = new URLSearchParams({ 'api-version': '2019-08-01', resource: audience, ...(clientId === undefined ? {} : { client_id: clientId }) });
      reply = await call(`/msi/token?${q}`, { headers: { 'x-identity-header': secret } });
    } else if (protocol === 'native-get') {
      const q = new URLSearchParams({ audience, ...(clientId === undefined ? {} : { clientId }) });
      reply = await call(`/v1/token?${q}`, { headers: { authorization: `Bearer ${secret}` } });
    } else if (protocol === 'native-form') {
      const form = new URLSearchParams({ audience, ...(clientId === undefined ? {} : { clientId }) });
      reply = await call('/v1/token', { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
    } else {
      reply = await call('/v1/token', {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ audience, ...(clientId === undefined ? {} : { clientId }) }),
      });
    }
    if (reply === undefined) return;
    if (reply.status !== 200) {
      // 503 "starting" is the only acceptable refusal of a valid request.
      if (reply.status !== 503) unexpected(`${protocol} ${audience}: ${reply.status} ${JSON.stringify(reply.body)}`);
      return;
    }
    const token = reply.body?.access_token;
    if (typeof token !== 'string') {
      unexpected(`${protocol}: 200 without a token`);
      return;
    }
    let jti: unknown;
    try {
      jti = (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { jti?: unknown }).jti;
    } catch {
      jti = undefined;
    }
    if (typeof jti !== 'string') {
      unexpected(`${protocol}: a token without jti`);
      return;
    }
    journal('T', sessionId, jti, protocol, token);
    summary.tokensReceived++;
  }

  /** A request the service must refuse (bad audience); exercises the refusal audit under load. */
  async function refusedRequest(secret: string): Promise<void> {
    const q = new URLSearchParams({ 'api-version': '2019-08-01', resource: 'NoSuchAlias' });
    const reply = await call(`/msi/token?${q}`, { headers: { 'x-identity-header': secret } });
    if (reply !== undefined && reply.status !== 400 && reply.status !== 503) unexpected(`bad audience answered ${reply.status}`);
  }

  async function worker(): Promise<void> {
    while (!stopping) {
      const workspace = pick(workspaces);
      const created = await admin('POST', '/admin/sessions', { workspace, ttlSeconds: 86_400, labels: { load: 'crash' } });
      if (created === undefined || created.status !== 201) {
        if (created !== undefined && created.status !== 503) unexpected(`session create: ${created.status} ${JSON.stringify(created.body)}`);
        if (created === undefined) await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      const { id, secret } = created.body as { id: string; secret: string };
      journal('S', id, secret, workspace);
      summary.sessionsAcknowledged++;
      for (let i = 0; i < config.tokensPerSession && !stopping; i++) {
        if (Math.random() < 0.05) await refusedRequest(secret);
        else await tokenRequest(id, secret, workspace);
      }
      if (!stopping && Math.random() < 1 / config.revokeEvery) {
        journal('r', id);
        const revoked = await admin('POST', `/admin/sessions/${id}/revoke`);
        if (revoked?.status === 200) {
          journal('R', id);
          summary.revocationsAcknowledged++;
        } else if (revoked !== undefined && revoked.status !== 503) unexpected(`revoke: ${revoked.status}`);
      }
    }
  }

  process.stdout.write('ready\n');
  await Promise.all(Array.from({ length: config.workers }, () => worker()));
  closeSync(fd);
  process.stdout.write(JSON.stringify(summary) + '\n');
}

if (args[0] !== undefined) {
  main(JSON.parse(args[0]) as LoadConfig).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
