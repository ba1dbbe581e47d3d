/**
 * Child of moduleGraph.test.ts: imports a module (default `wits/client`, resolved through the
 * package's `exports`) with a loader hook that reports every module Node loads, and prints the
 * list, the CommonJS require.cache and the module's export names as one JSON line.
 */
import { createRequire, register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';

const SENTINEL = 'data:text/javascript,export default "wits-module-graph-sentinel"';
const { port1, port2 } = new MessageChannel();
const loaded: string[] = [];
let sawSentinel!: () => void;
const finished = new Promise<void>((resolve) => (sawSentinel = resolve));
port1.on('message', (url: string) => {
  if (url === SENTINEL) sawSentinel();
  else loaded.push(url);
});
const hooks = `
let port;
export async function initialize(data) { port = data.port; }
export async function load(url, context, nextLoad) { port.postMessage(url); return nextLoad(url, context); }
`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`, { data: { port: port2 }, transferList: [port2] });

const specifier = process.argv[2] ?? 'wits/client';
const mod = (await import(specifier)) as Record<string, unknown>;
// Messages from the hooks thread arrive in order: once the sentinel's load is reported, every
// earlier load has been too.
await import(SENTINEL);
await finished;
port1.close();
const cjs = Object.keys(createRequire(import.meta.url).cache);
console.log(JSON.stringify({ loaded, cjs, exports: Object.keys(mod).sort() }));
