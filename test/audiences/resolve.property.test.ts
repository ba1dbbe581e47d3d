import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import { WitsError } from '../../src/errors.js';
import { CLOUDS } from '../../src/audiences/cloud.js';
import { ALIAS_LOOKUP_NAMES } from '../../src/audiences/registry.js';
import { resolveAudience } from '../../src/audiences/resolve.js';

const RUNS = 2_000;
const RESOURCE_SHAPE = /^(https:\/\/|api:\/\/|[0-9a-f-]{36}$)/;

/**
 * The contract: any string either resolves to a resource of an accepted shape, which is itself a
 * fixed point of resolution, or throws a 4xx WitsError with a short, single-line, ASCII message.
 * Never a TypeError, never a 5xx, never a resource of another shape.
 */
function checkContract(input: string, cloud: (typeof CLOUDS)[number]): void {
  let resource: string;
  try {
    resource = resolveAudience(input, cloud).resource;
  } catch (err) {
    assert.ok(err instanceof WitsError, `not a WitsError: ${String(err)}`);
    assert.ok(err.status >= 400 && err.status < 500, `status ${err.status}`);
    assert.ok(err.message.length < 1000, `message of ${err.message.length} characters`);
    assert.match(err.message, /^[\x20-\x7e]+$/);
    return;
  }
  assert.match(resource, RESOURCE_SHAPE);
  assert.equal(resolveAudience(resource, cloud).resource, resource, `${resource} is not canonical`);
}

const cloud = fc.constantFrom(...CLOUDS);

/** Pieces that steer generation towards the parser's edges. */
const piece = fc.oneof(
  fc.constantFrom(
    'https://', 'HTTPS://', 'http://', 'api://', 'ftp://', 'https:', '//', '/', '.', '..', '/.default', '.default',
    ':', ':443', '@', '?', '#', '%2e', '%', '\\', '[', ']', '::1', '169.254.169.254', 'localhost', '-', '_', '~',
    ' ', '\t', '\n', '\u0000', '\u043e', '\u00a0', '\ud83d\ude00', 'storage', 'azure', 'com', 'net', 'windows',
    '2ff814a6-3304-4ab8-85cb-cd0e6f879c1d', 'ABCDEF01-2345-6789-ABCD-EF0123456789',
  ),
  fc.constantFrom(...ALIAS_LOOKUP_NAMES),
  fc.string({ maxLength: 6 }),
  fc.stringMatching(/^[a-z0-9-]{1,12}$/),
);
const mixed = fc.array(piece, { maxLength: 12 }).map((parts) => parts.join(''));

const properties: ReadonlyArray<readonly [string, fc.Arbitrary<string>]> = [
  ['printable ASCII strings (fc.string)', fc.string({ maxLength: 80 })],
  ['full Unicode strings, any code point', fc.string({ unit: 'binary', maxLength: 80 })],
  ['grapheme strings', fc.string({ unit: 'grapheme', maxLength: 40 })],
  ['long strings around the length limit', fc.string({ minLength: 400, maxLength: 700 })],
  ['web URLs', fc.webUrl({ validSchemes: ['https', 'http'], withQueryParameters: true, withFragments: true })],
  ['web URLs with /.default', fc.webUrl().map((url) => `${url}/.default`)],
  ['mixed-case alias names and synonyms', fc.constantFrom(...ALIAS_LOOKUP_NAMES).chain((name) => fc.mixedCase(fc.constant(name)))],
  ['mixed fragments of URIs, aliases and hostile characters', mixed],
  ['https:// followed by mixed fragments', mixed.map((rest) => `https://${rest}`)],
  ['api:// followed by mixed fragments', mixed.map((rest) => `api://${rest}`)],
];

for (const [name, arbitrary] of properties) {
  test(`property: ${name} resolve to a well-shaped resource or a 4xx WitsError`, () => {
    fc.assert(
      fc.property(arbitrary, cloud, (input, c) => {
        checkContract(input, c);
      }),
      { numRuns: RUNS },
    );
  });
}

test('property: every https resource that resolves is one WHATWG URL reads the same way', () => {
  fc.assert(
    fc.property(fc.oneof(fc.webUrl(), mixed.map((rest) => `https://${rest}`)), (input) => {
      let resource: string;
      try {
        resource = resolveAudience(input, 'AzureCloud').resource;
      } catch {
        return;
      }
      if (!resource.startsWith('https://')) return;
      const url = new URL(resource);
      assert.equal(url.href.replace(/\/$/, ''), resource);
      assert.equal(url.port, '');
      assert.equal(url.search, '');
      assert.equal(url.hash, '');
      assert.equal(url.username, '');
    }),
    { numRuns: RUNS },
  );
});

test('property: well-formed https URIs and scopes resolve to their canonical form', () => {
  const segment = fc
    .stringMatching(/^[A-Za-z0-9._~-]{1,12}$/)
    .filter((seg) => seg !== '.' && seg !== '..' && seg.toLowerCase() !== '.default');
  fc.assert(
    fc.property(
      fc.constantFrom('https', 'HTTPS', 'Https'),
      fc.domain().chain((domain) => fc.mixedCase(fc.constant(domain))),
      fc.array(segment, { maxLength: 4 }),
      fc.constantFrom('', '/', '/.default', '//.default'),
      (scheme, host, segments, suffix) => {
        fc.pre(host.length <= 253);
        const path = segments.map((seg) => `/${seg}`).join('');
        const resolved = resolveAudience(`${scheme}://${host}${path}${suffix}`, 'AzureCloud');
        assert.equal(resolved.resource, `https://${host.toLowerCase()}${path}`);
        assert.equal(resolved.kind, suffix.endsWith('.default') ? 'scope' : 'uri');
      },
    ),
    { numRuns: RUNS },
  );
});

test('property: aliases resolve whatever their case and surrounding ASCII whitespace', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...ALIAS_LOOKUP_NAMES).chain((name) => fc.mixedCase(fc.constant(name))),
      fc.stringMatching(/^[ \t\r\n]{0,3}$/),
      fc.stringMatching(/^[ \t\r\n]{0,3}$/),
      (name, before, after) => {
        const plain = resolveAudience(name, 'AzureCloud');
        assert.equal(plain.kind, 'alias');
        assert.deepEqual(resolveAudience(`${before}${name}${after}`, 'AzureCloud'), plain);
      },
    ),
    { numRuns: RUNS },
  );
});
