import { test } from 'node:test';
import assert from 'node:assert/strict';

import { WitsError, type ErrorCode } from '../../src/errors.js';
import { CLOUDS, type Cloud } from '../../src/audiences/cloud.js';
import { ALIAS_NAMES, AUDIENCE_ALIASES } from '../../src/audiences/registry.js';
import { MAX_AUDIENCE_LENGTH, resolveAudience, type ResolvedAudience } from '../../src/audiences/resolve.js';

/** aLtErNaTiNg case, so neither the table's spelling nor a plain upper/lower case is used. */
function alternateCase(text: string): string {
  return [...text].map((ch, i) => (i % 2 === 0 ? ch.toLowerCase() : ch.toUpperCase())).join('');
}

function rejects(input: string, code: ErrorCode, message?: RegExp, cloud: Cloud = 'AzureCloud'): WitsError {
  let caught: unknown;
  try {
    resolveAudience(input, cloud);
  } catch (err) {
    caught = err;
  }
  const shown = JSON.stringify(input.slice(0, 80));
  assert.ok(caught instanceof WitsError, `${shown} should throw a WitsError, got ${String(caught)}`);
  assert.equal(caught.code, code, `${shown}: ${caught.message}`);
  assert.ok(caught.status >= 400 && caught.status < 500);
  assert.ok(caught.message.length < 1000, `${shown}: message is ${caught.message.length} characters`);
  assert.match(caught.message, /^[\x20-\x7e]+$/, `${shown}: message is not one line of printable ASCII`);
  if (message !== undefined) assert.match(caught.message, message, shown);
  return caught;
}

// ---------------------------------------------------------------- aliases, derived from the table

for (const alias of AUDIENCE_ALIASES) {
  test(`alias ${alias.name} and its synonyms resolve in every case, in every cloud it has`, () => {
    for (const key of [alias.name, ...alias.synonyms]) {
      for (const spelling of [key, key.toLowerCase(), key.toUpperCase(), alternateCase(key), ` ${key}\n`]) {
        for (const cloud of CLOUDS) {
          const resource = alias.resources[cloud];
          if (resource === undefined) {
            const err = rejects(spelling, 'ERR_AUDIENCE_UNAVAILABLE_IN_CLOUD', /resource URI/, cloud);
            assert.ok(err.message.includes(alias.name) && err.message.includes(cloud), err.message);
          } else {
            assert.deepEqual(resolveAudience(spelling, cloud), { resource, kind: 'alias', alias: alias.name });
          }
        }
      }
    }
  });
}

// ---------------------------------------------------------------- aliases, written out by hand

const expected: ReadonlyArray<readonly [string, Cloud, string, string]> = [
  ['CognitiveServices', 'AzureCloud', 'https://cognitiveservices.azure.com', 'CognitiveServices'],
  ['CognitiveServices', 'AzureUSGovernment', 'https://cognitiveservices.azure.us', 'CognitiveServices'],
  ['CognitiveServices', 'AzureChinaCloud', 'https://cognitiveservices.azure.cn', 'CognitiveServices'],
  ['OpenAI', 'AzureCloud', 'https://cognitiveservices.azure.com', 'CognitiveServices'],
  ['azureopenai', 'AzureCloud', 'https://cognitiveservices.azure.com', 'CognitiveServices'],
  ['AIServices', 'AzureCloud', 'https://ai.azure.com', 'AIServices'],
  ['Foundry', 'AzureCloud', 'https://ai.azure.com', 'AIServices'],
  ['AIFoundry', 'AzureCloud', 'https://ai.azure.com', 'AIServices'],
  ['Storage', 'AzureCloud', 'https://storage.azure.com', 'Storage'],
  ['Storage', 'AzureUSGovernment', 'https://storage.azure.com', 'Storage'],
  ['storage', 'AzureChinaCloud', 'https://storage.azure.com', 'Storage'],
  ['Vault', 'AzureCloud', 'https://vault.azure.net', 'Vault'],
  ['Vault', 'AzureUSGovernment', 'https://vault.usgovcloudapi.net', 'Vault'],
  ['Vault', 'AzureChinaCloud', 'https://vault.azure.cn', 'Vault'],
  ['keyvault', 'AzureCloud', 'https://vault.azure.net', 'Vault'],
  ['pbi', 'AzureCloud', 'https://analysis.windows.net/powerbi/api', 'PowerBI'],
  ['kusto', 'AzureCloud', 'https://kusto.kusto.windows.net', 'AzureDataExplorer'],
  ['ARM', 'AzureCloud', 'https://management.azure.com', 'AzureManagement'],
  ['sql', 'AzureChinaCloud', 'https://database.chinacloudapi.cn', 'DW'],
  ['DF', 'AzureCloud', 'https://datafactory.azure.net', 'ADF'],
  ['Graph', 'AzureUSGovernment', 'https://graph.microsoft.us', 'Graph'],
  ['Databricks', 'AzureCloud', '2ff814a6-3304-4ab8-85cb-cd0e6f879c1d', 'AzureDatabricks'],
  ['AzureDevOps', 'AzureCloud', '499b84ac-1321-427f-aa17-267ca6975798', 'AzureDevOps'],
];

