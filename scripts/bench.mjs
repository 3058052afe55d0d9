// `npm run bench`: runs every benchmark in scripts/bench/ (or the ones named),
// one after another so they do not disturb each other. Each prints its own
// figures next to a baseline measured in the same run; none passes or fails.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'bench');
const wanted = process.argv.slice(2);
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.startsWith('_') && (!wanted.length || wanted.some((w) => f.includes(w)))).sort();
let failed = 0;
for (const f of files) {
  process.stdout.write(`\n## ${f.replace(/\.ts$/, '')}\n`);
  const r = spawnSync(process.execPath, ['--expose-gc', path.join(dir, f)], { stdio: 'inherit', env: { ...process.env, AEON_LOG_LEVEL: 'silent' } });
  if (r.status !== 0) {
    failed++;
    process.stdout.write(`(${f} exited ${r.status ?? r.signal})\n`);
  }
}
process.exit(failed ? 1 : 0);
