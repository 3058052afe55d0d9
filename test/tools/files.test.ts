import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { silentLogger } from '../../src/log.ts';
import { fileTools } from '../../src/tools/file-tools.ts';
import { ToolRegistry } from '../../src/tools/registry.ts';
import type { ToolResult } from '../../src/tools/types.ts';
import { ctx, tmpDir } from './util.ts';

/** A workspace (not created yet) next to an "outside" folder holding a secret file. */
function setup(max_bytes = 1 << 20, max_output_bytes = 64 * 1024) {
  const base = tmpDir();
  const ws = path.join(base, 'data', 'workspace');
  const outside = path.join(base, 'outside');
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'TOP SECRET');
  const reg = new ToolRegistry(fileTools({ workspace: ws, file: { max_bytes } }, { max_output_bytes }), {
    default_timeout_ms: 5000,
    max_output_bytes,
    log: silentLogger(),
  });
  const run = (name: string, args: object): Promise<ToolResult> => reg.run({ id: '1', name, arguments: JSON.stringify(args) }, ctx());
  return { base, ws, outside, run };
}

function refused(r: ToolResult, why: RegExp) {
  assert.equal(r.is_error, true, r.content);
  assert.match(r.content, /is refused/);
  assert.match(r.content, why);
  assert.match(r.content, /Paths are relative to the workspace folder/, 'the model is told the rule');
}

test('the workspace is created on first use, private to aeon', async () => {
  const { ws, run } = setup();
  assert.equal(fs.existsSync(ws), false);
  const r = await run('file_write', { path: 'hello.txt', content: 'hi' });
  assert.deepEqual(r, { content: 'Wrote 2 bytes to "hello.txt".', is_error: false });
  assert.equal(fs.statSync(ws).mode & 0o777, 0o700);
  assert.equal(fs.readFileSync(path.join(ws, 'hello.txt'), 'utf8'), 'hi');
});

test('write, read and list round trip, folders created as needed', async () => {
  const { ws, run } = setup();
  assert.equal((await run('file_write', { path: 'notes/2025/jan.md', content: '# January\n' })).is_error, false);
  assert.deepEqual(await run('file_read', { path: 'notes/2025/jan.md' }), { content: '# January\n', is_error: false });
  assert.deepEqual(await run('file_read', { path: path.join(ws, 'notes/2025/jan.md') }), { content: '# January\n', is_error: false }, 'an absolute path inside is fine');
  const list = await run('file_list', { path: 'notes', recursive: true });
  assert.equal(list.content, 'Folder "notes" and its sub-folders: 2 entries.\n2025/\n2025/jan.md  10 bytes');
});

test('".." is refused for read, write and list', async () => {
  const { run } = setup();
  await run('file_write', { path: 'a/b.txt', content: 'x' });
  refused(await run('file_read', { path: '../outside/secret.txt' }), /contains "\.\."/);
  refused(await run('file_read', { path: 'a/../../outside/secret.txt' }), /contains "\.\."/);
  refused(await run('file_write', { path: '../escape.txt', content: 'x' }), /contains "\.\."/);
  refused(await run('file_list', { path: '..' }), /contains "\.\."/);
});

test('absolute paths outside the workspace are refused', async () => {
  const { outside, run } = setup();
  refused(await run('file_read', { path: path.join(outside, 'secret.txt') }), /outside the workspace/);
  refused(await run('file_write', { path: path.join(outside, 'new.txt'), content: 'x' }), /outside the workspace/);
  refused(await run('file_list', { path: '/etc' }), /outside the workspace/);
  assert.equal(fs.existsSync(path.join(outside, 'new.txt')), false);
});

