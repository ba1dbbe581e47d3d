/**
 * The audience alias table: the single source of truth for every alias wits knows.
 *
 * The resolver (`resolve.ts`), the CLI (`wits audiences`), error messages (the alias list and the
 * "did you mean" suggestion) and the README table all read this array; nothing else may hard-code an
 * alias or its resource. To add an alias, add one entry here (a test checks that names and synonyms
 * stay unique case-insensitively and that every resource is canonical).
 *
 * Where the names come from (docs/protocols.md section 7):
 * - `origin: 'synapse'`: the aliases Synapse `mssparkutils.credentials.getToken` documents, with the
 *   same resources, so notebooks moved from Synapse keep working unchanged.
 * - `origin: 'fabric'`: Fabric `notebookutils.credentials.getToken` short keys. Fabric's `storage`,
 *   `keyvault` and `kusto` map to Synapse aliases (as the alias itself or a synonym), so only `pbi`
 *   needs an alias of its own (PowerBI).
 * - `origin: 'wits'`: audiences notebook users commonly need that neither product has an alias for
 *   (Azure OpenAI / Cognitive Services and Azure AI Foundry above all).
 *
 * Sovereign clouds: a resource is listed for AzureUSGovernment / AzureChinaCloud only where it is
 * known for certain. A missing cloud is deliberate: the resolver then answers
 * ERR_AUDIENCE_UNAVAILABLE_IN_CLOUD and tells the user to pass the resource URI, which is better than
 * minting a token for a guessed audience.
 *
 * Resources are stored canonical, in the form `resolveAudience` produces for the same URI: lower
 * case, no trailing slash (`https://database.windows.net`, not `https://database.windows.net/`), or a
 * lower-case application GUID for services whose Entra resource is an app id.
 */

import type { Cloud } from './cloud.js';

export interface AudienceAlias {
  /** Canonical alias name, as shown in lists and returned as `ResolvedAudience.alias`. */
  readonly name: string;
  /** Other names accepted for the same alias (matched case-insensitively, like `name`). */
  readonly synonyms: readonly string[];
  /** One line for humans (CLI listing, README). */
  readonly description: string;
  /** The Entra resource per cloud; a cloud left out has no known resource for this service. */
  readonly resources: Readonly<Partial<Record<Cloud, string>>>;
  /** Which product introduced the name (see the module comment). */
  readonly origin: 'synapse' | 'fabric' | 'wits';
}

function alias(spec: AudienceAlias): AudienceAlias {
  return Object.freeze({
    ...spec,
    synonyms: Object.freeze([...spec.synonyms]),
    resources: Object.freeze({ ...spec.resources }),
  });
}

