/**
 * An in-process wits server on a real loopback socket, for service, fuzz and CLI tests.
 * Each server gets its own temp home (unless one is passed, e.g. to test restarts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WitsApp } from '../../src/app.js';
import { loadConfig, type ConfigOverrides, type WitsConfig } from '../../src/config.js';
import { silentLogger, type Logger } from '../../src/logger.js';
import { startServer } from '../../src/server.js';
import { makeTempDir, removeTempDir } from './home.js';

export interface TestServer {
  readonly url: string;
  readonly port: number;
  readonly home: string;
  readonly config: WitsConfig;
  readonly app: WitsApp;
  /** Contents of `<home>/admin-token`. */
  readonly adminToken: string;
  /** Stops the server (idempotent). Removes the home only when the helper created it and `keepHome` is false. */
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** Reuse a state directory (restart tests); the caller then owns its removal. */
  readonly home?: string;
  /** Extra config flags (issuer, signingAlg, tokenLifetimeSeconds, ...). */
  readonly config?: ConfigOverrides;
  readonly logger?: Logger;
  /** Keep a helper-created home after close (default false). */
  readonly keepHome?: boolean;
}

export function testConfig(home: string, overrides: ConfigOverrides = {}): WitsConfig {
  return loadConfig({ flags: { home, port: 0, logLevel: 'silent', ...overrides }, env: {}, readFile: false });
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const ownsHome = options.home === undefined;
  const home = options.home ?? makeTempDir('wits-server-');
  const config = testConfig(home, options.config);
  const running = await startServer(config, options.logger ?? silentLogger);
  const adminToken = readFileSync(join(home, 'admin-token'), 'utf8').trim();
  let closed: Promise<void> | undefined;
  return {
    url: running.url,
    port: Number(new URL(running.url).port),
    home,
    config,
    app: running.app,
    adminToken,
    close() {
      closed ??= running.close().finally(() => {
        if (ownsHome && options.keepHome !== true) removeTempDir(home);
      });
      return closed;
    },
  };
}
