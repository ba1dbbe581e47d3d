/**
 * Child of credential.test.ts, run WITHOUT `wits exec` (no endpoint variables, or a partial set):
 * what a user sees, and that Azure credential chains move on.
 */
import { ChainedTokenCredential } from '@azure/identity';
import { credentials, WitsCredential } from '../../../src/client/index.js';

const describe = (err: unknown) => {
  const e = err as { name?: string; code?: string; message?: string; missing?: string[] };
  return { name: e.name, code: e.code, message: e.message, missing: e.missing };
};
const out: Record<string, unknown> = {};
try {
  await credentials.getToken('Storage');
  out.getToken = 'succeeded?!';
} catch (err) {
  out.getToken = describe(err);
}
try {
  await new WitsCredential().getToken('https://storage.azure.com/.default');
  out.credential = 'succeeded?!';
} catch (err) {
  out.credential = describe(err);
}
const fallback = { getToken: async () => ({ token: 'from-the-next-credential', expiresOnTimestamp: Date.now() + 3600_000 }) };
const chained = await new ChainedTokenCredential(new WitsCredential(), fallback).getToken('https://storage.azure.com/.default');
out.chained = chained?.token;
console.log(JSON.stringify(out));
