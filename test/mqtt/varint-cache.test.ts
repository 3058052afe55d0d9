// mqtt-packet caches one encoded "remaining length" Buffer per packet length
// for ever, cut from Node's 64 KiB Buffer pool, so every cached length pinned a
// whole pool slab: replies of many lengths grew RSS without end (load
// benchmark: +14 MB per 5,000 turns). src/dialogs/mqtt/client.ts replaces the
// buffer maker before mqtt.js loads; this file must import nothing that loads
// mqtt before it does.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { unpinVarIntCache } from '../../src/dialogs/mqtt/client.ts';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

describe('MQTT packet encoding', () => {
  it('publishing 3,000 payloads of different lengths keeps no Buffer pool slabs alive', async () => {
    assert.equal(await unpinVarIntCache(), true);
    assert.equal(await unpinVarIntCache(), true, 'idempotent');
    const mp = (await import('mqtt-packet')).default as { writeToStream: (p: object, s: Writable, o: object) => boolean; parser: (o: object) => { on: (e: string, f: (p: { payload: Buffer }) => void) => void; parse: (b: Buffer) => void } };
    const written: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        if (written.length < 8) written.push(Buffer.from(chunk));
        cb();
      },
    });
    const payload = Buffer.alloc(20_000, 'x');
    gc();
    const before = process.memoryUsage().arrayBuffers;
    for (let n = 100; n < 3100; n++) {
      mp.writeToStream({ cmd: 'publish', topic: 'aeon/test/reply', payload: payload.subarray(0, n), qos: 0 }, sink, { protocolVersion: 5 });
      Buffer.allocUnsafe(2000); // the rest of the process uses the pool meanwhile
      await new Promise((r) => setImmediate(r)); // mqtt-packet uncorks on the next tick
    }
    gc();
    const kept = process.memoryUsage().arrayBuffers - before;
    // Unpinned: ~100 bytes per cached length. Pinned: one 64 KiB slab per ~30 lengths here, ~6 MB.
    assert.ok(kept < 1.5 * 1048576, `${(kept / 1048576).toFixed(1)} MB of ArrayBuffers kept`);

    // The encoding is unchanged: the first packet parses back.
    const parsed: Buffer[] = [];
    const parser = mp.parser({ protocolVersion: 5 });
    parser.on('packet', (p) => parsed.push(p.payload));
    parser.parse(Buffer.concat(written));
    assert.equal(parsed[0]?.length, 100);
  });
});