for (const [input, cloud, resource, alias] of expected) {
  test(`${input} in ${cloud} resolves to ${resource}`, () => {
    assert.deepEqual(resolveAudience(input, cloud), { resource, kind: 'alias', alias });
  });
}

test('AIServices has no sovereign-cloud resource: the error says to pass the resource URI', () => {
  rejects('AIServices', 'ERR_AUDIENCE_UNAVAILABLE_IN_CLOUD', /AIServices.*AzureUSGovernment.*resource URI/, 'AzureUSGovernment');
  rejects('Foundry', 'ERR_AUDIENCE_UNAVAILABLE_IN_CLOUD', /AIServices.*AzureChinaCloud/, 'AzureChinaCloud');
});

// ---------------------------------------------------------------- URIs, scopes, api://, GUIDs

const accepted: ReadonlyArray<readonly [string, ResolvedAudience]> = [
  ['https://cognitiveservices.azure.com', { resource: 'https://cognitiveservices.azure.com', kind: 'uri' }],
  ['https://cognitiveservices.azure.com/', { resource: 'https://cognitiveservices.azure.com', kind: 'uri' }],
  ['https://Storage.Azure.COM/', { resource: 'https://storage.azure.com', kind: 'uri' }],
  ['HTTPS://storage.azure.com', { resource: 'https://storage.azure.com', kind: 'uri' }],
  ['  https://ai.azure.com  \r\n', { resource: 'https://ai.azure.com', kind: 'uri' }],
  ['https://my-account.blob.core.windows.net/', { resource: 'https://my-account.blob.core.windows.net', kind: 'uri' }],
  ['https://Example.COM/Some/Path_1/v2.0~x/', { resource: 'https://example.com/Some/Path_1/v2.0~x', kind: 'uri' }],
  ['https://analysis.windows.net/powerbi/api', { resource: 'https://analysis.windows.net/powerbi/api', kind: 'uri' }],
  ['https://ai.azure.com/.default', { resource: 'https://ai.azure.com', kind: 'scope' }],
  ['https://cognitiveservices.azure.com/.default', { resource: 'https://cognitiveservices.azure.com', kind: 'scope' }],
  ['https://Storage.azure.com/.DEFAULT', { resource: 'https://storage.azure.com', kind: 'scope' }],
  ['https://analysis.windows.net/powerbi/api/.default', { resource: 'https://analysis.windows.net/powerbi/api', kind: 'scope' }],
  // Entra's scope for a resource id ending in '/': resource + '/.default'.
  ['https://database.windows.net//.default', { resource: 'https://database.windows.net', kind: 'scope' }],
  ['api://2FF814A6-3304-4AB8-85CB-CD0E6F879C1D', { resource: 'api://2ff814a6-3304-4ab8-85cb-cd0e6f879c1d', kind: 'app-id-uri' }],
  ['API://contoso.com/MyApi', { resource: 'api://contoso.com/MyApi', kind: 'app-id-uri' }],
  ['api://contoso.com/MyApi/', { resource: 'api://contoso.com/MyApi', kind: 'app-id-uri' }],
  ['api://contoso.com/MyApi/.default', { resource: 'api://contoso.com/MyApi', kind: 'scope' }],
  ['api://11111111-2222-3333-4444-55555555AAAA/.default', { resource: 'api://11111111-2222-3333-4444-55555555aaaa', kind: 'scope' }],
  ['2FF814A6-3304-4AB8-85CB-CD0E6F879C1D', { resource: '2ff814a6-3304-4ab8-85cb-cd0e6f879c1d', kind: 'app-guid' }],
  ['abcdef01-2345-6789-abcd-ef0123456789', { resource: 'abcdef01-2345-6789-abcd-ef0123456789', kind: 'app-guid' }],
  ['2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default', { resource: '2ff814a6-3304-4ab8-85cb-cd0e6f879c1d', kind: 'scope' }],
];

