import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { silentLogger } from '../../src/log.ts';
import { scrubEnv } from '../../src/tools/env-scrub.ts';
import { execTool, type ExecArgs } from '../../src/tools/exec.ts';
import { ToolRegistry } from '../../src/tools/registry.ts';
import { Secrets } from '../../src/util/secrets.ts';
import { alive, ctx, tmpDir, until } from './util.ts';

const PATH = process.env.PATH ?? '/usr/bin:/bin';

function tool(exec: { allow?: string[]; full_trust?: boolean; timeout_s?: number } = {}, deps: { env?: NodeJS.ProcessEnv; secrets?: string[] | Secrets; max_output_bytes?: number } = {}) {
  const ws = path.join(tmpDir(), 'ws');
  const t = execTool(
    { workspace: ws, exec: { allow: exec.allow ?? ['echo'], full_trust: exec.full_trust ?? false, timeout_s: exec.timeout_s ?? 10 } },
    { secrets: deps.secrets ?? [], max_output_bytes: deps.max_output_bytes ?? 16 * 1024, kill_grace_ms: 300, env: deps.env },
  );
  const run = (args: Partial<ExecArgs>, signal?: AbortSignal) => t.execute({ args: [], ...args }, ctx(signal));
  return { t, ws, run };
}

/** The pids a shell script printed as `pid=N`. */
function pids(text: string): number[] {
  return [...text.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
}

test('runs an allowed program in the workspace and reports its exit code', async () => {
  const { run, ws } = tool({ allow: ['echo', 'pwd', 'false'] });
  assert.equal(await run({ command: 'echo', args: ['hello', 'world; rm -rf /'] }), 'exit code 0\nhello world; rm -rf /\n');
  assert.equal(await run({ command: 'pwd' }), `exit code 0\n${fs.realpathSync(ws)}\n`);
  assert.equal(await run({ command: 'false' }), 'exit code 1\n(no output)');
});

test('programs outside the allow-list, and paths, are refused', async () => {
  const { run } = tool({ allow: ['echo', 'ls'] });
  await assert.rejects(run({ command: 'cat', args: ['/etc/passwd'] }), /"cat" is not allowed\. Allowed programs: echo, ls\./);
  await assert.rejects(run({ command: '/bin/echo' }), /by name only/);
  await assert.rejects(run({ command: '../bin/echo' }), /by name only/);
});

test('without full trust a shell command line is not accepted (schema)', async () => {
  const { t } = tool({ allow: ['echo'] });
  const reg = new ToolRegistry([t], { default_timeout_ms: 5000, max_output_bytes: 4096, log: silentLogger() });
  const r = await reg.run({ id: '1', name: 'exec', arguments: JSON.stringify({ shell: 'echo hi | cat' }) }, ctx());
  assert.equal(r.is_error, true);
  assert.match(r.content, /shell: is not a known key/);
  assert.match(r.content, /command: is required/);
});

test('an allowed name is looked up only in absolute PATH folders, never in the workspace', async () => {
  const { run, ws } = tool({ allow: ['planted'] }, { env: { PATH: `.:${PATH}` } });
  fs.mkdirSync(ws, { recursive: true });
  fs.writeFileSync(path.join(ws, 'planted'), '#!/bin/sh\necho pwned\n', { mode: 0o755 });
  await assert.rejects(run({ command: 'planted' }), /"planted" is not installed on this device/);
});

test('cwd must stay inside the workspace', async () => {
  const { run, ws } = tool({ allow: ['pwd'] });
  fs.mkdirSync(path.join(ws, 'sub'), { recursive: true });
  assert.equal(await run({ command: 'pwd', cwd: 'sub' }), `exit code 0\n${fs.realpathSync(ws)}/sub\n`);
  await assert.rejects(run({ command: 'pwd', cwd: '../..' }), /contains "\.\."/);
  await assert.rejects(run({ command: 'pwd', cwd: '/tmp' }), /outside the workspace/);
});

test('full trust runs shell command lines', async () => {
  const { run } = tool({ full_trust: true });
  assert.equal(await run({ shell: 'echo out; echo err >&2; exit 3' }), 'exit code 3\nout\nerr\n');
  await assert.rejects(run({ shell: 'true', command: 'echo' }), /either "shell" or "command"/);
});

test('a timeout kills the whole process group, grandchildren included', async () => {
  const { run } = tool({ full_trust: true, timeout_s: 1 });
  const t0 = Date.now();
  const err: Error = await run({ shell: 'sleep 30 & echo pid=$!; sh -c "sleep 30 & echo pid=\\$!; wait" & echo pid=$!; echo pid=$$; wait' }).then(
    () => assert.fail('should time out'),
    (e: Error) => e,
  );
  assert.match(err.message, /^Timed out after 1 s; the command and everything it started were stopped\. Output so far:\n/);
  const ps = pids(err.message);
  assert.equal(ps.length, 4, err.message);
  assert.ok(Date.now() - t0 < 5000, 'settles soon after the timeout');
  assert.ok(await until(() => ps.every((p) => !alive(p)), 2000), `still running: ${ps.filter(alive).join(', ')}`);
});

test('SIGTERM-proof processes are killed after the grace period', async () => {
  const { run } = tool({ full_trust: true, timeout_s: 1 });
  const t0 = Date.now();
  const err: Error = await run({ shell: "trap '' TERM; sleep 30 & echo pid=$!; echo pid=$$; wait" }).then(() => assert.fail('should time out'), (e: Error) => e);
  assert.ok(Date.now() - t0 < 5000, 'settles soon after timeout and grace');
  const ps = pids(err.message);
  assert.equal(ps.length, 2);
  assert.ok(await until(() => ps.every((p) => !alive(p)), 2000), `still running: ${ps.filter(alive).join(', ')}`);
});

test('abort kills the whole process group', async () => {
  const { run } = tool({ full_trust: true, timeout_s: 60 });
  const ac = new AbortController();
  const pending = run({ shell: 'sleep 30 & echo pid=$!; echo pid=$$; wait' }, ac.signal);
  await new Promise((r) => setTimeout(r, 300));
  const t0 = Date.now();
  ac.abort();
  const err: Error = await pending.then(() => assert.fail('should be cancelled'), (e: Error) => e);
  assert.ok(Date.now() - t0 < 3000, 'settles soon after the abort');
  assert.match(err.message, /^Cancelled; the command and everything it started were stopped/);
  const ps = pids(err.message);
  assert.equal(ps.length, 2, err.message);
  assert.ok(await until(() => ps.every((p) => !alive(p)), 2000));
});

test('background processes a finished command leaves behind are stopped, and the call returns', async () => {
  const { run } = tool({ full_trust: true, timeout_s: 20 });
  const t0 = Date.now();
  const out = await run({ shell: 'sleep 30 & echo pid=$!' });
  assert.ok(Date.now() - t0 < 5000);
  assert.match(out, /^exit code 0\npid=\d+\n$/);
  const [bg] = pids(out);
  assert.ok(await until(() => !alive(bg!), 2000));
});

test('secrets never reach the child environment', async () => {
  const secrets = new Secrets();
  secrets.add('sk-test-abcdefghijklmnop');
  const env = {
    PATH,
    HARMLESS: 'ok',
    RENAMED_KEY: 'sk-test-abcdefghijklmnop',
    OPENAI_API_KEY: 'short1',
    TELEGRAM_BOT_TOKEN: '123:abc',
    MQTT_PASSWORD: 'pw',
    AEON_CONFIG: '/etc/aeon.json',
    NOTIFY_SOCKET: '/run/systemd/notify',
  };
  const { run } = tool({ allow: ['env'] }, { env, secrets });
  const out = await run({ command: 'env' });
  assert.match(out, /^HARMLESS=ok$/m);
  assert.match(out, /^PATH=/m);
  for (const hidden of ['sk-test-abcdefghijklmnop', 'RENAMED_KEY', 'OPENAI_API_KEY', 'TELEGRAM_BOT_TOKEN', 'MQTT_PASSWORD', 'AEON_CONFIG', 'NOTIFY_SOCKET']) {
    assert.ok(!out.includes(hidden), `${hidden} leaked`);
  }
});

test('scrubEnv accepts a plain list of secret values too', () => {
  assert.deepEqual(scrubEnv({ A: 'x', B: 'prefix-hunter2-suffix', GITHUB_TOKEN: 't', DB_PASSWORD_FILE: 'f' }, ['hunter2']), { A: 'x' });
});

test('output is capped while it streams, keeping head and tail', async () => {
  const { run } = tool({ allow: ['seq'] }, { max_output_bytes: 1000 });
  const out = await run({ command: 'seq', args: ['1', '200000'] });
  assert.ok(Buffer.byteLength(out) <= 1000 + 20, `${Buffer.byteLength(out)} bytes`);
  assert.ok(out.startsWith('exit code 0\n1\n2\n3\n'));
  assert.ok(out.endsWith('199999\n200000\n'));
  assert.match(out, /\[\.\.\. 1,2\d\d,\d{3} bytes elided \.\.\.\]/);
});

test('a program that is allowed but missing says so', async () => {
  const { run } = tool({ allow: ['no-such-program-aeon'] });
  await assert.rejects(run({ command: 'no-such-program-aeon' }), /not installed on this device/);
});