test('symbolic links inside the workspace that point outside are refused: read, write, list', async () => {
  const { ws, outside, run } = setup();
  await run('file_list', {}); // creates the workspace
  fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(ws, 'link.txt'));
  fs.symlinkSync(outside, path.join(ws, 'out'));
  fs.symlinkSync(path.join(outside, 'not-yet.txt'), path.join(ws, 'dangling.txt'));

  refused(await run('file_read', { path: 'link.txt' }), /symbolic link/);
  refused(await run('file_read', { path: 'out/secret.txt' }), /symbolic link/);
  refused(await run('file_write', { path: 'link.txt', content: 'overwritten' }), /symbolic link/);
  refused(await run('file_write', { path: 'link.txt', content: 'more', append: true }), /symbolic link/);
  refused(await run('file_write', { path: 'out/planted.txt', content: 'x' }), /symbolic link/);
  refused(await run('file_write', { path: 'dangling.txt', content: 'x' }), /broken symbolic link/);
  refused(await run('file_list', { path: 'out' }), /symbolic link/);

  assert.equal(fs.readFileSync(path.join(outside, 'secret.txt'), 'utf8'), 'TOP SECRET');
  assert.deepEqual(fs.readdirSync(outside), ['secret.txt']);
  assert.equal(fs.lstatSync(path.join(ws, 'link.txt')).isSymbolicLink(), true, 'the link itself is left alone');

  // A recursive listing shows the links but never walks through them.
  const list = await run('file_list', { recursive: true });
  assert.equal(list.is_error, false);
  assert.match(list.content, /^out {2}\(symbolic link\)$/m);
  assert.doesNotMatch(list.content, /secret/);
});

test('symbolic links that stay inside the workspace work', async () => {
  const { ws, run } = setup();
  await run('file_write', { path: 'real/data.txt', content: 'inside' });
  fs.symlinkSync(path.join(ws, 'real'), path.join(ws, 'alias'));
  fs.symlinkSync('real/data.txt', path.join(ws, 'data-link.txt'));
  assert.deepEqual(await run('file_read', { path: 'alias/data.txt' }), { content: 'inside', is_error: false });
  assert.deepEqual(await run('file_read', { path: 'data-link.txt' }), { content: 'inside', is_error: false });
  const w = await run('file_write', { path: 'data-link.txt', content: 'changed' });
  assert.equal(w.content, 'Wrote 7 bytes to "real/data.txt".', 'names the real file it wrote');
  assert.equal(fs.readFileSync(path.join(ws, 'real/data.txt'), 'utf8'), 'changed');
  assert.equal(fs.lstatSync(path.join(ws, 'data-link.txt')).isSymbolicLink(), true);
  assert.equal((await run('file_list', { path: 'alias' })).content, 'Folder "real": 1 entry.\ndata.txt  7 bytes');
});

test('file_write replaces atomically: a reader of the old file never sees a mix, no temp files stay', async () => {
  const { ws, run } = setup();
  await run('file_write', { path: 'state.json', content: '{"v":1}' });
  const file = path.join(ws, 'state.json');
  const oldInode = fs.statSync(file).ino;
  const fd = fs.openSync(file, 'r');
  try {
    await run('file_write', { path: 'state.json', content: '{"v":2,"more":true}' });
    // The old open file still holds the old bytes: the new content arrived by rename, not in place.
    assert.equal(fs.readFileSync(fd, 'utf8'), '{"v":1}');
  } finally {
    fs.closeSync(fd);
  }
  assert.notEqual(fs.statSync(file).ino, oldInode);
  assert.equal(fs.readFileSync(file, 'utf8'), '{"v":2,"more":true}');
  assert.deepEqual(fs.readdirSync(ws), ['state.json']);
});

test('file_write keeps the mode of the file it replaces', async () => {
  const { ws, run } = setup();
  await run('file_write', { path: 'run.sh', content: 'echo 1' });
  fs.chmodSync(path.join(ws, 'run.sh'), 0o750);
  await run('file_write', { path: 'run.sh', content: 'echo 2' });
  assert.equal(fs.statSync(path.join(ws, 'run.sh')).mode & 0o777, 0o750);
});

test('append adds to the end, atomically too', async () => {
  const { ws, run } = setup();
  await run('file_write', { path: 'log.txt', content: 'one\n' });
  const r = await run('file_write', { path: 'log.txt', content: 'two\n', append: true });
  assert.equal(r.content, 'Appended 4 bytes to "log.txt" (now 8 bytes).');
  assert.equal(fs.readFileSync(path.join(ws, 'log.txt'), 'utf8'), 'one\ntwo\n');
  await run('file_write', { path: 'fresh.txt', content: 'new', append: true });
  assert.equal(fs.readFileSync(path.join(ws, 'fresh.txt'), 'utf8'), 'new');
  assert.deepEqual(fs.readdirSync(ws).sort(), ['fresh.txt', 'log.txt']);
});

