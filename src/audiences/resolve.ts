/**
 * Audience resolution: what a caller sent as `resource`, `scope` or `audience` -> one canonical
 * resource for the workspace's cloud (docs/design.md, "Request path").
 *
 * Accepted forms, and nothing else:
 * - an alias or synonym from the alias table (`registry.ts`), any case: `CognitiveServices`, `pbi`;
 * - an https resource URI: `https://cognitiveservices.azure.com/`;
 * - a scope, i.e. one of the above URIs (or an api:// URI, or a GUID) followed by `/.default`;
 * - an application ID URI: `api://<app-id>[/path]`;
 * - a bare application GUID: `2ff814a6-3304-4ab8-85cb-cd0e6f879c1d`.
 *
 * URIs are parsed by hand, strictly, rather than through WHATWG `URL` alone: `URL` silently
 * normalises what it is given (`https://0x7f.1` becomes `https://127.0.0.1`, `\` becomes `/`,
 * percent-escapes and dot segments are rewritten), so two different strings could name one audience
 * and a policy written against the canonical form could be sidestepped. `URL` is used afterwards as
 * a second check that both parsers agree.
 *
 * Error messages echo the input, but truncated and with every control or non-ASCII character
 * escaped, so they stay short, single-line and safe to log and display.
 */

import { WitsError, type ErrorDetails } from '../errors.js';
import { CLOUDS, type Cloud } from './cloud.js';
import { closestName } from './didYouMean.js';
import { ALIAS_LOOKUP_NAMES, ALIAS_NAMES, findAlias } from './registry.js';

export type AudienceKind = 'alias' | 'uri' | 'scope' | 'app-id-uri' | 'app-guid';

export interface ResolvedAudience {
  /** The canonical resource: `https://host[/path]`, `api://...` or a lower-case GUID. */
  readonly resource: string;
  /** The form the caller used. */
  readonly kind: AudienceKind;
  /** The canonical alias name when `kind` is 'alias'. */
  readonly alias?: string;
}

/** Longest accepted input. Real audiences are far shorter; this bounds all later work. */
export const MAX_AUDIENCE_LENGTH = 512;

/** How much of a rejected input an error message shows. */
const ECHO_LIMIT = 64;

/** Entries per cloud before the memo is dropped and rebuilt (bounds memory under hostile input). */
const MEMO_LIMIT = 10_000;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const GUID_SCOPE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/\.default$/i;
const ALIAS_SYNTAX = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
/** RFC 3986 section 3.1. */
const SCHEME_SYNTAX = /^[A-Za-z][A-Za-z0-9+.-]*$/;
/** RFC 1123 host label, lower case (the host is lower-cased before the check). */
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const TOP_LEVEL_LABEL = /^[a-z]+$/;
/** RFC 3986 unreserved characters only: no sub-delimiters, no percent-escapes. */
const PATH_SEGMENT = /^[A-Za-z0-9._~-]+$/;
const SCOPE_SUFFIX = '.default';

const ACCEPTED_FORMS =
  "Use an alias name, an https resource URI (https://host/path), a /.default scope " +
  '(https://host/path/.default), an api:// application ID URI or an application GUID.';

const MEMO: ReadonlyMap<Cloud, Map<string, ResolvedAudience>> = new Map(
  CLOUDS.map((cloud) => [cloud, new Map<string, ResolvedAudience>()]),
);

/**
 * The canonical resource for `input` in `cloud`. Throws a WitsError (always a 400) when the input
 * is missing, malformed, an unknown alias, or an alias with no resource in that cloud.
 */
export function resolveAudience(input: string, cloud: Cloud): ResolvedAudience {
  const memo = MEMO.get(cloud);
  if (memo === undefined) {
    throw new WitsError('ERR_INVALID_ARGUMENT', `Unknown cloud ${quote(String(cloud))}; expected one of ${CLOUDS.join(', ')}.`);
  }
  // Callers hand over parsed JSON or query values; anything but a string is a malformed audience.
  if (typeof input !== 'string') {
    throw new WitsError('ERR_INVALID_AUDIENCE', `The audience must be a string. ${ACCEPTED_FORMS}`);
  }
  if (input.length > MAX_AUDIENCE_LENGTH) {
    throw new WitsError(
      'ERR_INVALID_AUDIENCE',
      `Audience ${quote(input)} is too long: the limit is ${MAX_AUDIENCE_LENGTH} characters.`,
    );
  }
  const known = memo.get(input);
  if (known !== undefined) return known;
  const resolved = resolveUncached(input, cloud);
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(input, resolved);
  return resolved;
}