for (const [input, want] of accepted) {
  test(`accepts ${JSON.stringify(input)}`, () => {
    for (const cloud of CLOUDS) assert.deepEqual(resolveAudience(input, cloud), want);
    // The canonical form is a fixed point.
    const again = resolveAudience(want.resource, 'AzureCloud');
    assert.equal(again.resource, want.resource);
  });
}

// ---------------------------------------------------------------- refusals

const refused: ReadonlyArray<readonly [string, ErrorCode, RegExp]> = [
  // missing
  ['', 'ERR_MISSING_AUDIENCE', /No audience/],
  ['   ', 'ERR_MISSING_AUDIENCE', /No audience/],
  ['\t\r\n', 'ERR_MISSING_AUDIENCE', /No audience/],
  // several audiences
  ['https://storage.azure.com/.default https://vault.azure.net/.default', 'ERR_INVALID_AUDIENCE', /exactly one audience/],
  ['Storage Vault', 'ERR_INVALID_AUDIENCE', /exactly one audience/],
  ['Storage\tVault', 'ERR_INVALID_AUDIENCE', /exactly one audience/],
  // schemes
  ['http://storage.azure.com', 'ERR_INVALID_AUDIENCE', /only https:\/\//],
  ['HTTP://storage.azure.com/.default', 'ERR_INVALID_AUDIENCE', /only https:\/\//],
  ['ftp://storage.azure.com', 'ERR_INVALID_AUDIENCE', /scheme 'ftp:'/],
  ['file:///etc/passwd', 'ERR_INVALID_AUDIENCE', /scheme 'file:'/],
  ['javascript:alert(1)', 'ERR_INVALID_AUDIENCE', /scheme 'javascript:'/],
  ['data:text/plain,hello', 'ERR_INVALID_AUDIENCE', /scheme 'data:'/],
  ['urn:ietf:params:oauth', 'ERR_INVALID_AUDIENCE', /scheme 'urn:'/],
  ['wss://storage.azure.com', 'ERR_INVALID_AUDIENCE', /scheme 'wss:'/],
  ['//storage.azure.com', 'ERR_INVALID_AUDIENCE', /https resource URI/],
  ['https:storage.azure.com', 'ERR_INVALID_AUDIENCE', /expected https:\/\/host/],
  ['https:/storage.azure.com', 'ERR_INVALID_AUDIENCE', /expected https:\/\/host/],
  ['https://', 'ERR_INVALID_AUDIENCE', /no host/],
  ['https:///x', 'ERR_INVALID_AUDIENCE', /no host/],
  // userinfo, query, fragment, port, percent-encoding, backslash
  ['https://user:pw@storage.azure.com', 'ERR_INVALID_AUDIENCE', /no user information/],
  ['https://evil.com@storage.azure.com/', 'ERR_INVALID_AUDIENCE', /no user information/],
  ['https://storage.azure.com?x=1', 'ERR_INVALID_AUDIENCE', /query/],
  ['https://storage.azure.com/.default?x', 'ERR_INVALID_AUDIENCE', /query/],
  ['https://storage.azure.com/#frag', 'ERR_INVALID_AUDIENCE', /fragment/],
  ['https://storage.azure.com:443', 'ERR_INVALID_AUDIENCE', /port/],
  ['https://storage.azure.com:443/.default', 'ERR_INVALID_AUDIENCE', /port/],
  ['https://storage.azure.com:/', 'ERR_INVALID_AUDIENCE', /port/],
  ['https://storage.azure.com/%2e%2e/x', 'ERR_INVALID_AUDIENCE', /percent-encoding/],
  ['https://storage%2Eazure.com', 'ERR_INVALID_AUDIENCE', /percent-encoding/],
  ['https://storage.azure.com\\@evil.com', 'ERR_INVALID_AUDIENCE', /backslash/],
  ['https://storage.azure.com\\.default', 'ERR_INVALID_AUDIENCE', /backslash/],
  // IP addresses and single-label or local hosts
  ['https://169.254.169.254', 'ERR_INVALID_AUDIENCE', /IP addresses/],
  ['https://169.254.169.254/metadata/identity/oauth2/token', 'ERR_INVALID_AUDIENCE', /IP addresses/],
  ['https://127.0.0.1/', 'ERR_INVALID_AUDIENCE', /IP addresses/],
  ['https://0x7f.1/', 'ERR_INVALID_AUDIENCE', /IP addresses/],
  ['https://2130706433', 'ERR_INVALID_AUDIENCE', /IP addresses/],
  ['https://[::1]/', 'ERR_INVALID_AUDIENCE', /IP addresses/],
  ['https://[::1]:8080/.default', 'ERR_INVALID_AUDIENCE', /IP addresses/],
  ['https://[fe80::1%25eth0]/', 'ERR_INVALID_AUDIENCE', /percent-encoding|IP addresses/],
  ['https://localhost', 'ERR_INVALID_AUDIENCE', /single-label hosts/],
  ['https://localhost/.default', 'ERR_INVALID_AUDIENCE', /single-label hosts/],
  ['https://metadata/', 'ERR_INVALID_AUDIENCE', /single-label hosts/],
  ['https://wits.localhost/', 'ERR_INVALID_AUDIENCE', /localhost/],
  // malformed host names
  ['https://-bad.example.com', 'ERR_INVALID_AUDIENCE', /not a DNS host name/],
  ['https://bad-.example.com', 'ERR_INVALID_AUDIENCE', /not a DNS host name/],
  ['https://under_score.example.com', 'ERR_INVALID_AUDIENCE', /not a DNS host name/],
  ['https://storage..azure.com', 'ERR_INVALID_AUDIENCE', /not a DNS host name/],
  ['https://storage.azure.com.', 'ERR_INVALID_AUDIENCE', /not a DNS host name/],
  [`https://${'a'.repeat(64)}.example.com`, 'ERR_INVALID_AUDIENCE', /not a DNS host name/],
  [`https://${Array.from({ length: 50 }, () => 'abcde').join('.')}.com`, 'ERR_INVALID_AUDIENCE', /not a DNS host name/],
  ['https://exa!mple.com', 'ERR_INVALID_AUDIENCE', /not a DNS host name/],
  // paths
  ['https://storage.azure.com/../x', 'ERR_INVALID_AUDIENCE', /dot segments/],
  ['https://storage.azure.com/a/./b', 'ERR_INVALID_AUDIENCE', /dot segments/],
  ['https://storage.azure.com/a/..', 'ERR_INVALID_AUDIENCE', /dot segments/],
  ['https://storage.azure.com//x', 'ERR_INVALID_AUDIENCE', /empty path segments/],
  ['https://storage.azure.com//', 'ERR_INVALID_AUDIENCE', /empty path segments/],
  ['https://storage.azure.com///.default', 'ERR_INVALID_AUDIENCE', /empty path segments/],
  ['https://storage.azure.com/a;b', 'ERR_INVALID_AUDIENCE', /path segments may contain only/],
  ['https://storage.azure.com/a:b', 'ERR_INVALID_AUDIENCE', /path segments may contain only/],
  ['https://storage.azure.com/.default/.default', 'ERR_INVALID_AUDIENCE', /may only end a scope/],
  // api://
  ['api://', 'ERR_INVALID_AUDIENCE', /nothing follows api:\/\//],
  ['api://.default', 'ERR_INVALID_AUDIENCE', /nothing follows api:\/\//],
  ['api:contoso', 'ERR_INVALID_AUDIENCE', /expected api:\/\/app-id/],
  ['api://contoso.com/../x', 'ERR_INVALID_AUDIENCE', /dot segments/],
  ['api://contoso.com//x', 'ERR_INVALID_AUDIENCE', /empty path segments/],
  ['api://user@contoso.com', 'ERR_INVALID_AUDIENCE', /no user information/],
  ['api://contoso.com:8080', 'ERR_INVALID_AUDIENCE', /path segments may contain only/],
  // control and non-ASCII characters
  ['Storage\u0000', 'ERR_INVALID_AUDIENCE', /control character U\+0000/],
  ['Sto\u0007rage', 'ERR_INVALID_AUDIENCE', /control character U\+0007/],
  ['\u001b[31mStorage', 'ERR_INVALID_AUDIENCE', /control character U\+001B/],
  ['https://storage.azure.com/\u007f', 'ERR_INVALID_AUDIENCE', /control character U\+007F/],
  ['c\u043Egnitiveservices', 'ERR_INVALID_AUDIENCE', /non-ASCII characters are not allowed/],
  ['https://storage.azure.c\u043Em', 'ERR_INVALID_AUDIENCE', /non-ASCII characters are not allowed/],
  ['Storage\u00a0', 'ERR_INVALID_AUDIENCE', /non-ASCII characters are not allowed/],
  ['\ufeffStorage', 'ERR_INVALID_AUDIENCE', /non-ASCII characters are not allowed/],
  ['Vault\u200b', 'ERR_INVALID_AUDIENCE', /non-ASCII characters are not allowed/],
  ['\ud83d\ude00', 'ERR_INVALID_AUDIENCE', /U\+1F600/],
  ['\ud800', 'ERR_INVALID_AUDIENCE', /non-ASCII/],
  // size
  ['x'.repeat(20_000), 'ERR_INVALID_AUDIENCE', /too long/],
  [`https://storage.azure.com/${'a'.repeat(MAX_AUDIENCE_LENGTH)}`, 'ERR_INVALID_AUDIENCE', /too long/],
  [' '.repeat(MAX_AUDIENCE_LENGTH + 1), 'ERR_INVALID_AUDIENCE', /too long/],
  // other garbage
  ['Storage/.default', 'ERR_INVALID_AUDIENCE', /not valid/],
  ['Storage,Vault', 'ERR_INVALID_AUDIENCE', /not valid/],
  ['<script>', 'ERR_INVALID_AUDIENCE', /not valid/],
  ['1234', 'ERR_INVALID_AUDIENCE', /not valid/],
  ['2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/x', 'ERR_INVALID_AUDIENCE', /not valid/],
  ['_Storage', 'ERR_INVALID_AUDIENCE', /not valid/],
  [`A${'b'.repeat(64)}`, 'ERR_INVALID_AUDIENCE', /not valid/],
  // unknown aliases
  ['NoSuchAlias', 'ERR_UNKNOWN_AUDIENCE', /Unknown audience 'NoSuchAlias'/],
  ['zzzzzzzz-0000-0000-0000-000000000000', 'ERR_UNKNOWN_AUDIENCE', /Unknown audience/],
];

for (const [input, code, message] of refused) {
  test(`refuses ${JSON.stringify(input.length > 60 ? `${input.slice(0, 60)}...` : input)} with ${code}`, () => {
    rejects(input, code, message);
  });
}

test('a 20 kB input is not echoed: the message shows at most 64 characters of it', () => {
  const err = rejects(`${'y'.repeat(20_000)}`, 'ERR_INVALID_AUDIENCE');
  assert.ok(!err.message.includes('y'.repeat(65)));
  assert.match(err.message, /first 64 of 20000 characters/);
});

test('control and non-ASCII characters are escaped in messages', () => {
  const err = rejects('St\u043Erage\u0000\n', 'ERR_INVALID_AUDIENCE');
  assert.ok(err.message.includes("'St\\u043Erage\\u0000'"), err.message);
  const quoteErr = rejects("ftp://it's", 'ERR_INVALID_AUDIENCE');
  assert.ok(quoteErr.message.includes("'ftp://it\\u0027s'"), quoteErr.message);
});

test('a Cyrillic look-alike gets the alias it imitates as a suggestion', () => {
  const err = rejects('c\u043Egnitiveservices', 'ERR_INVALID_AUDIENCE', /Did you mean 'CognitiveServices'\?/);
  assert.equal(err.details.suggestion, 'CognitiveServices');
  const uri = rejects('https://\u0430i.azure.com/.default', 'ERR_INVALID_AUDIENCE');
  assert.equal(uri.details.suggestion, 'https://ai.azure.com/.default');
});

test('a host without a scheme gets the https URI as a suggestion', () => {
  const err = rejects('storage.azure.com', 'ERR_INVALID_AUDIENCE', /Did you mean 'https:\/\/storage.azure.com'\?/);
  assert.equal(err.details.suggestion, 'https://storage.azure.com');
  assert.equal(rejects('169.254.169.254', 'ERR_INVALID_AUDIENCE').details.suggestion, undefined);
});

test('unknown alias: did-you-mean suggestion, choices and the alias list in the message', () => {
  const err = rejects('CognitivServices', 'ERR_UNKNOWN_AUDIENCE');
  assert.equal(
    err.message,
    `Unknown audience 'CognitivServices'. Did you mean 'CognitiveServices'? Use an alias (${ALIAS_NAMES.join(', ')}), ` +
      'an https resource URI or a /.default scope.',
  );
  assert.equal(err.details.suggestion, 'CognitiveServices');
  assert.deepEqual(err.details.choices, ALIAS_NAMES);

  assert.equal(rejects('Vualt', 'ERR_UNKNOWN_AUDIENCE').details.suggestion, 'Vault');
  assert.equal(rejects('stroage', 'ERR_UNKNOWN_AUDIENCE').details.suggestion, 'Storage');
  assert.equal(rejects('AzureOpenAl', 'ERR_UNKNOWN_AUDIENCE').details.suggestion, 'CognitiveServices');
  const none = rejects('Blobby', 'ERR_UNKNOWN_AUDIENCE');
  assert.equal(none.details.suggestion, undefined);
  assert.doesNotMatch(none.message, /Did you mean/);
  assert.deepEqual(none.details.choices, ALIAS_NAMES);
});

test('results are memoised, frozen and per cloud', () => {
  const first = resolveAudience('Vault', 'AzureCloud');
  assert.equal(resolveAudience('Vault', 'AzureCloud'), first);
  assert.ok(Object.isFrozen(first));
  assert.equal(resolveAudience('Vault', 'AzureChinaCloud').resource, 'https://vault.azure.cn');
  assert.equal(resolveAudience('Vault', 'AzureCloud').resource, 'https://vault.azure.net');
});

test('the memo stays bounded and correct past 10,000 distinct inputs', () => {
  for (let i = 0; i < 25_000; i++) {
    const guid = `00000000-0000-0000-0000-${i.toString(16).padStart(12, '0')}`;
    assert.equal(resolveAudience(guid, 'AzureUSGovernment').resource, guid);
  }
  assert.equal(resolveAudience('Storage', 'AzureUSGovernment').resource, 'https://storage.azure.com');
});

test('errors are not memoised: the same bad input throws every time', () => {
  rejects('NoSuchAlias', 'ERR_UNKNOWN_AUDIENCE');
  rejects('NoSuchAlias', 'ERR_UNKNOWN_AUDIENCE');
});

test('a cloud that does not exist and a non-string audience are refused', () => {
  assert.throws(
    () => resolveAudience('Storage', 'AzureGermanCloud' as Cloud),
    (err: unknown) => err instanceof WitsError && err.code === 'ERR_INVALID_ARGUMENT',
  );
  for (const value of [undefined, null, 42, ['Storage'], { resource: 'Storage' }]) {
    assert.throws(
      () => resolveAudience(value as unknown as string, 'AzureCloud'),
      (err: unknown) => err instanceof WitsError && err.code === 'ERR_INVALID_AUDIENCE',
    );
  }
});
