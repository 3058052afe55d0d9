import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/index.ts';
import { silentLogger } from '../../src/log.ts';
import { ToolRegistry, builtinTools } from '../../src/tools/index.ts';
import { ctx, tmpDir } from './util.ts';

function setup() {
  const dir = tmpDir();
  const text = JSON.stringify({
    device: { data_dir: dir, board: 'x64' },
    agents: { main: { provider: 'ollama', model: 'llama3.2', tools: ['file_read', 'exec'] } },
    tools: { exec: { allow: ['echo'] } },
  });
  const { config, secrets } = parseConfig(text, path.join(dir, 'aeon.json'), { env: {} });
  const log = silentLogger();
  const reg = new ToolRegistry(builtinTools(config, { secrets, log }), { default_timeout_ms: config.tools.timeout_s * 1000, max_output_bytes: config.budget.tool_output_bytes, log, secrets });
  return { dir, config, reg };
}

test('builtinTools gives the seven built-ins, each with a spec the model can use', () => {
  const { reg } = setup();
  const names = ['file_read', 'file_write', 'file_list', 'exec', 'system_info', 'current_time', 'http_fetch'];
  assert.deepEqual(reg.names().sort(), [...names].sort());
  for (const spec of reg.specs(names)) {
    assert.ok(spec.description.length > 20, spec.name);
    assert.equal((spec.parameters as { type: string }).type, 'object');
  }
  assert.throws(() => reg.specs(['mqtt_publish']), /Unknown tool "mqtt_publish"/);
});

test('file tools and exec share the configured workspace', async () => {
  const { reg, config } = setup();
  assert.equal(config.tools.workspace, path.join(config.device.data_dir, 'workspace'));
  const w = await reg.run({ id: '1', name: 'file_write', arguments: '{"path":"a.txt","content":"hello"}' }, ctx());
  assert.equal(w.is_error, false, w.content);
  // echo runs in the workspace; its cwd is where file_write put a.txt.
  const r = await reg.run({ id: '2', name: 'exec', arguments: '{"command":"echo","args":["hi"]}' }, ctx());
  assert.deepEqual(r, { content: 'exit code 0\nhi\n', is_error: false });
  const l = await reg.run({ id: '3', name: 'file_list', arguments: '{}' }, ctx());
  assert.equal(l.content, 'Folder ".": 1 entry.\na.txt  5 bytes');
});
