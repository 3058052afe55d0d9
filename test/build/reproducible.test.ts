// Same inputs, same bytes: two builds of the same tree give identical
// binaries and source maps, for x64 and arm64, and nothing of the build
// machine (the checkout's path, the home or temp directory) ends up inside.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, runBuild } from './harness.ts';

const BOARDS = ['x64', 'pi-zero-2w'];

describe('build.mjs is reproducible', () => {
  const outs: string[] = [];

  before(
    async () => {
      for (let i = 0; i < 2; i++) outs.push(fs.mkdtempSync(path.join(os.tmpdir(), `aeon-repro-${i}-`)));
      const args = BOARDS.flatMap((b) => ['--board', b]);
      // At the same time, so that a source edited meanwhile cannot make them differ.
      await Promise.all([runBuild([...args, '--no-xz', '--with-bundle'], outs[0]!), runBuild([...args, '--no-xz'], outs[1]!)]);
    },
    { timeout: 300_000 },
  );
  after(() => {
    for (const d of outs) fs.rmSync(d, { recursive: true, force: true });
  });

  for (const board of BOARDS) {
    it(`${board}: two builds give the same binary and source map`, () => {
      const [a, b] = outs.map((o) => fs.readFileSync(path.join(o, `aeon-${board}.sha256`), 'utf8'));
      assert.match(a!, new RegExp(`^[0-9a-f]{64}  aeon-${board}\\n$`));
      assert.equal(a, b);
      const [ma, mb] = outs.map((o) => fs.readFileSync(path.join(o, `aeon-${board}.js.map`)));
      assert.ok(ma!.equals(mb!), 'source maps differ');
    });

    it(`${board}: no path of the build machine in the bundle, its map or the binary`, () => {
      const code = fs.readFileSync(path.join(outs[0]!, `aeon-${board}.js`), 'utf8');
      const map = fs.readFileSync(path.join(outs[0]!, `aeon-${board}.js.map`), 'utf8');
      // The checkout, the home directory, build.mjs's work directory (aeon-build-<board>-XXXX).
      const leaks = [ROOT, os.homedir(), 'aeon-build-'].filter((p) => p.length > 1);
      for (const p of leaks) {
        assert.ok(!code.includes(p), `bundle contains ${p}`);
        assert.ok(!map.includes(p), `map contains ${p}`);
      }
      const bin = fs.readFileSync(path.join(outs[0]!, `aeon-${board}`));
      assert.ok(!bin.includes(Buffer.from(ROOT)), `binary contains ${ROOT}`);
      assert.ok(bin.includes(Buffer.from(`aeon-${board}.js`)), 'the SEA main is named by its file name only');
    });
  }
});
