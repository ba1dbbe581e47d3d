import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { moveAudiencesToCloud } from '../../src/audiences/moveToCloud.js';
import { AUDIENCE_ALIASES, type AudienceAlias } from '../../src/audiences/registry.js';
import { WitsError } from '../../src/errors.js';

describe('moveAudiencesToCloud', () => {
  test("known services' resources become the new cloud's; other resources stay", () => {
    assert.deepEqual(
      moveAudiencesToCloud(['https://vault.azure.net', 'https://storage.azure.com', 'api://contoso.com/api', 'https://management.azure.com'], 'AzureCloud', 'AzureUSGovernment'),
      ['https://vault.usgovcloudapi.net', 'https://storage.azure.com', 'api://contoso.com/api', 'https://management.usgovcloudapi.net'],
    );
    assert.deepEqual(moveAudiencesToCloud(['https://vault.usgovcloudapi.net'], 'AzureUSGovernment', 'AzureChinaCloud'), ['https://vault.azure.cn']);
  });

  test('every resource of every alias moves to its counterpart, and back', () => {
    for (const alias of AUDIENCE_ALIASES) {
      const { AzureCloud: there, AzureUSGovernment: gov } = alias.resources;
      if (there === undefined || gov === undefined) continue;
      assert.deepEqual(moveAudiencesToCloud([there], 'AzureCloud', 'AzureUSGovernment'), [gov], alias.name);
      assert.deepEqual(moveAudiencesToCloud([gov], 'AzureUSGovernment', 'AzureCloud'), [there], alias.name);
    }
  });

  test('a service with no resource in the new cloud is refused, naming it', () => {
    assert.throws(
      () => moveAudiencesToCloud(['https://storage.azure.com', 'https://ai.azure.com'], 'AzureCloud', 'AzureUSGovernment'),
      (err: unknown) => err instanceof WitsError && err.code === 'ERR_AUDIENCE_UNAVAILABLE_IN_CLOUD' && /ai\.azure\.com \(AIServices\)/.test(err.message),
    );
  });

  test('a resource shared by services that part ways in the new cloud is refused as ambiguous', () => {
    const alias = (name: string, gov: string): AudienceAlias => ({
      name,
      synonyms: [],
      description: name,
      resources: { AzureCloud: 'https://shared.example', AzureUSGovernment: gov },
      origin: 'wits',
    });
    const aliases = [alias('One', 'https://one.example.us'), alias('Two', 'https://two.example.us')];
    assert.throws(
      () => moveAudiencesToCloud(['https://shared.example'], 'AzureCloud', 'AzureUSGovernment', aliases),
      (err: unknown) => err instanceof WitsError && err.code === 'ERR_INVALID_ARGUMENT' && /One, Two/.test(err.message),
    );
    // Services that agree in the new cloud are no problem.
    assert.deepEqual(moveAudiencesToCloud(['https://shared.example'], 'AzureCloud', 'AzureUSGovernment', [aliases[0] as AudienceAlias, alias('Three', 'https://one.example.us')]), ['https://one.example.us']);
  });
});
