// Idle memory and start-up of `aeon run` with Telegram (emulator), MQTT
// (Mosquitto) and the health server enabled, no turns yet, against a bare
// `node` of the same binary measured in the same run:
//   - RSS SETTLE ms after /readyz first answered 200 (as `ps` would show it),
//     the heap in use after a full GC (what is live), and the RSS of any child
//     process aeon keeps;
//   - start-up: spawn → first 200 from /readyz, against `node -e 0` (spawn → exit).
// For the single binaries (the pi-zero-2w budget and flags built for x64, and
// the x64 board), node running the same bundle
// under the pi-zero-2w V8 flags, and node running the TypeScript sources.
// Medians of --runs runs, the kinds interleaved so drift hits all alike.
//
//   node scripts/bench/idle.ts [--runs 3] [--settle 3000] [--dist DIR] [--dialogs telegram,mqtt|none] [--kinds binary,bundle,source]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Aeon, bareNode, bareStartMs, build, launch, mb, median, opt, summary, table, verdict, type Launch, kindName } from './_lib.ts';
import { startPeers } from './_peers.ts';

const RUNS = opt('runs', 3);
const SETTLE = opt('settle', 3000);
const args = process.argv.slice(2);
const list = (name: string, dflt: string) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1]! : dflt).split(',');
const enabled = list('dialogs', 'telegram,mqtt').filter((d) => d === 'telegram' || d === 'mqtt');

const b = build();
const peers = await startPeers({ telegram: enabled.includes('telegram') });
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'aeon-bench-home-'));
process.on('exit', () => fs.rmSync(home, { recursive: true, force: true }));

const wanted = list('kinds', 'binary,bundle,source');
const kinds: Launch[] = [launch('binary', b, 'pi-zero-2w'), launch('binary', b, 'x64'), launch('bundle', b, 'pi-zero-2w'), launch('source', b, 'pi-zero-2w')].filter((k) => wanted.includes(k.kind));
const all = peers.dialogs() as Record<string, unknown>;
const config = { dialogs: Object.fromEntries(enabled.map((d) => [d, all[d]])) };

interface Sample {
  startMs: number;
  rss: number;
  anon: number;
  children: number;
  heapLive: number;
  heapLimit: number;
}

async function sample(l: Launch): Promise<Sample> {
  const a = await Aeon.start(l, { config, home, env: { AEON_LOG_LEVEL: 'info' } });
  try {
    await new Promise((r) => setTimeout(r, SETTLE));
    const m = a.mem();
    const g = await a.afterGc();
    return { startMs: a.startMs, rss: m.rss, anon: m.anon, children: m.children, heapLive: g.status.heap_used_bytes, heapLimit: g.status.heap_limit_bytes };
  } finally {
    await a.stop();
  }
}

// The binary extracts its SQLite addon on the first start only: measure the starts after.
await (await Aeon.start(kinds[0]!, { config, home })).stop();

const samples = new Map<Launch, Sample[]>(kinds.map((k) => [k, []]));
const bare: Array<{ rss: number; heap: number }> = [];
const bareStart: number[] = [];
for (let i = 0; i < RUNS; i++) {
  for (const k of kinds) samples.get(k)!.push(await sample(k));
  bare.push(await bareNode(SETTLE));
  for (let j = 0; j < 3; j++) bareStart.push(await bareStartMs());
}
await peers.close();

const base = { rss: median(bare.map((s) => s.rss)), heap: median(bare.map((s) => s.heap)), start: median(bareStart) };
const med = (k: Launch, f: (s: Sample) => number) => median(samples.get(k)!.map(f));

const what = [...(enabled.includes('telegram') ? ['Telegram'] : []), ...(enabled.includes('mqtt') ? ['MQTT'] : []), 'health'].join(' + ');
console.log(`Idle \`aeon run\`, ${what} (Telegram: emulator, MQTT: Mosquitto), no turns; RSS ${SETTLE / 1000} s after ready, heap after a full GC; median of ${RUNS} (Node ${process.version}, ${process.arch}, ${os.cpus().length} CPUs)`);
table(
  ['process', 'start → /readyz ms', 'vs node -e 0', 'RSS MB', 'vs bare node', 'anon MB', 'children MB', 'heap live MB', 'heap limit MB'],
  [
    ...kinds.map((k) => [
      k.label,
      med(k, (s) => s.startMs).toFixed(0),
      `${(med(k, (s) => s.startMs) / base.start).toFixed(2)}×`,
      mb(med(k, (s) => s.rss)),
      `${(med(k, (s) => s.rss) / base.rss).toFixed(2)}×`,
      mb(med(k, (s) => s.anon)),
      mb(med(k, (s) => s.children)),
      mb(med(k, (s) => s.heapLive)),
      mb(med(k, (s) => s.heapLimit), 0),
    ]),
    ["bare node -e 'setInterval(()=>{},1e9)' / node -e 0", base.start.toFixed(0), '1.00×', mb(base.rss), '1.00×', '', '', mb(base.heap), ''],
  ],
);

summary([
  ...kinds.map((k) => {
    const rss = med(k, (s) => s.rss + s.children);
    const r = rss / base.rss;
    return { figure: `idle RSS (${what}), ${kindName(k)}`, value: `${mb(rss)} MB (heap ${mb(med(k, (s) => s.heapLive))})`, baseline: `${mb(base.rss)} MB (heap ${mb(base.heap)})`, ratio: `${r.toFixed(2)}×`, target: '≤ 1.5×', verdict: verdict(r, 1.5, '×') };
  }),
  ...kinds.map((k) => {
    const ms = med(k, (s) => s.startMs);
    const r = ms / base.start;
    return { figure: `start → /readyz, ${kindName(k)}`, value: `${ms.toFixed(0)} ms`, baseline: `${base.start.toFixed(0)} ms (node -e 0)`, ratio: `${r.toFixed(2)}×`, target: '≤ 3×', verdict: verdict(r, 3, '×') };
  }),
]);