export const AUDIENCE_ALIASES: readonly AudienceAlias[] = Object.freeze([
  // --- Synapse mssparkutils aliases (protocols.md section 7), in the documented order ---
  alias({
    name: 'Storage',
    synonyms: [],
    description: 'Azure Storage: Blob, ADLS Gen2, Queue, Table, Files (Fabric key `storage`)',
    resources: {
      AzureCloud: 'https://storage.azure.com',
      AzureUSGovernment: 'https://storage.azure.com',
      AzureChinaCloud: 'https://storage.azure.com',
    },
    origin: 'synapse',
  }),
  alias({
    name: 'Vault',
    synonyms: ['KeyVault'],
    description: 'Azure Key Vault (Fabric key `keyvault`)',
    resources: {
      AzureCloud: 'https://vault.azure.net',
      AzureUSGovernment: 'https://vault.usgovcloudapi.net',
      AzureChinaCloud: 'https://vault.azure.cn',
    },
    origin: 'synapse',
  }),
  alias({
    name: 'AzureManagement',
    synonyms: ['ARM'],
    description: 'Azure Resource Manager (management plane)',
    resources: {
      AzureCloud: 'https://management.azure.com',
      AzureUSGovernment: 'https://management.usgovcloudapi.net',
      AzureChinaCloud: 'https://management.chinacloudapi.cn',
    },
    origin: 'synapse',
  }),
  alias({
    name: 'DW',
    synonyms: ['SQL', 'AzureSQL'],
    description: 'Azure SQL Database, SQL Managed Instance, Synapse dedicated SQL pools',
    resources: {
      AzureCloud: 'https://database.windows.net',
      AzureUSGovernment: 'https://database.usgovcloudapi.net',
      AzureChinaCloud: 'https://database.chinacloudapi.cn',
    },
    origin: 'synapse',
  }),
  alias({
    name: 'Synapse',
    synonyms: [],
    description: 'Azure Synapse Analytics workspace development endpoint',
    resources: {
      AzureCloud: 'https://dev.azuresynapse.net',
      AzureUSGovernment: 'https://dev.azuresynapse.usgovcloudapi.net',
      AzureChinaCloud: 'https://dev.azuresynapse.azure.cn',
    },
    origin: 'synapse',
  }),
  alias({
    name: 'DataLakeStore',
    synonyms: [],
    description: 'Azure Data Lake Storage Gen1',
    // Gen1 was retired; its sovereign-cloud resources are not documented with certainty.
    resources: { AzureCloud: 'https://datalake.azure.net' },
    origin: 'synapse',
  }),
  alias({
    name: 'ADF',
    synonyms: ['DF'],
    description: 'Azure Data Factory',
    resources: { AzureCloud: 'https://datafactory.azure.net' },
    origin: 'synapse',
  }),
  alias({
    name: 'AzureDataExplorer',
    synonyms: ['Kusto'],
    description: 'Azure Data Explorer (Kusto) and Fabric Eventhouse (Fabric key `kusto`)',
    resources: {
      AzureCloud: 'https://kusto.kusto.windows.net',
      AzureUSGovernment: 'https://kusto.kusto.usgovcloudapi.net',
      AzureChinaCloud: 'https://kusto.kusto.chinacloudapi.cn',
    },
    origin: 'synapse',
  }),
  alias({
    name: 'AzureOSSDB',
    synonyms: [],
    description: 'Azure Database for PostgreSQL and MySQL (Entra authentication)',
    resources: {
      AzureCloud: 'https://ossrdbms-aad.database.windows.net',
      AzureUSGovernment: 'https://ossrdbms-aad.database.usgovcloudapi.net',
      AzureChinaCloud: 'https://ossrdbms-aad.database.chinacloudapi.cn',
    },
    origin: 'synapse',
  }),

  // --- Fabric notebookutils short key with no Synapse counterpart ---
  alias({
    name: 'PowerBI',
    synonyms: ['pbi'],
    description: 'Power BI REST API (Fabric key `pbi`)',
    resources: {
      AzureCloud: 'https://analysis.windows.net/powerbi/api',
      AzureUSGovernment: 'https://analysis.usgovcloudapi.net/powerbi/api',
      AzureChinaCloud: 'https://analysis.chinacloudapi.cn/powerbi/api',
    },
    origin: 'fabric',
  }),

  // --- wits additions: audiences notebooks need that neither Synapse nor Fabric names ---
  alias({
    name: 'CognitiveServices',
    synonyms: ['AzureOpenAI', 'OpenAI', 'AzureCognitiveServices'],
    description: 'Azure OpenAI and Azure AI services (Cognitive Services)',
    resources: {
      AzureCloud: 'https://cognitiveservices.azure.com',
      AzureUSGovernment: 'https://cognitiveservices.azure.us',
      AzureChinaCloud: 'https://cognitiveservices.azure.cn',
    },
    origin: 'wits',
  }),
  alias({
    name: 'AIServices',
    synonyms: ['AzureAIServices', 'AIFoundry', 'Foundry'],
    description: 'Azure AI Foundry (projects, agents, model inference)',
    resources: { AzureCloud: 'https://ai.azure.com' },
    origin: 'wits',
  }),
  alias({
    name: 'Graph',
    synonyms: ['MicrosoftGraph'],
    description: 'Microsoft Graph',
    resources: {
      AzureCloud: 'https://graph.microsoft.com',
      AzureUSGovernment: 'https://graph.microsoft.us',
      AzureChinaCloud: 'https://microsoftgraph.chinacloudapi.cn',
    },
    origin: 'wits',
  }),
  alias({
    name: 'Fabric',
    synonyms: ['MicrosoftFabric'],
    description: 'Microsoft Fabric REST API',
    resources: { AzureCloud: 'https://api.fabric.microsoft.com' },
    origin: 'wits',
  }),
  alias({
    name: 'EventHubs',
    synonyms: ['EventHub'],
    description: 'Azure Event Hubs',
    resources: { AzureCloud: 'https://eventhubs.azure.net' },
    origin: 'wits',
  }),
  alias({
    name: 'ServiceBus',
    synonyms: [],
    description: 'Azure Service Bus',
    resources: { AzureCloud: 'https://servicebus.azure.net' },
    origin: 'wits',
  }),
  alias({
    name: 'CosmosDB',
    synonyms: ['Cosmos'],
    description: 'Azure Cosmos DB data plane',
    resources: { AzureCloud: 'https://cosmos.azure.com' },
    origin: 'wits',
  }),
  alias({
    name: 'AzureML',
    synonyms: ['MachineLearning', 'AzureMachineLearning'],
    description: 'Azure Machine Learning',
    resources: { AzureCloud: 'https://ml.azure.com' },
    origin: 'wits',
  }),
  alias({
    name: 'AppConfiguration',
    synonyms: ['AppConfig'],
    description: 'Azure App Configuration',
    resources: { AzureCloud: 'https://azconfig.io' },
    origin: 'wits',
  }),
  alias({
    name: 'LogAnalytics',
    synonyms: [],
    description: 'Azure Monitor Log Analytics query API',
    resources: { AzureCloud: 'https://api.loganalytics.io' },
    origin: 'wits',
  }),
  alias({
    name: 'AzureMonitor',
    synonyms: ['Monitor'],
    description: 'Azure Monitor (metrics and logs ingestion)',
    resources: { AzureCloud: 'https://monitor.azure.com' },
    origin: 'wits',
  }),
  alias({
    name: 'ContainerRegistry',
    synonyms: ['ACR'],
    description: 'Azure Container Registry',
    resources: { AzureCloud: 'https://containerregistry.azure.net' },
    origin: 'wits',
  }),
  alias({
    name: 'Batch',
    synonyms: ['AzureBatch'],
    description: 'Azure Batch',
    resources: { AzureCloud: 'https://batch.core.windows.net' },
    origin: 'wits',
  }),
  alias({
    name: 'Purview',
    synonyms: ['MicrosoftPurview'],
    description: 'Microsoft Purview data plane',
    resources: { AzureCloud: 'https://purview.azure.net' },
    origin: 'wits',
  }),
  alias({
    name: 'AzureDatabricks',
    synonyms: ['Databricks'],
    description: 'Azure Databricks (the Entra resource is its first-party application id)',
    resources: { AzureCloud: '2ff814a6-3304-4ab8-85cb-cd0e6f879c1d' },
    origin: 'wits',
  }),
  alias({
    name: 'AzureDevOps',
    synonyms: ['DevOps', 'ADO'],
    description: 'Azure DevOps (the Entra resource is its first-party application id)',
    resources: { AzureCloud: '499b84ac-1321-427f-aa17-267ca6975798' },
    origin: 'wits',
  }),
]);

