// TelegramClient.download against a real HTTP server: the bytes of a file,
// and a clear, token-free error for a missing file or one over the size cap.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { TelegramClient, TelegramError } from '../../src/dialogs/telegram/client.ts';
import { Secrets } from '../../src/util/secrets.ts';

const TOKEN = '123456:AAtest-token-for-downloads';

describe('TelegramClient.download', () => {
  let server: http.Server;
  let client: TelegramClient;

  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url === `/file/bot${TOKEN}/docs/a%20b.txt`) return void res.end('hello file');
      if (req.url === `/file/bot${TOKEN}/docs/big.bin`) {
        res.writeHead(200, { 'content-length': '5000' });
        return void res.end(Buffer.alloc(5000));
      }
      res.writeHead(404).end('{"ok":false}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const secrets = new Secrets();
    secrets.add(TOKEN);
    client = new TelegramClient({ token: TOKEN, apiRoot: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, secrets });
  });
  after(async () => {
    await client.close();
    server.close();
  });

  it('streams the file, with each path segment encoded', async () => {
    const chunks: Buffer[] = [];
    for await (const c of await client.download('docs/a b.txt', 1000)) chunks.push(Buffer.from(c));
    assert.equal(Buffer.concat(chunks).toString(), 'hello file');
  });

  it('a missing file is a TelegramError with the HTTP status and no token', async () => {
    const err = await client.download('docs/none.txt', 1000).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof TelegramError);
    assert.equal(err.code, 404);
    assert.ok(!err.message.includes(TOKEN));
  });

  it('a file over the cap is refused before its body is read (413)', async () => {
    const err = await client.download('docs/big.bin', 1000).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof TelegramError);
    assert.equal(err.code, 413);
    assert.match(err.message, /5000 bytes, more than 1000/);
  });
});
