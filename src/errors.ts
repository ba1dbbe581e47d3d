/**
 * Every error wits can report, in one place.
 *
 * Each code is stable (scripts and the client SDK match on it), maps to one HTTP status and one
 * OAuth `error` value, and says whether its message is safe to show to the caller. Messages of
 * 5xx errors are never shown: `toErrorBody` replaces them with a generic sentence.
 *
 * Status choices follow docs/protocols.md section 5: official managed-identity clients do not retry
 * 400/401/403 (and `DefaultAzureCredential` moves on after a 400), retry 404/410/429/5xx, and only
 * wait on 429/503 when `Retry-After` is present. So ordinary bad input is always a 400, never a 404.
 */

export interface ErrorSpec {
  readonly status: number;
  /** Whether the message may reach the caller. Default: 4xx yes, 5xx no. */
  readonly exposed?: boolean;
  /** The OAuth 2.0 `error` value (RFC 6749 section 5.2) that managed-identity clients read. */
  readonly oauth: string;
  readonly summary: string;
}

export const ERROR_CODES = {
  ERR_INVALID_REQUEST: { status: 400, oauth: 'invalid_request', summary: 'The request is malformed (duplicate, missing or unreadable parameters, bad JSON).' },
  ERR_MISSING_AUDIENCE: { status: 400, oauth: 'invalid_request', summary: 'No audience (`resource`, `scope` or `audience`) was given.' },
  ERR_INVALID_AUDIENCE: { status: 400, oauth: 'invalid_resource', summary: 'The audience is not a valid alias, https resource URI, /.default scope, api:// URI or application GUID.' },
  ERR_UNKNOWN_AUDIENCE: { status: 400, oauth: 'invalid_resource', summary: 'The audience looks like an alias but no alias has that name.' },
  ERR_AUDIENCE_UNAVAILABLE_IN_CLOUD: { status: 400, oauth: 'invalid_resource', summary: "The alias has no resource in the workspace's cloud." },
  ERR_UNKNOWN_IDENTITY: { status: 400, oauth: 'invalid_request', summary: 'No identity of the workspace matches the client_id / object_id / mi_res_id selector.' },
  ERR_AMBIGUOUS_IDENTITY: { status: 400, oauth: 'invalid_request', summary: 'More than one identity selector was given.' },
  ERR_METADATA_HEADER_REQUIRED: { status: 400, oauth: 'invalid_request', summary: 'IMDS requests must carry the header `Metadata: true`.' },
  ERR_FORWARDED_REQUEST: { status: 400, oauth: 'invalid_request', summary: 'IMDS refuses requests that carry X-Forwarded-For (SSRF defence).' },
  ERR_INVALID_ARGUMENT: { status: 400, oauth: 'invalid_request', summary: 'An argument of an admin or CLI operation is invalid.' },
  ERR_UNAUTHENTICATED: { status: 401, oauth: 'invalid_client', summary: 'The session secret is missing or wrong.' },
  ERR_SESSION_EXPIRED: { status: 401, oauth: 'invalid_client', summary: 'The session has expired.' },
  ERR_SESSION_REVOKED: { status: 401, oauth: 'invalid_client', summary: 'The session has been revoked.' },
  ERR_ADMIN_UNAUTHENTICATED: { status: 401, oauth: 'invalid_client', summary: 'The admin credential is missing or wrong.' },
  ERR_AUDIENCE_NOT_ALLOWED: { status: 403, oauth: 'access_denied', summary: "The workspace policy or the session's audience list does not allow this audience." },
  ERR_UPSTREAM_REJECTED: { status: 403, oauth: 'access_denied', summary: "The workspace's upstream token source (Entra ID, host managed identity) refused to issue the token; retrying will not help until its configuration is fixed." },
  ERR_NOT_FOUND: { status: 404, oauth: 'not_found', summary: 'No endpoint at this path.' },
  ERR_UNKNOWN_WORKSPACE: { status: 404, oauth: 'invalid_request', summary: 'No workspace has that name.' },
  ERR_UNKNOWN_SESSION: { status: 404, oauth: 'invalid_request', summary: 'No session has that id.' },
  ERR_METHOD_NOT_ALLOWED: { status: 405, oauth: 'invalid_request', summary: 'The endpoint does not accept this HTTP method.' },
  ERR_CONFLICT: { status: 409, oauth: 'invalid_request', summary: 'The object already exists.' },
  ERR_PAYLOAD_TOO_LARGE: { status: 413, oauth: 'invalid_request', summary: 'The request body is too large.' },
  ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, oauth: 'invalid_request', summary: 'The request body must be application/json (or form-encoded for token requests).' },
  ERR_EXPECTATION_FAILED: { status: 417, oauth: 'invalid_request', summary: 'The request carries an Expect header other than 100-continue.' },
  ERR_HEADERS_TOO_LARGE: { status: 431, oauth: 'invalid_request', summary: 'The request line or headers are too large.' },
  // Written for the caller (which upstream failed and how; never a secret): clients show it.
  ERR_SOURCE_UNAVAILABLE: { status: 503, exposed: true, oauth: 'temporarily_unavailable', summary: 'The token source is failing and no valid cached token exists; retry after the indicated time.' },
  ERR_INTERNAL: { status: 500, oauth: 'server_error', summary: 'An unexpected error; details are in the service log, never in the response.' },
  ERR_INVALID_CONFIG: { status: 500, oauth: 'server_error', summary: 'The configuration is invalid (reported at start, never over HTTP).' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Extra, safe-to-show fields that travel with an error to the caller (never tokens or secrets). */
export interface ErrorDetails {
  /** A near-miss suggestion, e.g. the alias closest to a typo. */
  suggestion?: string;
  /** Valid choices, e.g. the list of aliases. */
  choices?: readonly string[];
  /** Seconds after which a retry may succeed (sent as the Retry-After header too). */
  retryAfter?: number;
}

export class WitsError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WitsError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.details = details;
  }

  /** 4xx messages are written for the caller; 5xx messages may hold internals and stay in the log. */
  get exposable(): boolean {
    const spec: ErrorSpec = ERROR_CODES[this.code];
    return spec.exposed ?? this.status < 500;
  }
}

export function isWitsError(value: unknown): value is WitsError {
  return value instanceof WitsError;
}

/** Anything thrown, as a WitsError (unknown errors become ERR_INTERNAL, keeping the cause for the log). */
export function asWitsError(value: unknown): WitsError {
  if (value instanceof WitsError) return value;
  return new WitsError('ERR_INTERNAL', value instanceof Error ? value.message : String(value), {}, { cause: value });
}

export interface ErrorBody {
  error: string;
  error_description: string;
  code: ErrorCode;
  message: string;
  suggestion?: string;
  choices?: readonly string[];
  retry_after?: number;
}

/**
 * The JSON body every endpoint sends for an error. It carries `error` + `error_description`
 * (OAuth, read by MSAL and azure-identity) and `message` (App Service style), so every official
 * client family recognises it (protocols.md section 5), plus wits' stable `code`.
 */
export function toErrorBody(err: WitsError): ErrorBody {
  const spec = ERROR_CODES[err.code];
  const text = err.exposable ? err.message : 'Internal error; the service log has the details.';
  const body: ErrorBody = { error: spec.oauth, error_description: text, code: err.code, message: text };
  if (err.exposable) {
    if (err.details.suggestion !== undefined) body.suggestion = err.details.suggestion;
    if (err.details.choices !== undefined) body.choices = err.details.choices;
  }
  if (err.details.retryAfter !== undefined) body.retry_after = err.details.retryAfter;
  return body;
}
