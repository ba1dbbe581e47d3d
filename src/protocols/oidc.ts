/** OIDC discovery and JWKS of the local issuer, public (verifiers and Entra ID fetch them). */
import type { ServerResponse } from 'node:http';
import { discoveryDocument, jwksDocument } from '../issuer/discovery.js';
import type { LocalIssuer } from '../issuer/localIssuer.js';

export class OidcDocuments {
  readonly discoveryText: string;
  readonly jwksText: string;

  constructor(issuer: LocalIssuer) {
    const algs = issuer.keys.publicJwks.map((k) => String(k.alg));
    this.discoveryText = JSON.stringify(discoveryDocument(issuer.issuer, algs));
    this.jwksText = JSON.stringify(jwksDocument(issuer.keys.publicJwks));
  }

  send(res: ServerResponse, text: string): void {
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      // Public documents: verifiers may cache them briefly.
      'cache-control': 'public, max-age=300',
    });
    res.end(text);
  }
}
