// The client SDK's protocol rules (gateway/web/sdk/parley.js) against a
// scripted in-process server: no browser, no platform. The browser tests
// cover the same code against the real services.
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { root } from '../lib/platform.js';

const sdk = await import(pathToFileURL(join(root, 'gateway/web/sdk/parley.js')).href);
const { ParleyClient, MemoryStorage, ReceiptBook, directConversation, compareIds } = sdk;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(cond, ms = 2000, what = 'condition') {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** A scripted gateway: every socket the client opens, and what it sent. */
class FakeServer {
  constructor() {
    this.sockets = [];
    const server = this;
    this.WebSocket = class {
      constructor(url, protocols) {
        this.url = url;
        this.protocols = protocols;
        this.readyState = 0;
        this.protocol = '';
        this.sent = [];
        server.sockets.push(this);
        setTimeout(() => {
          if (this.readyState !== 0) return;
          this.readyState = 1;
          this.protocol = 'parley.v1';
          this.onopen && this.onopen();
        }, 1);
      }
      send(data) { this.sent.push(JSON.parse(data)); server.onFrame(this, JSON.parse(data)); }
      close() { if (this.readyState < 2) this.readyState = 3; }
      push(frame) { this.onmessage && this.onmessage({ data: JSON.stringify({ v: 1, ...frame }) }); }
      drop(code, reason = '') {
        this.readyState = 3;
        this.onclose && this.onclose({ code, reason });
      }
    };
    this.pages = []; // sync pages to answer with, in order
    this.acks = new Map(); // client_msg_id → ack
    this.holdSends = false;
    this.nextId = 100n;
  }

  get last() { return this.sockets[this.sockets.length - 1]; }

  onFrame(ws, f) {
    const reply = (r) => setTimeout(() => ws.push({ id: f.id, ...r }), 1);
    switch (f.type) {
      case 'auth':
        reply({ type: 'welcome', user_id: '1', device_id: 'd1', session_expires_at_ms: Date.now() + 900_000,
          server_time_ms: Date.now(), ping_interval_ms: 25_000, limits: { max_ack_ids: 100 } });
        break;
      case 'sync': {
        const page = this.pages.shift() || { cursor: f.cursor || 'c0', more: false };
        reply({ type: 'sync_page', ...page });
        break;
      }
      case 'send': {
        if (this.holdSends) return;
        if (!this.acks.has(f.client_msg_id)) {
          this.nextId += 1n;
          this.acks.set(f.client_msg_id, { message_id: String(this.nextId), sent_at_ms: Date.now() });
        }
        reply({ type: 'ack', conversation_id: f.conversation_id, client_msg_id: f.client_msg_id, ...this.acks.get(f.client_msg_id) });
        break;
      }
      default:
        break;
    }
  }

  framesOf(type) { return this.sockets.flatMap((s) => s.sent.filter((f) => f.type === type)); }
}

const session = {
  access_token: 'tok-1', refresh_token: 'r-1', expires_at_ms: Date.now() + 900_000, device_id: 'd1',
  user: { id: '1', username: 'alice', display_name: 'Alice', roles: [] },
};

async function client(server, { storage = new MemoryStorage(), fetch } = {}) {
  storage.setItem('parley.session', JSON.stringify(session));
  const c = new ParleyClient({ baseUrl: 'http://gw.test', storage, WebSocket: server.WebSocket, fetch: fetch || (async () => { throw new Error('no HTTP in this test'); }) });
  await c.restore();
  clients.push(c);
  return c;
}
const clients = [];
afterEach(() => { for (const c of clients.splice(0)) c.disconnect(); });

const conv = directConversation('1', '2');
const msg = (id, extra = {}) => ({ message_id: id, conversation_id: conv, sender_id: '2', kind: 'user', body: `m${id}`, sent_at_ms: 1, ...extra });

describe('SDK', () => {
  it('authenticates by subprotocol and catches up from the stored cursor page by page', async () => {
    const server = new FakeServer();
    const storage = new MemoryStorage();
    storage.setItem('parley.cursor', JSON.stringify('v1.stored'));
    server.pages.push({ messages: [msg('10')], cursor: 'v1.p1', more: true }, { messages: [msg('11')], cursor: 'v1.p2', more: false });
    const c = await client(server, { storage });
    const states = [];
    c.on('state', (s) => states.push(s.state));
    c.connect();
    await until(() => c.state === 'online', 2000, 'online');
    const ws = server.sockets[0];
    assert.equal(ws.url, 'ws://gw.test/v1/ws');
    assert.deepEqual(ws.protocols, ['parley.v1', 'parley.bearer.tok-1']);
    assert.deepEqual(ws.sent[0], { v: 1, id: ws.sent[0].id, type: 'auth' }, 'auth frame without the token');
    assert.deepEqual(server.framesOf('sync').map((f) => f.cursor), ['v1.stored', 'v1.p1']);
    assert.equal(JSON.parse(storage.getItem('parley.cursor')), 'v1.p2', 'cursor stored after the pages');
    assert.deepEqual(states, ['connecting', 'syncing', 'online']);
    await until(() => server.framesOf('received').length > 0, 1000, 'received');
    const rec = server.framesOf('received');
    assert.deepEqual(rec.flatMap((f) => f.message_ids).sort(), ['10', '11']);
    assert.equal(rec[rec.length - 1].cursor, 'v1.p2');
  });

  it('emits each message once: sync, live push and history overlap', async () => {
    const server = new FakeServer();
    server.pages.push({ messages: [msg('20'), msg('21')], cursor: 'v1.a', more: false });
    const c = await client(server);
    const seen = [];
    c.on('message', (m) => seen.push(m.message_id));
    c.connect();
    await until(() => c.state === 'online');
    server.last.push({ type: 'message', ...msg('21'), cursor: 'v1.b' });
    server.last.push({ type: 'message', ...msg('22'), cursor: 'v1.c' });
    server.last.push({ type: 'message', ...msg('22'), cursor: 'v1.c' });
    server.last.push({ type: 'future_push_type', anything: true });
    await sleep(20);
    assert.deepEqual(seen, ['20', '21', '22']);
  });

  it('sends one message at a time in order, and resends unacked ones with the same key after a reconnect', async () => {
    const server = new FakeServer();
    const c = await client(server);
    c.connect();
    await until(() => c.state === 'online');
    server.holdSends = true; // the ack of the first send is lost
    const a = c.send(conv, { body: 'one' });
    const b = c.send(conv, { body: 'two' });
    await sleep(30);
    assert.deepEqual(server.framesOf('send').map((f) => f.body), ['one'], 'the second waits for the first');
    server.holdSends = false;
    server.last.drop(1006); // network loss: reconnect with backoff
    await until(() => server.sockets.length === 2 && c.state === 'online', 3000, 'reconnect');
    const [ackA, ackB] = await Promise.all([a.done, b.done]);
    const sends = server.framesOf('send');
    assert.deepEqual(sends.map((f) => f.body), ['one', 'one', 'two']);
    assert.equal(sends[0].client_msg_id, sends[1].client_msg_id, 'a retry keeps its client_msg_id');
    assert.equal(compareIds(ackA.message_id, ackB.message_id), -1);
    assert.equal(c.outbox.length, 0);
  });

  it('drops the echo of an own acknowledged message', async () => {
    const server = new FakeServer();
    const c = await client(server);
    const seen = [];
    c.on('message', (m) => seen.push(m.message_id));
    c.connect();
    await until(() => c.state === 'online');
    const { clientMsgId, done } = c.send(conv, { body: 'mine' });
    const ack = await done;
    server.last.push({ type: 'message', ...msg(ack.message_id, { sender_id: '1', client_msg_id: clientMsgId }) });
    await sleep(10);
    assert.deepEqual(seen, []);
  });

  it('waits for goaway.reconnect_after_ms before reconnecting after close 4000', async () => {
    const server = new FakeServer();
    const c = await client(server);
    c.connect();
    await until(() => c.state === 'online');
    const t0 = Date.now();
    server.last.push({ type: 'goaway', reason: 'drain', reconnect_after_ms: 300, close_in_ms: 1000 });
    server.last.drop(4000);
    await until(() => server.sockets.length === 2, 2000, 'reconnect');
    assert.ok(Date.now() - t0 >= 290, `reconnected after ${Date.now() - t0} ms`);
  });

  it('does not reconnect after 4408 or 1000, and signs out after 4403', async () => {
    for (const [code, state] of [[4408, 'closed'], [1000, 'closed'], [4403, 'signed_out']]) {
      const server = new FakeServer();
      const c = await client(server);
      c.connect();
      await until(() => c.state === 'online');
      server.last.drop(code);
      await sleep(700);
      assert.equal(server.sockets.length, 1, `close ${code}: no reconnect`);
      assert.equal(c.state, state, `close ${code}`);
    }
  });

  it('after 4401 refreshes the token once, then reconnects with the new one', async () => {
    const server = new FakeServer();
    const calls = [];
    const fetch = async (url, init) => {
      calls.push([url, JSON.parse(init.body)]);
      return new Response(JSON.stringify({ access_token: 'tok-2', refresh_token: 'r-2', expires_in: 900, device_id: 'd1', user: session.user }), { status: 200 });
    };
    const c = await client(server, { fetch });
    c.connect();
    await until(() => c.state === 'online');
    server.last.drop(4401);
    await until(() => server.sockets.length === 2 && c.state === 'online', 2000, 'reconnect');
    assert.deepEqual(calls, [['http://gw.test/api/v1/auth/refresh', { refresh_token: 'r-1' }]]);
    assert.deepEqual(server.last.protocols, ['parley.v1', 'parley.bearer.tok-2']);
  });

  it('pauses while the network is gone and resumes from the cursor', async () => {
    const server = new FakeServer();
    const c = await client(server);
    c.connect();
    await until(() => c.state === 'online');
    c.pause();
    assert.equal(c.state, 'offline');
    const sent = c.send(conv, { body: 'while offline' });
    await sleep(600);
    assert.equal(server.sockets.length, 1, 'no reconnect while paused');
    c.resume();
    await sent.done;
    assert.equal(server.sockets.length, 2);
  });
});

describe('ReceiptBook', () => {
  it('moves a 1:1 message from sent to delivered to read, idempotently', () => {
    const b = new ReceiptBook();
    const m = { message_id: '50', conversation_id: conv, sent_at_ms: 1000 };
    assert.equal(b.status({ conversation_id: conv }).state, 'pending');
    assert.equal(b.status(m).state, 'sent');
    const rec = { conversation_id: conv, state: 'received', user_id: '2', message_ids: ['50'], at_ms: 2000 };
    b.apply(rec);
    b.apply({ ...rec, at_ms: 9999 }); // a repeat changes nothing
    assert.deepEqual(b.status(m), { state: 'delivered', sentAt: 1000, deliveredAt: 2000 });
    b.apply({ conversation_id: conv, state: 'read', user_id: '2', up_to: '60', at_ms: 3000 });
    b.apply({ conversation_id: conv, state: 'read', user_id: '2', up_to: '40', at_ms: 4000 }); // lower watermark ignored
    assert.deepEqual(b.status(m), { state: 'read', sentAt: 1000, deliveredAt: 2000, readAt: 3000 });
    assert.equal(b.status({ ...m, message_id: '61' }).state, 'sent', 'after the watermark');
    const copy = ReceiptBook.fromJSON(JSON.parse(JSON.stringify(b.toJSON())));
    assert.deepEqual(copy.status(m), b.status(m));
  });

  it('reads group counts as "read by K of M"', () => {
    const b = new ReceiptBook();
    const g = 'g:7';
    const m = { message_id: '70', conversation_id: g, sent_at_ms: 1 };
    b.apply({ conversation_id: g, state: 'received', counts: [{ message_id: '70', received: 2, read: 1, of: 2 }], at_ms: 5 });
    assert.deepEqual(b.status(m).counts, { received: 2, read: 1, of: 2 });
    assert.equal(b.status(m).state, 'delivered');
    b.apply({ conversation_id: g, state: 'read', user_id: '3', up_to: '70', counts: [{ message_id: '70', received: 2, read: 2, of: 2 }], at_ms: 6 });
    assert.equal(b.status(m).state, 'read');
    b.apply({ conversation_id: g, state: 'read', counts: [{ message_id: '70', received: 2, read: 1, of: 2 }], at_ms: 7 });
    assert.equal(b.status(m).counts.read, 2, 'an older, smaller count does not win');
  });
});
