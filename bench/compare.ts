/**
 * Side-by-side comparison of two wits builds (or of this build with itself under two settings),
 * for before/after measurements of an optimisation:
 *
 *   node dist/bench/compare.js --baseline /path/to/other/dist/src/cli/main.js \
 *     [--connections 1,10,100] [--rounds 6] [--duration 4] [--log-level warn] [--path hit|cold] [--rate N]
 *
 * With --rate, each run is a paced load of N requests/s (bench/lib/paced.ts) instead of as fast as
 * answered: compare latency at a fixed offered load.
 *
 * Both servers run at once, each in its own process on its own home; the load alternates
 * A B B A A B ... (so neither always goes first) and the report gives the median of the per-round
 * ratios this build / baseline for throughput and for server CPU per request.
 */
import { rmSync } from 'node:fs';
import type { LoadJob, LoadResult } from './children/load.js';
import { child, startChild, type Child } from './lib/proc.js';
import { median, round } from './lib/stats.js';
import { APP_SERVICE, createSession, newHome, startWits, token, witsUrl } from './lib/wits.js';

const argv = process.argv.slice(2);
const flag = (name: string, fallback?: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? fallback : argv[i + 1];
};
const baseline = flag('baseline');
if (baseline === undefined) {
  process.stderr.write('usage: node dist/bench/compare.js --baseline <other build>/dist/src/cli/main.js [--connections 1,10,100] [--rounds 6] [--duration 4] [--log-level warn|info] [--path hit|cold] [--rate N]\n');
  process.exit(2);
}
const connections = (flag('connections', '1,10,100') as string).split(',').map(Number);
const rounds = Number(flag('rounds', '6'));
const duration = Number(flag('duration', '4'));
const logLevel = flag('log-level', 'warn') as 'warn' | 'info';
const cold = flag('path', 'hit') === 'cold';
const rateFlag = flag('rate');
const rate = rateFlag === undefined ? undefined : Number(rateFlag);
const RESOURCE = 'https://management.azure.com/';

interface Side {
  readonly name: string;
  readonly home: string;
  readonly proc: Child;
  readonly job: Omit<LoadJob, 'id' | 'connections' | 'duration'>;
}

async function side(name: string, main: string | undefined): Promise<Side> {
  const home = newHome(name);
  const proc = await startWits(name, home, { logLevel, ...(main === undefined ? {} : { main }) });
  const secret = await createSession(proc, home);
  await token(proc, secret, RESOURCE);
  const path = cold ? APP_SERVICE + encodeURIComponent(`api://compare-${name}-${Date.now()}-`) : APP_SERVICE + encodeURIComponent(RESOURCE);
  return { name, home, proc, job: { url: witsUrl(proc), path, headers: { 'x-identity-header': secret }, unique: cold } };
}

async function main(): Promise<void> {
  const a = await side('this-build', undefined);
  const b = await side('baseline', baseline);
  const load = await startChild('load', child('load'), [], { stdin: true });
  let id = 0;
  const run = async (s: Side, c: number, d: number): Promise<LoadResult & { cpuUs: number }> => {
    const cpu0 = s.proc.cpuMs();
    // A cold run needs a fresh audience prefix each time.
    const job = cold ? { ...s.job, path: `${s.job.path}${++id}-` } : s.job;
    load.send({ ...job, id: ++id, connections: c, duration: d, ...(rate === undefined ? {} : { rate }) });
    const r = await load.nextJson<LoadResult>((d + 60) * 1000);
    if (r.non2xx > 0 || r.errors > 0) process.stderr.write(`warning: ${s.name}: ${r.non2xx} non-2xx, ${r.errors} errors\n`);
    return { ...r, cpuUs: ((s.proc.cpuMs() - cpu0) * 1000) / Math.max(1, r.ok) };
  };
  await run(a, 10, 1);
  await run(b, 10, 1);
  process.stdout.write(`this build vs ${baseline}; ${cold ? 'cold mint' : 'cache hit'}, --log-level ${logLevel}, ${rounds} rounds of ${duration} s${rate === undefined ? '' : `, paced at ${rate} req/s`}\n\n`);
  process.stdout.write('| connections | throughput ratio | CPU/request ratio | p99 ratio | this build req/s, CPU/req, p50, p99 | baseline req/s, CPU/req, p50, p99 |\n|---:|---:|---:|---:|---:|---:|\n');
  for (const c of connections) {
    const ra: (LoadResult & { cpuUs: number })[] = [];
    const rb: (LoadResult & { cpuUs: number })[] = [];
    for (let r = 0; r < rounds; r++) {
      if (r % 2 === 0) {
        ra.push(await run(a, c, duration));
        rb.push(await run(b, c, duration));
      } else {
        rb.push(await run(b, c, duration));
        ra.push(await run(a, c, duration));
      }
    }
    const m = (xs: readonly (LoadResult & { cpuUs: number })[], k: 'rps' | 'cpuUs' | 'p50' | 'p99') => median(xs.map((x) => x[k]));
    const ratio = (k: 'rps' | 'cpuUs' | 'p99') => round(median(ra.map((x, i) => x[k] / (rb[i]?.[k] ?? NaN))));
    const show = (xs: readonly (LoadResult & { cpuUs: number })[]) =>
      `${Math.round(m(xs, 'rps'))}, ${Math.round(m(xs, 'cpuUs'))} us, ${round(m(xs, 'p50'))} ms, ${round(m(xs, 'p99'))} ms`;
    process.stdout.write(`| ${c} | ${ratio('rps')} | ${ratio('cpuUs')} | ${ratio('p99')} | ${show(ra)} | ${show(rb)} |\n`);
  }
  await load.stop();
  await a.proc.stop();
  await b.proc.stop();
  for (const s of [a, b]) rmSync(s.home, { recursive: true, force: true });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