/** The canonical alias names, in table order (for error messages and `details.choices`). */
export const ALIAS_NAMES: readonly string[] = Object.freeze(AUDIENCE_ALIASES.map((a) => a.name));

/** Every name an alias is accepted under (canonical names first, then synonyms), in table order. */
export const ALIAS_LOOKUP_NAMES: readonly string[] = Object.freeze([
  ...ALIAS_NAMES,
  ...AUDIENCE_ALIASES.flatMap((a) => a.synonyms),
]);

/**
 * Lower-cased name or synonym -> alias, built once so a lookup on the token hot path is one Map
 * probe. Building it fails loudly at import if two aliases share a name, so a bad edit of the table
 * cannot ship silently.
 */
const BY_LOWER_NAME: ReadonlyMap<string, AudienceAlias> = (() => {
  const map = new Map<string, AudienceAlias>();
  for (const entry of AUDIENCE_ALIASES) {
    for (const key of [entry.name, ...entry.synonyms]) {
      const lower = key.toLowerCase();
      const existing = map.get(lower);
      if (existing !== undefined) {
        throw new Error(`audience alias table: '${key}' of ${entry.name} clashes with ${existing.name}`);
      }
      map.set(lower, entry);
    }
  }
  return map;
})();

/**
 * Alias names are plain ASCII. Checking before lower-casing matters: `toLowerCase` folds some
 * non-ASCII look-alikes onto ASCII (the Kelvin sign U+212A becomes `k`), which would let
 * `\u212Austo` match `Kusto`.
 */
const NAME_SYNTAX = /^[A-Za-z0-9_-]{1,64}$/;

/** The alias whose name or synonym equals `name`, ignoring case (ASCII only). */
export function findAlias(name: string): AudienceAlias | undefined {
  if (!NAME_SYNTAX.test(name)) return undefined;
  return BY_LOWER_NAME.get(name.toLowerCase());
}
