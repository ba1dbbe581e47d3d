/**
 * Profiles wits' cache-hit path: starts `wits serve` under `node --cpu-prof`, drives cache hits at it
 * from the load generator (its own process), stops wits cleanly so the profile is written, and
 * prints the functions with the most self time and the files with the most total time.
 *
 *   npm run build && node dist/bench/profile.js [--seconds 10] [--connections 10] [--log-level warn] [--path cold]
 *
 * The .cpuprofile is kept (its path is printed): open it in Chrome DevTools for the full picture.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { LoadResult } from './children/load.js';
import { child, ROOT, startChild } from './lib/proc.js';
import { round } from './lib/stats.js';
import { APP_SERVICE, createSession, newHome, startWits, token, witsUrl } from './lib/wits.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const argv = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? fallback : (argv[i + 1] ?? fallback);
};
const seconds = Number(flag('seconds', '10'));
const connections = Number(flag('connections', '10'));
const logLevel = flag('log-level', 'warn') as 'info' | 'warn';
const cold = flag('path', 'hit') === 'cold';

function shortUrl(url: string): string {
  if (url === '') return '(native)';
  const path = url.startsWith('file://') ? new URL(url).pathname : url;
  return path.startsWith(ROOT) ? relative(ROOT, path) : path.replace(/^.*node_modules\//, 'node_modules/');
}

function summarise(profile: Profile): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const idle = new Set(profile.nodes.filter((n) => ['(idle)', '(program)', '(garbage collector)'].includes(n.callFrame.functionName)).map((n) => n.id));
  const busy = total - [...idle].reduce((a, id) => a + (byId.get(id)?.callFrame.functionName === '(idle)' ? (selfUs.get(id) ?? 0) : 0), 0);

  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const f = node.callFrame;
    const key = `${f.functionName || '(anonymous)'}  ${shortUrl(f.url)}${f.url === '' ? '' : `:${f.lineNumber + 1}`}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const file = f.url === '' ? f.functionName : shortUrl(f.url);
    byFile.set(file, (byFile.get(file) ?? 0) + us);
  }
  const pct = (us: number) => `${round((100 * us) / busy, 1)}%`.padStart(6);
  process.stdout.write(`\nBusy time ${round(busy / 1e6, 2)} s of ${round(total / 1e6, 2)} s sampled (percentages are of busy time)\n\nTop self time by function:\n`);
  for (const [k, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 40)) {
    if (k.startsWith('(idle)')) continue;
    process.stdout.write(`${pct(us)}  ${k}\n`);
  }
  // Inclusive time (self + callees) per function, for the functions of wits and its libraries.
  const inclusive = new Map<number, number>();
  const total_ = (node: ProfileNode): number => {
    const known = inclusive.get(node.id);
    if (known !== undefined) return known;
    let sum = selfUs.get(node.id) ?? 0;
    for (const c of node.children ?? []) {
      const childNode = byId.get(c);
      if (childNode !== undefined) sum += total_(childNode);
    }
    inclusive.set(node.id, sum);
    return sum;
  };
  const byFunctionInclusive = new Map<string, number>();
  for (const node of profile.nodes) {
    const f = node.callFrame;
    if (!f.url.includes('/dist/src/') && !f.url.includes('node_modules/jose') && !f.url.includes('better-sqlite3')) continue;
    const key = `${f.functionName || '(anonymous)'}  ${shortUrl(f.url)}:${f.lineNumber + 1}`;
    byFunctionInclusive.set(key, (byFunctionInclusive.get(key) ?? 0) + total_(node));
  }
  process.stdout.write('\nInclusive time (self + callees) by function of wits, jose and better-sqlite3:\n');
  for (const [k, us] of [...byFunctionInclusive].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
    process.stdout.write(`${pct(us)}  ${k}\n`);
  }
  process.stdout.write('\nSelf time by file:\n');
  for (const [k, us] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    if (k === '(idle)') continue;
    process.stdout.write(`${pct(us)}  ${k}\n`);
  }
}

async function main(): Promise<void> {
  const home = newHome('profile');
  const dir = join(ROOT, 'bench', 'results', 'profiles');
  mkdirSync(dir, { recursive: true });
  const before = new Set(readdirSync(dir));
  const wits = await startWits('wits', home, { logLevel, nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
  const secret = await createSession(wits, home);
  const resource = 'https://management.azure.com/';
  await token(wits, secret, resource);
  const load = await startChild('load', child('load'), [], { stdin: true });
  const path = cold ? `${APP_SERVICE}${encodeURIComponent(`api://profile-${Date.now()}-`)}` : `${APP_SERVICE}${encodeURIComponent(resource)}`;
  load.send({ id: 1, url: witsUrl(wits), connections, duration: seconds, path, headers: { 'x-identity-header': secret }, unique: cold });
  const result = await load.nextJson<LoadResult>((seconds + 60) * 1000);
  process.stdout.write(`load: ${Math.round(result.rps)} req/s, p50 ${round(result.p50, 3)} ms, p99 ${round(result.p99, 3)} ms, non-2xx ${result.non2xx}\n`);
  await load.stop();
  await wits.stop('SIGINT');
  rmSync(home, { recursive: true, force: true });
  const written = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile') && !before.has(f));
  const file = join(dir, written[0] as string);
  process.stdout.write(`profile: ${file}\n`);
  summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
