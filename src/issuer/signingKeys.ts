/**
 * The local issuer's signing keys: generated once, persisted in the store, published as a JWKS.
 *
 * The newest key of the configured algorithm signs. Older keys stay in the JWKS so that tokens they
 * signed keep verifying after the algorithm is switched (a switch creates a new key; nothing is lost).
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
  const newest = records.filter((r) => r.alg === alg).at(-1) as SigningKeyRecord;
  const privateKey = (await importJWK(JSON.parse(newest.privateJwk) as JWK, alg)) as CryptoKey;
  return {
    active: { kid: newest.kid, alg, privateKey },
    publicJwks: records.map((r) => JSON.parse(r.publicJwk) as JWK),
  };
}
