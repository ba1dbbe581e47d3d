/**
 * The local issuer's signing keys: generated once, persisted in the store, published as a JWKS.
 *
 * One key per algorithm signs. All keys stay in the JWKS so that tokens keep verifying after the
 * algorithm is switched (a switch adds a key of the new algorithm; nothing is lost).
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
  readonly active: ActiveSigningKey;
  /** Public JWKs of every key, for /.well-known/jwks.json. */
  readonly publicJwks: readonly JWK[];
}

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

export async function loadSigningKeys(store: Store, alg: SigningAlg, now = Date.now()): Promise<SigningKeySet> {
  let records = await store.listSigningKeys();
  if (!records.some((r) => r.alg === alg)) {
    await store.addSigningKey(await generate(alg, now));
    // Re-read: with several processes on one store, the first key written is the one everyone uses.
    records = await store.listSigningKeys();
  }
  // The oldest key of the algorithm signs: when two processes start on an empty store at once and
  // both add a key, both re-read and pick the same one (list order is created_at, then kid).
  const signing = records.find((r) => r.alg === alg) as SigningKeyRecord;
  const privateKey = (await importJWK(JSON.parse(signing.privateJwk) as JWK, alg)) as CryptoKey;
  return {
    active: { kid: signing.kid, alg, privateKey },
    publicJwks: records.map((r) => JSON.parse(r.publicJwk) as JWK),
  };
}
