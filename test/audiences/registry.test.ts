import { test } from 'node:test';
import assert from 'node:assert/strict';

import { CLOUDS } from '../../src/audiences/cloud.js';
import { ALIAS_LOOKUP_NAMES, ALIAS_NAMES, AUDIENCE_ALIASES, findAlias } from '../../src/audiences/registry.js';
import { resolveAudience } from '../../src/audiences/resolve.js';

test('alias names and synonyms are unique, case-insensitively', () => {
  const seen = new Map<string, string>();
  for (const alias of AUDIENCE_ALIASES) {
    for (const key of [alias.name, ...alias.synonyms]) {
      const lower = key.toLowerCase();
      assert.equal(seen.get(lower), undefined, `'${key}' of ${alias.name} is also used by ${seen.get(lower)}`);
      seen.set(lower, alias.name);
    }
  }
  assert.equal(seen.size, ALIAS_LOOKUP_NAMES.length);
});

test('names and synonyms are plain alias syntax (so resolveAudience treats them as aliases)', () => {
  for (const key of ALIAS_LOOKUP_NAMES) {
    assert.match(key, /^[A-Za-z][A-Za-z0-9_-]{0,63}$/);
    assert.doesNotMatch(key, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
  }
});

test('ALIAS_NAMES lists the canonical names in table order', () => {
  assert.deepEqual(ALIAS_NAMES, AUDIENCE_ALIASES.map((a) => a.name));
});

test('every alias has a description, an AzureCloud resource and only known clouds', () => {
  for (const alias of AUDIENCE_ALIASES) {
    assert.ok(alias.description.length > 0, alias.name);
    assert.ok(alias.resources.AzureCloud !== undefined, `${alias.name} has no AzureCloud resource`);
    for (const cloud of Object.keys(alias.resources)) {
      assert.ok((CLOUDS as readonly string[]).includes(cloud), `${alias.name}: unknown cloud ${cloud}`);
    }
  }
});

test('every resource is stored canonical: resolving it as a URI or GUID gives it back unchanged', () => {
  for (const alias of AUDIENCE_ALIASES) {
    for (const cloud of CLOUDS) {
      const resource = alias.resources[cloud];
      if (resource === undefined) continue;
      assert.equal(resource, resource.toLowerCase(), `${alias.name}/${cloud} is not lower case`);
      assert.ok(!resource.endsWith('/'), `${alias.name}/${cloud} ends with '/'`);
      const resolved = resolveAudience(resource, cloud);
      assert.equal(resolved.resource, resource, `${alias.name}/${cloud}`);
      assert.ok(resolved.kind === 'uri' || resolved.kind === 'app-guid', `${alias.name}/${cloud}: ${resolved.kind}`);
    }
  }
});

test('the Synapse aliases are exactly those of protocols.md section 7', () => {
  const synapse = Object.fromEntries(
    AUDIENCE_ALIASES.filter((a) => a.origin === 'synapse').map((a) => [a.name, a.resources.AzureCloud]),
  );
  assert.deepEqual(synapse, {
    Storage: 'https://storage.azure.com',
    Vault: 'https://vault.azure.net',
    AzureManagement: 'https://management.azure.com',
    DW: 'https://database.windows.net',
    Synapse: 'https://dev.azuresynapse.net',
    DataLakeStore: 'https://datalake.azure.net',
    ADF: 'https://datafactory.azure.net',
    AzureDataExplorer: 'https://kusto.kusto.windows.net',
    AzureOSSDB: 'https://ossrdbms-aad.database.windows.net',
  });
  assert.equal(findAlias('DF')?.name, 'ADF');
});

test('Fabric short keys storage, pbi, keyvault and kusto are known', () => {
  assert.equal(findAlias('storage')?.name, 'Storage');
  assert.equal(findAlias('pbi')?.name, 'PowerBI');
  assert.equal(findAlias('keyvault')?.name, 'Vault');
  assert.equal(findAlias('kusto')?.name, 'AzureDataExplorer');
  assert.equal(findAlias('pbi')?.origin, 'fabric');
});

test('findAlias is case-insensitive over names and synonyms', () => {
  for (const alias of AUDIENCE_ALIASES) {
    for (const key of [alias.name, ...alias.synonyms]) {
      assert.equal(findAlias(key), alias);
      assert.equal(findAlias(key.toLowerCase()), alias);
      assert.equal(findAlias(key.toUpperCase()), alias);
    }
  }
  assert.equal(findAlias('NoSuchAlias'), undefined);
  assert.equal(findAlias(''), undefined);
});

test('findAlias does not let Unicode case folding reach an alias (Kelvin sign, dotted I)', () => {
  assert.equal('\u212Austo'.toLowerCase(), 'kusto'); // the trap being guarded against
  assert.equal(findAlias('\u212Austo'), undefined);
  assert.equal(findAlias('Synaps\u0130'), undefined);
});

test('the table and its entries are frozen', () => {
  assert.ok(Object.isFrozen(AUDIENCE_ALIASES));
  for (const alias of AUDIENCE_ALIASES) {
    assert.ok(Object.isFrozen(alias) && Object.isFrozen(alias.synonyms) && Object.isFrozen(alias.resources), alias.name);
  }
});
