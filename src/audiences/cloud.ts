/** The Azure clouds wits knows. An alias resolves to the resource of the workspace's cloud. */
export const CLOUDS = ['AzureCloud', 'AzureUSGovernment', 'AzureChinaCloud'] as const;

export type Cloud = (typeof CLOUDS)[number];

export function isCloud(value: unknown): value is Cloud {
  return typeof value === 'string' && (CLOUDS as readonly string[]).includes(value);
}

/** Entra ID authority host per cloud (protocols.md section 6). */
export const AUTHORITY_HOSTS: Readonly<Record<Cloud, string>> = {
  AzureCloud: 'https://login.microsoftonline.com',
  AzureUSGovernment: 'https://login.microsoftonline.us',
  AzureChinaCloud: 'https://login.chinacloudapi.cn',
};