test('the size cap refuses oversized writes and appends and leaves the file as it was', async () => {
  const { ws, run } = setup(10);
  await run('file_write', { path: 'small.txt', content: '12345678' });
  const big = await run('file_write', { path: 'small.txt', content: 'x'.repeat(11) });
  assert.equal(big.is_error, true);
  assert.match(big.content, /11 bytes; files may be at most 10 bytes/);
  const grow = await run('file_write', { path: 'small.txt', content: 'abc', append: true });
  assert.equal(grow.is_error, true);
  assert.match(grow.content, /would make "small.txt" 11 bytes/);
  assert.equal(fs.readFileSync(path.join(ws, 'small.txt'), 'utf8'), '12345678');
  const euro = await run('file_write', { path: 'e.txt', content: '€€€€' });
  assert.match(euro.content, /12 bytes/, 'counted in UTF-8 bytes, not characters');
});

test('file_read pages through a long file without cutting characters', async () => {
  // 256 bytes of room for the page note: pages of 744 bytes.
  const { ws, run } = setup(1 << 20, 1000);
  const text = Array.from({ length: 200 }, (_, i) => `zeile ${i}: äöü €\n`).join('');
  await run('file_write', { path: 'long.txt', content: text });
  let got = '';
  let offset = 0;
  for (let page = 0; page < 20; page++) {
    const r = await run('file_read', { path: 'long.txt', offset });
    assert.equal(r.is_error, false, r.content);
    const m = /\n\[file_read: bytes (\d+) to (\d+) of (\d+) in "long.txt"; (call file_read again with offset (\d+) for more|end of file)\]$/.exec(r.content);
    assert.ok(m, r.content.slice(-200));
    assert.ok(Number(m[2]) - Number(m[1]) <= 744);
    got += r.content.slice(0, m.index);
    if (!m[5]) break;
    offset = Number(m[5]);
  }
  assert.equal(got, text);
  assert.equal(Buffer.byteLength(got), fs.statSync(path.join(ws, 'long.txt')).size);
});

test('file_read explains folders, binaries, missing files and a bad offset', async () => {
  const { ws, run } = setup();
  await run('file_write', { path: 'dir/a.txt', content: 'abc' });
  fs.writeFileSync(path.join(ws, 'blob.bin'), Buffer.from([1, 2, 0, 3]));
  fs.writeFileSync(path.join(ws, 'empty.txt'), '');
  assert.match((await run('file_read', { path: 'dir' })).content, /"dir" is a folder; use file_list/);
  assert.match((await run('file_read', { path: 'blob.bin' })).content, /binary file \(4 bytes\)/);
  assert.match((await run('file_read', { path: 'nope.txt' })).content, /"nope.txt" does not exist/);
  assert.match((await run('file_read', { path: 'dir/a.txt', offset: 3 })).content, /Offset 3 is at or past the end/);
  assert.equal((await run('file_read', { path: 'empty.txt' })).content, '"empty.txt" is empty (0 bytes).');
});

test('file_list is bounded and says when it stopped', async () => {
  const { ws, run } = setup();
  await run('file_list', {});
  for (let i = 0; i < 30; i++) fs.writeFileSync(path.join(ws, `f${String(i).padStart(2, '0')}.txt`), 'x'.repeat(i));
  fs.mkdirSync(path.join(ws, 'sub'));
  const r = await run('file_list', { max_entries: 10 });
  const lines = r.content.split('\n');
  assert.equal(lines.length, 11);
  assert.match(lines[0]!, /10 entries \(stopped at max_entries 10; list a sub-folder to see more\)/);
  assert.equal((await run('file_list', { path: 'f03.txt' })).content, '"f03.txt" is a file (3 bytes), not a folder; use file_read to read it.');
  assert.match((await run('file_list', { path: 'sub' })).content, /It is empty\./);
});

test('the workspace root itself cannot be written', async () => {
  const { run } = setup();
  const r = await run('file_write', { path: '.', content: 'x' });
  assert.equal(r.is_error, true);
  assert.match(r.content, /workspace folder itself cannot be written/);
});