function resolveUncached(input: string, cloud: Cloud): ResolvedAudience {
  const text = trimAsciiWhitespace(input);
  if (text.length === 0) {
    throw new WitsError(
      'ERR_MISSING_AUDIENCE',
      `No audience was given: pass it as \`resource\`, \`scope\` or \`audience\`. ${ACCEPTED_FORMS}`,
    );
  }
  checkCharacters(text);
  return resolveAscii(text, cloud);
}

/** Resolution of a trimmed, non-empty string of printable ASCII without whitespace. */
function resolveAscii(text: string, cloud: Cloud): ResolvedAudience {
  if (GUID.test(text)) return result(text.toLowerCase(), 'app-guid');
  const guidScope = GUID_SCOPE.exec(text);
  if (guidScope !== null) return result((guidScope[1] ?? '').toLowerCase(), 'scope');
  if (ALIAS_SYNTAX.test(text)) return resolveAlias(text, cloud);

  const colon = text.indexOf(':');
  if (colon > 0 && SCHEME_SYNTAX.test(text.slice(0, colon))) {
    const scheme = text.slice(0, colon).toLowerCase();
    if (scheme === 'https') return parseHttps(text);
    if (scheme === 'api') return parseAppIdUri(text);
    if (scheme === 'http') {
      throw invalid(`Audience ${quote(text)} uses http://; only https:// resource URIs are allowed.`);
    }
    throw invalid(
      `Audience ${quote(text)} uses the scheme ${quote(scheme + ':')}; only https:// resource URIs ` +
        `and api:// application ID URIs are allowed. ${ACCEPTED_FORMS}`,
    );
  }

  // A host name without a scheme (`storage.azure.com`) is a common slip: suggest the https URI.
  const withScheme = `https://${text}`;
  if (/^[A-Za-z0-9]/.test(text) && text.includes('.') && wouldResolve(withScheme, cloud)) {
    throw invalid(`Audience ${quote(text)} is not valid. Did you mean ${quote(withScheme)}? ${ACCEPTED_FORMS}`, {
      suggestion: withScheme,
    });
  }
  throw invalid(`Audience ${quote(text)} is not valid. ${ACCEPTED_FORMS}`);
}

function resolveAlias(name: string, cloud: Cloud): ResolvedAudience {
  const entry = findAlias(name);
  if (entry === undefined) {
    const suggestion = closestName(name, ALIAS_LOOKUP_NAMES);
    const hint = suggestion === undefined ? '' : ` Did you mean ${quote(suggestion)}?`;
    const details: ErrorDetails = suggestion === undefined ? { choices: ALIAS_NAMES } : { choices: ALIAS_NAMES, suggestion };
    throw new WitsError(
      'ERR_UNKNOWN_AUDIENCE',
      `Unknown audience ${quote(name)}.${hint} Use an alias (${ALIAS_NAMES.join(', ')}), ` +
        'an https resource URI or a /.default scope.',
      details,
    );
  }
  const resource = entry.resources[cloud];
  if (resource === undefined) {
    throw new WitsError(
      'ERR_AUDIENCE_UNAVAILABLE_IN_CLOUD',
      `The audience alias ${quote(entry.name)} has no known resource in ${cloud}; ` +
        "pass the service's resource URI or /.default scope for that cloud instead.",
    );
  }
  return Object.freeze({ resource, kind: 'alias', alias: entry.name });
}

/** `https://host[/segment...][/.default]`, see the module comment for why this is hand-written. */
function parseHttps(text: string): ResolvedAudience {
  if (text.slice(6, 8) !== '//') {
    throw invalid(`Audience ${quote(text)} is not a valid https URI: expected https://host/path.`);
  }
  const rest = text.slice(8);
  checkUriDelimiters(text, rest);
  const slash = rest.indexOf('/');
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash + 1);
  const host = checkHost(text, authority);
  const { segments, scope } = checkSegments(text, slash === -1 ? [] : path.split('/'));
  const pathPart = segments.length === 0 ? '' : `/${segments.join('/')}`;
  const resource = `https://${host}${pathPart}`;
  if (!agreesWithWhatwg(resource, host, pathPart)) {
    throw invalid(`Audience ${quote(text)} is not a valid https URI.`);
  }
  return result(resource, scope ? 'scope' : 'uri');
}

/** `api://segment[/segment...][/.default]`: an Entra application ID URI. */
function parseAppIdUri(text: string): ResolvedAudience {
  if (text.slice(4, 6) !== '//') {
    throw invalid(`Audience ${quote(text)} is not a valid application ID URI: expected api://app-id.`);
  }
  const rest = text.slice(6);
  checkUriDelimiters(text, rest);
  const { segments, scope } = checkSegments(text, rest.split('/'));
  const first = segments[0];
  if (first === undefined) {
    throw invalid(`Audience ${quote(text)} is not a valid application ID URI: nothing follows api://.`);
  }
  if (GUID.test(first)) segments[0] = first.toLowerCase();
  return result(`api://${segments.join('/')}`, scope ? 'scope' : 'app-id-uri');
}

