/**
 * Raw HTTP/1.1 over a TCP socket, for requests node's own client refuses to send (control bytes,
 * invalid header names, odd request lines, conflicting framing). The response is parsed just enough
 * to check status, headers and body; interim 1xx responses are skipped.
 */
import { connect } from 'node:net';

export interface RawResponse {
  readonly status: number;
  readonly reason: string;
  /** Lower-case names; repeated headers joined with ', '. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

export interface RawResult {
  /** The first final (non-1xx) response, when a complete one arrived. */
  readonly response?: RawResponse;
  /** Every byte the server sent. */
  readonly raw: Buffer;
  /** Why no complete response arrived: 'closed', 'timeout' or a socket error code. */
  readonly failure?: string;
}

const HEADER_END = Buffer.from('\r\n\r\n');

function decodeChunked(data: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd === -1) return undefined;
    const size = parseInt(data.subarray(at, lineEnd).toString('latin1').split(';')[0] ?? '', 16);
    if (!Number.isFinite(size)) return undefined;
    at = lineEnd + 2;
    if (size === 0) {
      // Trailers end with an empty line.
      return data.indexOf('\r\n', at) === -1 ? undefined : Buffer.concat(parts);
    }
    if (data.length < at + size + 2) return undefined;
    parts.push(data.subarray(at, at + size));
    at += size + 2;
  }
}

/**
 * Parses the first final response in `data`; undefined when it is not complete yet.
 * `closed` says the connection has ended (a body without framing runs to the end).
 */
export function parseResponse(data: Buffer, closed: boolean, requestMethod: string): RawResponse | undefined {
  let start = 0;
  for (;;) {
    const end = data.indexOf(HEADER_END, start);
    if (end === -1) return undefined;
    const head = data.subarray(start, end).toString('latin1');
    const [statusLine = '', ...lines] = head.split('\r\n');
    const match = /^HTTP\/\d\.\d (\d{3})(?: (.*))?$/.exec(statusLine);
    if (match === null) throw new Error(`not an HTTP response: ${JSON.stringify(statusLine.slice(0, 100))}`);
    const status = Number(match[1]);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    const bodyStart = end + HEADER_END.length;
    if (status >= 100 && status < 200) {
      start = bodyStart;
      continue;
    }
    const rest = data.subarray(bodyStart);
    const noBody = requestMethod.toUpperCase() === 'HEAD' || status === 204 || status === 304;
    if (noBody) return { status, reason: match[2] ?? '', headers, body: Buffer.alloc(0) };
    if (headers['transfer-encoding']?.toLowerCase().includes('chunked')) {
      const body = decodeChunked(rest);
      return body === undefined ? undefined : { status, reason: match[2] ?? '', headers, body };
    }
    if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      if (rest.length < length) return undefined;
      return { status, reason: match[2] ?? '', headers, body: rest.subarray(0, length) };
    }
    return closed ? { status, reason: match[2] ?? '', headers, body: rest } : undefined;
  }
}

/** Sends `data` as is and waits for a complete response (or the connection's end, or the timeout). */
export function rawRequest(port: number, data: Buffer | string, options: { method?: string; timeoutMs?: number; host?: string } = {}): Promise<RawResult> {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  const method = options.method ?? bytes.subarray(0, bytes.indexOf(' ') === -1 ? 0 : bytes.indexOf(' ')).toString('latin1');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let done = false;
    const socket = connect({ port, host: options.host ?? '127.0.0.1' });
    const finish = (failure?: string, closed = false): void => {
      if (done) return;
      const raw = Buffer.concat(chunks);
      let response: RawResponse | undefined;
      let parseError: string | undefined;
      try {
        response = parseResponse(raw, closed || failure !== undefined, method);
      } catch (err) {
        parseError = (err as Error).message;
      }
      if (response === undefined && failure === undefined && parseError === undefined) return; // wait for more
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(response !== undefined ? { response, raw } : { raw, failure: parseError ?? failure ?? 'closed' });
    };
    const timer = setTimeout(() => finish('timeout'), options.timeoutMs ?? 15_000);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      finish();
    });
    socket.on('end', () => finish('closed', true));
    socket.on('close', () => finish('closed', true));
    socket.on('error', (err: NodeJS.ErrnoException) => finish(err.code ?? err.message, true));
    socket.write(bytes, (err) => {
      if (err) finish((err as NodeJS.ErrnoException).code ?? err.message, true);
    });
  });
}
