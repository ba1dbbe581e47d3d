/** The docs read the code's single sources of truth: the alias table and the error catalogue. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { aliasTableMarkdown } from '../../src/audiences/markdown.js';
import { ERROR_CODES } from '../../src/errors.js';

const root = new URL('../../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

test('the README alias table is the registry (regenerate with `wits audiences --markdown`)', () => {
  const readme = read('README.md');
  const match = /<!-- audiences:start -->\n([\s\S]*?)\n<!-- audiences:end -->/.exec(readme);
  assert.ok(match, 'README has the audiences markers');
  assert.equal(match[1], aliasTableMarkdown());
  assert.match(match[1] as string, /`CognitiveServices`.*`https:\/\/cognitiveservices\.azure\.com`/);
  assert.match(match[1] as string, /`AIServices`.*`https:\/\/ai\.azure\.com`/);
});

test('docs/protocols.md documents every error code with its status', () => {
  const doc = read('docs/protocols.md');
  for (const [code, spec] of Object.entries(ERROR_CODES)) {
    assert.ok(doc.includes(`| \`${code}\` | ${spec.status} |`), `${code} is documented with status ${spec.status}`);
  }
});
