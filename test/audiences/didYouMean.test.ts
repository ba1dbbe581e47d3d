import { test } from 'node:test';
import assert from 'node:assert/strict';

import { closestName } from '../../src/audiences/didYouMean.js';
import { ALIAS_LOOKUP_NAMES } from '../../src/audiences/registry.js';

const cases: ReadonlyArray<readonly [string, string]> = [
  ['CognitivServices', 'CognitiveServices'], // deletion
  ['cognitiveservice', 'CognitiveServices'],
  ['Valt', 'Vault'],
  ['Vualt', 'Vault'], // adjacent transposition counts as one edit
  ['stroage', 'Storage'],
  ['Storag', 'Storage'],
  ['AzureOpenAl', 'CognitiveServices'], // synonym match returns the canonical name
  ['OpenIA', 'CognitiveServices'],
  ['keyvalut', 'Vault'],
  ['Kustoo', 'AzureDataExplorer'],
  ['Foundary', 'AIServices'],
  ['AzureManagment', 'AzureManagement'],
  ['PowerBl', 'PowerBI'],
  ['Grpah', 'Graph'],
  ['DataLakeStorage', 'DataLakeStore'],
];

for (const [input, expected] of cases) {
  test(`closestName suggests ${expected} for ${input}`, () => {
    assert.equal(closestName(input, ALIAS_LOOKUP_NAMES), expected);
  });
}

test('an exact match (any case) is returned as the canonical name', () => {
  assert.equal(closestName('OPENAI', ALIAS_LOOKUP_NAMES), 'CognitiveServices');
  assert.equal(closestName('vault', ALIAS_LOOKUP_NAMES), 'Vault');
});

test('nothing is suggested for inputs that are not near any name', () => {
  for (const input of ['Totally', 'xyz', 'Blob', 'Secrets', 'Vlt', 'qqqqqqqqqqqqqqqqqqqqq']) {
    assert.equal(closestName(input, ALIAS_LOOKUP_NAMES), undefined, input);
  }
});

test('the accepted distance grows with length: max(1, floor(len/4)) capped at 3', () => {
  const names = ['abcdefghijklmnopqrst'];
  assert.equal(closestName('abcdefghijklmnopqXXX', names), 'abcdefghijklmnopqrst'); // 3 edits, len 20
  assert.equal(closestName('abcdefghijklmnopXXXX', names), undefined); // 4 edits: over the cap
  assert.equal(closestName('abcX', ['abcd']), 'abcd'); // len 4: 1 edit allowed
  assert.equal(closestName('abXX', ['abcd']), undefined);
  assert.equal(closestName('aXXdefgh', ['abcdefgh']), 'abcdefgh'); // len 8: 2 edits allowed
  assert.equal(closestName('X', ['a']), 'a'); // at least 1 edit is always allowed
});

test('names outside the alias table are returned as they are; ties go to the earlier name', () => {
  assert.equal(closestName('aple', ['banana', 'apple']), 'apple');
  assert.equal(closestName('ab', ['ax', 'xb']), 'ax');
  assert.equal(closestName('ab', ['xb', 'ax']), 'xb');
});

test('work is bounded: empty or over-64-character inputs get no suggestion', () => {
  const long = 'a'.repeat(65);
  assert.equal(closestName(long, [long]), undefined);
  assert.equal(closestName('a'.repeat(64), ['a'.repeat(64)]), 'a'.repeat(64));
  assert.equal(closestName('', ALIAS_LOOKUP_NAMES), undefined);
  assert.equal(closestName('\u0130'.repeat(40), ALIAS_LOOKUP_NAMES), undefined); // lower-casing doubles it
  assert.equal(closestName('Vault', ['x'.repeat(1000), 'Vault']), 'Vault');
});
