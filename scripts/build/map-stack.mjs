#!/usr/bin/env node
// Maps a stack trace printed by the binary (from the journal) back to the
// TypeScript sources, on your own machine, with the source map build.mjs wrote
// next to the binary:
//
//   journalctl -u aeon -n 50 | node scripts/build/map-stack.mjs dist/aeon-pi-zero-2w.js.map
//   node scripts/build/map-stack.mjs dist/aeon-x64.js.map trace.txt
//
// Frames of the bundle (`aeon-<board>.js:LINE:COL`) become `src/...ts:LINE:COL`;
// the function name is the one the calling frame used, as Node does it. Every
// other line passes through unchanged.
import fs from 'node:fs';
import { SourceMap } from 'node:module';
import path from 'node:path';

/** Maps the frames of `script` in `text`. */
export function mapStackText(text, map, script) {
  const frame = /^(\s*at )(async |new )?(?:(.*?) \()?([^\s()]+):(\d+):(\d+)(\)?)(.*)$/;
  const lines = text.split('\n');
  const parsed = lines.map((l) => {
    const m = frame.exec(l);
    if (!m || path.basename(m[4]) !== script) return undefined;
    const o = map.findOrigin(Number(m[5]), Number(m[6]));
    return o.fileName ? { m, o } : undefined;
  });
  return lines
    .map((l, i) => {
      const p = parsed[i];
      if (!p) return l;
      const { m, o } = p;
      const name = parsed[i + 1]?.o.name ?? m[3];
      const where = `${o.fileName}:${o.lineNumber}:${o.columnNumber}`;
      return `${m[1]}${m[2] ?? ''}${name ? `${name} (${where})` : where}${m[8]}`;
    })
    .join('\n');
}

if (import.meta.main) {
  const [mapFile, input] = process.argv.slice(2);
  if (!mapFile || mapFile === '-h' || mapFile === '--help') {
    process.stderr.write('usage: node scripts/build/map-stack.mjs aeon-<board>.js.map [TRACE_FILE]   (the trace on stdin when no file)\n');
    process.exit(mapFile ? 0 : 64);
  }
  const map = new SourceMap(JSON.parse(fs.readFileSync(mapFile, 'utf8')));
  const text = fs.readFileSync(input ?? 0, 'utf8');
  process.stdout.write(mapStackText(text, map, path.basename(mapFile).replace(/\.map$/, '')));
}