/** Refuses the URI parts an audience never has; each would let one resource be spelt many ways. */
function checkUriDelimiters(text: string, rest: string): void {
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i];
    let rule: string | undefined;
    if (c === '@') rule = "'@' is not allowed (no user information)";
    else if (c === '?') rule = 'a query string (?) is not allowed';
    else if (c === '#') rule = 'a fragment (#) is not allowed';
    else if (c === '%') rule = 'percent-encoding (%XX) is not allowed';
    else if (c === '\\') rule = 'backslashes are not allowed';
    if (rule !== undefined) throw invalid(`Audience ${quote(text)} is not valid: ${rule}.`);
  }
}

/** The lower-cased host, if `authority` is a DNS name of two or more labels with no port. */
function checkHost(text: string, authority: string): string {
  const notAllowed =
    'the host must be a DNS name of at least two labels (IP addresses and single-label hosts such as localhost are not allowed)';
  if (authority.length === 0) throw invalid(`Audience ${quote(text)} has no host.`);
  if (authority.startsWith('[')) throw invalid(`Audience ${quote(text)} is not allowed: ${notAllowed}.`);
  const colon = authority.indexOf(':');
  if (colon !== -1) {
    const rule = /^[0-9]*$/.test(authority.slice(colon + 1))
      ? 'a port is not allowed'
      : `${quote(authority)} is not a valid host name`;
    throw invalid(`Audience ${quote(text)} is not valid: ${rule}.`);
  }
  const host = authority.toLowerCase();
  const labels = host.split('.');
  if (host.length > 253 || !labels.every((label) => DNS_LABEL.test(label))) {
    throw invalid(
      `Audience ${quote(text)} is not valid: ${quote(host)} is not a DNS host name ` +
        "(labels of 1 to 63 letters, digits or '-', not starting or ending with '-', 253 characters at most).",
    );
  }
  const top = labels[labels.length - 1] ?? '';
  // An all-digit or hex last label is how URL parsers recognise IPv4 (`169.254.169.254`, `0x7f.1`).
  if (labels.length < 2 || !TOP_LEVEL_LABEL.test(top) || top === 'localhost') {
    throw invalid(`Audience ${quote(text)} is not allowed: ${notAllowed}.`);
  }
  return host;
}

/**
 * Validates path segments and peels off a `/.default` scope suffix. A single trailing slash is
 * dropped, and so is the empty segment of `https://host//.default`, the scope Entra ID documents
 * for resources whose identifier ends in a slash (e.g. `https://database.windows.net//.default`).
 */
function checkSegments(text: string, parts: string[]): { segments: string[]; scope: boolean } {
  const segments = parts.slice();
  if (segments.length > 0 && segments[segments.length - 1] === '') segments.pop();
  let scope = false;
  if (segments.length > 0 && segments[segments.length - 1]?.toLowerCase() === SCOPE_SUFFIX) {
    segments.pop();
    scope = true;
    if (segments.length > 0 && segments[segments.length - 1] === '') segments.pop();
  }
  for (const segment of segments) {
    let rule: string | undefined;
    if (segment === '') rule = "empty path segments ('//') are not allowed";
    else if (segment === '.' || segment === '..') rule = "dot segments ('.' and '..') are not allowed";
    else if (!PATH_SEGMENT.test(segment)) rule = "path segments may contain only letters, digits and '.', '_', '~', '-'";
    else if (segment.toLowerCase() === SCOPE_SUFFIX) rule = "'/.default' may only end a scope";
    if (rule !== undefined) throw invalid(`Audience ${quote(text)} is not valid: ${rule}.`);
  }
  return { segments, scope };
}

/** Second opinion from WHATWG URL: it must read the canonical form exactly as we built it. */
function agreesWithWhatwg(resource: string, host: string, pathPart: string): boolean {
  let url: URL;
  try {
    url = new URL(resource);
  } catch {
    return false;
  }
  return (
    url.protocol === 'https:' &&
    url.hostname === host &&
    url.port === '' &&
    url.username === '' &&
    url.password === '' &&
    url.search === '' &&
    url.hash === '' &&
    url.pathname === (pathPart === '' ? '/' : pathPart)
  );
}

