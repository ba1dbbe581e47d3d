/**
 * `entra-certificate`: a service principal's certificate (migration from today's setups). The PEM
 * (private key + certificate) is read from the file or environment variable named in the config at
 * each exchange, never stored in the database, never logged.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { WitsError } from '../errors.js';
import { exchangeClientCredentials } from './entraClient.js';
import { readMaterial, type MaterialLocation } from './secretMaterial.js';
import type { SourceToken, SourceTokenRequest, TokenSource } from './tokenSource.js';

export interface EntraCertificateOptions {
  readonly tenantId: string;
  readonly clientId: string;
  readonly authority: string;
  readonly certificate: MaterialLocation;
}

export interface LoadedCertificate {
  readonly privateKey: string;
  readonly thumbprintSha256: string;
  readonly x5c: string;
}

/** Parses a PEM bundle holding one private key and its certificate. */
export function loadCertificate(pem: string, code: 'ERR_INVALID_ARGUMENT' | 'ERR_UPSTREAM_REJECTED'): LoadedCertificate {
  const keyMatch = /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC )?PRIVATE KEY-----/.exec(pem);
  const certMatch = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  if (keyMatch === null || certMatch === null) {
    throw new WitsError(code, 'The certificate PEM must hold a private key and a certificate.');
  }
  try {
    const cert = new X509Certificate(certMatch[0]);
    // MSAL wants PKCS#8 ("BEGIN PRIVATE KEY").
    const privateKey = createPrivateKey(keyMatch[0]).export({ format: 'pem', type: 'pkcs8' }).toString();
    return { privateKey, thumbprintSha256: cert.fingerprint256.replace(/:/g, '').toLowerCase(), x5c: certMatch[0] };
  } catch {
    throw new WitsError(code, 'The certificate PEM could not be parsed.');
  }
}

export class EntraCertificateTokenSource implements TokenSource {
  readonly kind = 'entra-certificate';
  readonly #options: EntraCertificateOptions;
  readonly #attemptTimeoutMs: number;

  constructor(options: EntraCertificateOptions, attemptTimeoutMs: number) {
    this.#options = options;
    this.#attemptTimeoutMs = attemptTimeoutMs;
  }

  async getToken(request: SourceTokenRequest): Promise<SourceToken> {
    if (request.identity.kind !== 'system') {
      throw new WitsError('ERR_UNKNOWN_IDENTITY', 'The entra-certificate source serves only the workspace system identity (its service principal).');
    }
    const cert = loadCertificate(readMaterial(this.#options.certificate, 'certificate'), 'ERR_UPSTREAM_REJECTED');
    return exchangeClientCredentials({
      authority: this.#options.authority,
      tenantId: this.#options.tenantId,
      clientId: this.#options.clientId,
      resource: request.resource,
      credential: { clientCertificate: cert },
      attemptTimeoutMs: this.#attemptTimeoutMs,
    });
  }
}
