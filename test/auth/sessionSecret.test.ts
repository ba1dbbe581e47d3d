import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { hashSecretPart, newSessionSecret, parseSessionSecret, secretMatches } from '../../src/auth/sessionSecret.js';

const SHAPE = /^wits\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

describe('session secrets', () => {
  test('format: wits.<128-bit id>.<256-bit random part>, base64url', () => {
    const { sessionId, secret, secretHash } = newSessionSecret();
    const match = SHAPE.exec(secret);
    assert.ok(match !== null, secret);
    assert.equal(match[1], sessionId);
    assert.equal(Buffer.from(sessionId, 'base64url').length, 16);
    const part = match[2] as string;
    assert.equal(Buffer.from(part, 'base64url').length, 32, 'the credential part carries 256 bits');
    assert.equal(Buffer.from(part, 'base64url').toString('base64url'), part, 'canonical base64url, no padding');
    assert.match(secretHash, /^[0-9a-f]{64}$/);
  });

  test('only the SHA-256 of the random part is kept, and it reveals neither part', () => {
    const { secret, secretHash, sessionId } = newSessionSecret();
    const part = secret.split('.')[2] as string;
    assert.equal(secretHash, createHash('sha256').update(part).digest('hex'));
    assert.equal(secretHash, hashSecretPart(part));
    assert.ok(!secretHash.includes(part) && !secretHash.includes(sessionId));
  });

  test('every secret and id is new', () => {
    const secrets = new Set<string>();
    const ids = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const s = newSessionSecret();
      secrets.add(s.secret);
      ids.add(s.sessionId);
    }
    assert.equal(secrets.size, 2000);
    assert.equal(ids.size, 2000);
  });

  test('parseSessionSecret splits a well-formed secret', () => {
    const { secret, sessionId } = newSessionSecret();
    assert.deepEqual(parseSessionSecret(secret), { sessionId, part: secret.split('.')[2] });
  });

  test('parseSessionSecret rejects anything else', () => {
    const { secret } = newSessionSecret();
    const [, id, part] = secret.split('.') as [string, string, string];
    const bad = [
      '',
      'wits.',
      'wits..',
      `Wits.${id}.${part}`,
      `wits.${id}.${part}=`,
      `wits.${id}.${part}x`,
      `wits.${id}.${part.slice(1)}`,
      `wits.${id}x.${part}`,
      `wits.${id}.${part}.extra`,
      ` ${secret}`,
      `${secret} `,
      `${secret}\n`,
      `Bearer ${secret}`,
      `wits.${id}.${part.slice(0, -1)}+`,
      `wits.${id}.${part.slice(0, -1)}/`,
      `wits.${id.slice(0, -1)}é.${part}`,
      'witsadm.' + part,
    ];
    for (const value of bad) assert.equal(parseSessionSecret(value), undefined, JSON.stringify(value));
  });

  test('property: parseSessionSecret never throws and accepts only the exact shape', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 120 }), fc.string({ unit: fc.constantFrom('w', 'i', 't', 's', '.', 'A', '_', '-', '0'), maxLength: 80 })), (value) => {
        const parsed = parseSessionSecret(value);
        assert.equal(parsed !== undefined, SHAPE.test(value));
      }),
      { numRuns: 500 },
    );
  });

  test('secretMatches: the right part only; a malformed stored hash is simply no match', () => {
    const { secret, secretHash } = newSessionSecret();
    const part = secret.split('.')[2] as string;
    assert.equal(secretMatches(part, secretHash), true);
    assert.equal(secretMatches(part.slice(0, -1) + (part.endsWith('A') ? 'B' : 'A'), secretHash), false);
    assert.equal(secretMatches('', secretHash), false);
    assert.equal(secretMatches(part, secretHash.toUpperCase()), true, 'hex is case-insensitive');
    assert.equal(secretMatches(part, ''), false);
    assert.equal(secretMatches(part, 'zz'), false);
    assert.equal(secretMatches(part, secretHash.slice(0, 62)), false);
    assert.equal(secretMatches(part, secretHash + '00'), false);
  });
});
