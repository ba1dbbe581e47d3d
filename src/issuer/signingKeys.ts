/**
 * The local issuer's signing keys: generated once, persisted in the store, published as a JWKS.
 *
 * One key per algorithm signs. All keys stay in the JWKS so that tokens keep verifying after the
 * algorithm is switched (a switch adds a key of the new algorithm; nothing is lost).
 *
 * Two roles: access tokens are signed with the configured algorithm (ES256 by default), and the
 * assertions that the `entra-federated` source presents to Entra ID are always signed with RS256,
 * because Entra ID accepts only RSA signatures on federated tokens ("AADSTS5002738: 'ES256' is not
 * a supported signature algorithm"). Both keys exist from the first start, so the JWKS that
 * `wits issuer export` publishes for Entra already holds the RS256 key.
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { SigningAlg } from '../config.js';
import type { SigningKeyRecord, Store } from '../store/store.js';

export interface ActiveSigningKey {
  readonly kid: string;
  readonly alg: SigningAlg;
  readonly privateKey: CryptoKey;
}

export interface SigningKeySet {
  /** Signs access tokens: the configured algorithm. */
  readonly active: ActiveSigningKey;
  /** Signs assertions for Entra ID (RS256; the same key as `active` when that is RS256). */
  readonly federation: ActiveSigningKey;
  /** Public JWKs of every key, for /.well-known/jwks.json. */
  readonly publicJwks: readonly JWK[];
}

/** The algorithm Entra ID accepts on federated assertions. */
export const FEDERATION_ALG: SigningAlg = 'RS256';

async function generate(alg: SigningAlg, now: number): Promise<SigningKeyRecord> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, modulusLength: 2048 });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const privateJwk = await exportJWK(privateKey);
  const tag = { kid, alg, use: 'sig' };
  return {
    kid,
    alg,
    privateJwk: JSON.stringify({ ...privateJwk, ...tag }),
    publicJwk: JSON.stringify({ ...publicJwk, ...tag }),
    createdAt: now,
  };
}

async function activeKey(records: readonly SigningKeyRecord[], alg: SigningAlg): Promise<ActiveSigningKey> {
  // The oldest key of the algorithm signs: when two processes start on an empty store at once and
  // both add a key, both re-read and pick the same one (list order is created_at, then kid).
  const signing = records.find((r) => r.alg === alg) as SigningKeyRecord;
  const privateKey = (await importJWK(JSON.parse(signing.privateJwk) as JWK, alg)) as CryptoKey;
  return { kid: signing.kid, alg, privateKey };
}

export async function loadSigningKeys(store: Store, alg: SigningAlg, now = Date.now()): Promise<SigningKeySet> {
  let records = await store.listSigningKeys();
  const missing = [...new Set([alg, FEDERATION_ALG])].filter((a) => !records.some((r) => r.alg === a));
  if (missing.length > 0) {
    for (const a of missing) await store.addSigningKey(await generate(a, now));
    // Re-read: with several processes on one store, the first key written is the one everyone uses.
    records = await store.listSigningKeys();
  }
  const active = await activeKey(records, alg);
  return {
    active,
    federation: alg === FEDERATION_ALG ? active : await activeKey(records, FEDERATION_ALG),
    publicJwks: records.map((r) => JSON.parse(r.publicJwk) as JWK),
  };
}
