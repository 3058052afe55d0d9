import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/log.ts';
import { Secrets } from '../../src/util/secrets.ts';

function capture(secrets: Secrets) {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { log: createLogger({ level: 'debug', secrets, destination: destination as never }), lines };
}

describe('secret redaction in logs', () => {
  const API_KEY = 'sk-proj-abcdefghijklmnop1234';
  const BOT = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw';
  const MQTT_PW = 'hunter2-but-longer';

  const { secrets } = parseConfig(
    JSON.stringify({
      agents: { main: { provider: 'openai', model: 'gpt-4o', api_key: '${K}' } },
      dialogs: { telegram: { enabled: true, bot_token: '${T}' }, mqtt: { password: '${P}' } },
    }),
    '/x/aeon.json',
    { env: { K: API_KEY, T: BOT, P: MQTT_PW } },
  );

  it('scrubs known secret values from messages, errors and nested objects', () => {
    const { log, lines } = capture(secrets);
    log.info(`calling with ${API_KEY}`);
    log.error({ err: new Error(`GET https://api.telegram.org/bot${BOT}/getUpdates failed`) }, 'poll failed');
    log.warn({ deep: { list: [`pw=${MQTT_PW}`] } }, 'nested');
    const all = lines.join('');
    for (const s of [API_KEY, BOT, MQTT_PW]) assert.ok(!all.includes(s), `${s} leaked: ${all}`);
    assert.match(all, /calling with \[redacted\]/);
    assert.match(all, /bot\[redacted\]\/getUpdates/);
  });

  it('redacts secret-named keys even when the value is not known', () => {
    const { log, lines } = capture(new Secrets());
    log.info({ api_key: 'unknown-key-value', headers: { authorization: 'Bearer xyz-unknown' }, config: { password: 'pw-unknown' } }, 'req');
    const all = lines.join('');
    assert.ok(!all.includes('unknown-key-value') && !all.includes('xyz-unknown') && !all.includes('pw-unknown'), all);
  });

  it('scrubs bot tokens and URL credentials it was never told about', () => {
    const { log, lines } = capture(new Secrets());
    log.info('url https://api.telegram.org/bot987654321:ZZHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage and mqtt://aeon:s3cr3tpass@broker:1883');
    const all = lines.join('');
    assert.ok(!all.includes('ZZHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw'), all);
    assert.ok(!all.includes('s3cr3tpass'), all);
    assert.match(all, /mqtt:\/\/aeon:\[redacted\]@broker/);
  });

  it('does not scrub short values that would eat ordinary words', () => {
    const s = new Secrets();
    s.add('abc');
    assert.equal(s.scrub('abc def'), 'abc def');
  });
});
