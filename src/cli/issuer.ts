import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openStore } from '../app.js';
import { loadConfig } from '../config.js';
import { discoveryDocument, DISCOVERY_PATH, jwksDocument, JWKS_PATH } from '../issuer/discovery.js';
import { loadSigningKeys } from '../issuer/signingKeys.js';
import { AdminService } from '../admin/adminService.js';
import { parseFlags, print, printJson, requireOne, UsageError, type Command } from './command.js';

export const issuerCommand: Command = {
  name: 'issuer',
  summary: "Export the issuer's discovery document and JWKS for static hosting",
  help: `Usage: wits issuer export DIR [--issuer URL] [--home DIR] [--json]

Writes DIR/.well-known/openid-configuration and DIR/.well-known/jwks.json for the issuer URL, so that
DIR can be published where Entra ID can fetch it (a storage account static website, a CDN). The
entra-federated token source needs this: Entra verifies wits' assertions through these documents.
Publish DIR at exactly the issuer URL, and export again after changing the signing algorithm.
See docs/entra-federation.md.

Options:
  --issuer URL   the public issuer URL (default: the configured issuer, WITS_ISSUER)
  --home DIR     state directory holding the signing keys (env WITS_HOME, default ./.wits)
  --json         print the written paths as JSON
  -h, --help     show this help`,
  async run(argv) {
    const { values, positionals } = parseFlags(() =>
      parseArgs({ args: argv, allowPositionals: true, options: { issuer: { type: 'string' }, home: { type: 'string' }, json: { type: 'boolean' } } }),
    );
    const [action, ...rest] = positionals;
    if (action !== 'export') throw new UsageError(action === undefined ? 'Missing action: export.' : `Unknown action '${action}': export.`);
    const dir = resolve(requireOne(rest, 'output directory'));
    const config = loadConfig({ flags: { home: values.home, issuer: values.issuer } });
    if (config.issuer === undefined) {
      throw new UsageError('Give the public issuer URL with --issuer (or WITS_ISSUER): the https URL where DIR will be published.');
    }
    if (!config.issuer.startsWith('https://')) throw new UsageError('Entra ID fetches issuers over https only: --issuer must be an https URL.');
    const store = openStore(config);
    try {
      await new AdminService(store, { defaultSessionTtlSeconds: config.sessionTtlSeconds, maxSessionTtlSeconds: config.maxSessionTtlSeconds }).bootstrap();
      const keys = await loadSigningKeys(store, config.signingAlg);
      const discoveryFile = join(dir, DISCOVERY_PATH);
      const jwksFile = join(dir, JWKS_PATH);
      mkdirSync(join(dir, '.well-known'), { recursive: true });
      writeFileSync(discoveryFile, JSON.stringify(discoveryDocument(config.issuer, keys.publicJwks.map((k) => String(k.alg))), null, 2) + '\n');
      writeFileSync(jwksFile, JSON.stringify(jwksDocument(keys.publicJwks), null, 2) + '\n');
      if (values.json) printJson({ issuer: config.issuer, discovery: discoveryFile, jwks: jwksFile });
      else print(`wrote ${discoveryFile}\nwrote ${jwksFile}\npublish ${dir} at ${config.issuer}`);
    } finally {
      await store.close();
    }
    return 0;
  },
};
