/**
 * A throwaway PKI made with the `openssl` CLI at test time, in a temp directory (no key file is
 * ever committed): a test CA, a server certificate for 127.0.0.1 (subjectAltName IP:127.0.0.1) for
 * the HTTPS Entra stand-in, and a self-signed client certificate for the entra-certificate source.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestPki {
  readonly dir: string;
  /** The CA certificate: give it to wits as NODE_EXTRA_CA_CERTS. */
  readonly caFile: string;
  readonly serverKeyPem: string;
  readonly serverCertPem: string;
  /** PEM bundle (private key + certificate) for `--certificate-file`. */
  readonly clientBundleFile: string;
  readonly clientCertPem: string;
  readonly clientKeyPem: string;
  /** base64url of the SHA-256 of the client certificate's DER (the `x5t#S256` header value). */
  readonly clientX5tS256: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makeTestPki(dir: string): TestPki {
  const subj = (cn: string) => ['-subj', `/CN=${cn}`];
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', ...subj('wits test CA'),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', ...subj('127.0.0.1')]);
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n');
  openssl(dir, ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext']);
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.pem', '-days', '2', ...subj('wits test service principal')]);
  const clientKeyPem = readFileSync(join(dir, 'client.key'), 'utf8');
  const clientCertPem = readFileSync(join(dir, 'client.pem'), 'utf8');
  const clientBundleFile = join(dir, 'client-bundle.pem');
  writeFileSync(clientBundleFile, clientKeyPem + clientCertPem, { mode: 0o600 });
  const der = new X509Certificate(clientCertPem).raw;
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    serverKeyPem: readFileSync(join(dir, 'server.key'), 'utf8'),
    serverCertPem: readFileSync(join(dir, 'server.pem'), 'utf8'),
    clientBundleFile,
    clientCertPem,
    clientKeyPem,
    clientX5tS256: createHash('sha256').update(der).digest('base64url'),
  };
}

/** The base64 body lines of a PEM (what a leak of the key would contain), each long enough to be unique. */
export function pemBodyLines(pem: string): string[] {
  return pem
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('-----') && l.length >= 40);
}

/** The whole base64 body of a PEM, joined without line breaks. */
export function pemBody(pem: string): string {
  return pem
    .split('\n')
    .filter((l) => !l.startsWith('-----'))
    .join('')
    .trim();
}
