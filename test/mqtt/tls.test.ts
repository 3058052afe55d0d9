// mqtts:// with the TLS files from config: the CA verifies the broker, the
// client certificate and key prove aeon to a broker that requires one.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { startDialog, until, Watcher } from '../helpers/mqtt-harness.ts';
import { makeCerts, type TestCerts } from '../helpers/mqtt-tls.ts';

let broker: TestBroker;
let certs: TestCerts;
before(async () => {
  certs = makeCerts();
  broker = await startBroker({ tls: { ca: certs.ca, cert: certs.serverCert, key: certs.serverKey, requireClientCert: true } });
});
after(async () => {
  await broker?.close();
  certs?.remove();
});

function tlsTarget(): { url: string; mqtt5: boolean } {
  assert.ok(broker.tlsUrl, 'the broker has a TLS listener');
  return { url: broker.tlsUrl, mqtt5: broker.mqtt5 };
}

test('with ca, cert and key from config aeon connects over TLS and answers', async () => {
  const h = await startDialog({ ...broker, ...tlsTarget() }, { mqtt: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey } });
  const w = await Watcher.connect(broker, { subscribe: [`${h.base}/reply`] }); // plain listener, same broker
  try {
    await until(() => h.dialog.health().ready, 'connected over TLS', 8000);
    await w.publish(`${h.base}/prompt`, 'over tls?');
    const r = await w.wait(() => true, 'reply');
    assert.equal(r.json.text, 'you said: over tls?.');
  } finally {
    await w.close();
    await h.stop();
  }
});

test('a broker certificate from another CA is refused, and health says why', async () => {
  const h = await startDialog({ ...broker, ...tlsTarget() }, { mqtt: { ca: certs.otherCa, cert: certs.clientCert, key: certs.clientKey }, dialog: { reconnect_min_ms: 100, reconnect_max_ms: 200 } });
  try {
    await until(() => /certificate/i.test(h.dialog.health().detail ?? ''), 'a certificate error in health', 8000);
    assert.equal(h.dialog.health().ready, false);
  } finally {
    await h.stop();
  }
});

test('without a client certificate a broker that requires one does not let aeon in', async () => {
  const h = await startDialog({ ...broker, ...tlsTarget() }, { mqtt: { ca: certs.ca }, dialog: { reconnect_min_ms: 100, reconnect_max_ms: 200 } });
  try {
    await until(() => /certificate required/i.test(h.dialog.health().detail ?? ''), 'the broker asking for a certificate, in health', 8000);
    assert.equal(h.dialog.health().ready, false);
  } finally {
    await h.stop();
  }
});