/** Throws unless every character is printable ASCII; inner whitespace means several audiences. */
function checkCharacters(text: string): void {
  let sawWhitespace = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) {
      sawWhitespace = true;
    } else if (c < 0x20 || c === 0x7f) {
      throw invalid(
        `Audience ${quote(text)} contains the control character ${codePointName(c)} at position ${i}; ` +
          'control characters are not allowed.',
      );
    } else if (c > 0x7e) {
      throw nonAsciiError(text, i);
    }
  }
  if (sawWhitespace) {
    throw invalid(
      `Audience ${quote(text)} contains whitespace: exactly one audience is allowed per request ` +
        '(request one token per resource).',
    );
  }
}

function nonAsciiError(text: string, index: number): WitsError {
  const codePoint = text.codePointAt(index) ?? 0;
  const suggestion = asciiLookAlikeSuggestion(text);
  const hint = suggestion === undefined ? '' : ` Did you mean ${quote(suggestion)}?`;
  return invalid(
    `Audience ${quote(text)} contains the non-ASCII character ${codePointName(codePoint)} at position ${index}; ` +
      `non-ASCII characters are not allowed (letters from other alphabets that look like Latin ones are a common copy-paste slip).${hint}`,
    suggestion === undefined ? {} : { suggestion },
  );
}

/**
 * Letters from other scripts that are drawn like Latin ones (Cyrillic, Greek) and typographic
 * dashes, mapped to the ASCII character they imitate. Only used to build a suggestion.
 */
const LOOK_ALIKES_FROM =
  '\u0430\u0435\u043E\u0440\u0441\u0443\u0445\u0456\u0458\u0455\u04BB\u0501\u051B\u051D\u04AF' +
  '\u0410\u0412\u0415\u041A\u041C\u041D\u041E\u0420\u0421\u0422\u0425\u0406\u0408\u0405' +
  '\u0391\u0392\u0395\u0396\u0397\u0399\u039A\u039C\u039D\u039F\u03A1\u03A4\u03A5\u03A7\u03BF\u03B1\u03BD' +
  '\u2010\u2011\u2012\u2013\u2014';
const LOOK_ALIKES_TO = 'aeopcyxijshdqwyABEKMHOPCTXIJSABEZHIKMNOPTYXoav-----';

/**
 * If `text` folded to ASCII (compatibility decomposition, accents dropped, look-alikes replaced) is
 * an audience, what to suggest: the alias name, the canonical URI, or the nearest alias name.
 */
function asciiLookAlikeSuggestion(text: string): string | undefined {
  if (text.length > ECHO_LIMIT) return undefined;
  let folded = '';
  for (const ch of text.normalize('NFKD')) {
    const c = ch.codePointAt(0) ?? 0;
    if (c >= 0x21 && c <= 0x7e) folded += ch;
    else if (c >= 0x0300 && c <= 0x036f) continue; // combining accent left by NFKD
    else {
      const at = LOOK_ALIKES_FROM.indexOf(ch);
      if (at === -1) return undefined;
      folded += LOOK_ALIKES_TO[at] ?? '';
    }
  }
  if (folded.length === 0) return undefined;
  try {
    const resolved = resolveAscii(folded, 'AzureCloud');
    return resolved.alias ?? folded;
  } catch {
    return ALIAS_SYNTAX.test(folded) ? closestName(folded, ALIAS_LOOKUP_NAMES) : undefined;
  }
}

function wouldResolve(text: string, cloud: Cloud): boolean {
  try {
    resolveAscii(text, cloud);
    return true;
  } catch {
    return false;
  }
}

/** Only ASCII whitespace is trimmed; any other leading character is judged by `checkCharacters`. */
function trimAsciiWhitespace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isAsciiWhitespace(text.charCodeAt(start))) start++;
  while (end > start && isAsciiWhitespace(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

function isAsciiWhitespace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function result(resource: string, kind: AudienceKind): ResolvedAudience {
  return Object.freeze({ resource, kind });
}

function invalid(message: string, details: ErrorDetails = {}): WitsError {
  return new WitsError('ERR_INVALID_AUDIENCE', message, details);
}

function codePointName(codePoint: number): string {
  return `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * `text` quoted for an error message: at most ECHO_LIMIT characters, with backslash, quote, control
 * and non-ASCII characters written as JSON-style escapes, so the message is one safe ASCII line.
 */
function quote(text: string): string {
  const shown = text.length > ECHO_LIMIT ? text.slice(0, ECHO_LIMIT) : text;
  let out = "'";
  for (let i = 0; i < shown.length; i++) {
    const c = shown.charCodeAt(i);
    if (c === 0x5c) out += '\\\\';
    else if (c < 0x20 || c > 0x7e || c === 0x27) out += `\\u${c.toString(16).toUpperCase().padStart(4, '0')}`;
    else out += shown[i];
  }
  out += "'";
  return text.length > ECHO_LIMIT ? `${out} (first ${ECHO_LIMIT} of ${text.length} characters)` : out;
}
