// Parley client SDK: the protocol of shared/protocol/PROTOCOL.md and the
// public HTTP API of the gateway, for browsers and React Native alike.
//
// It uses only `fetch`, `WebSocket`, timers and a key-value storage that
// the app passes in (localStorage, sessionStorage, AsyncStorage, or the
// in-memory default): no DOM. See README.md beside this file.

/** Protocol version spoken by this SDK. */
export const PROTOCOL_VERSION = 1;
/** WebSocket subprotocol of protocol version 1. */
export const SUBPROTOCOL = 'parley.v1';
const BEARER_PREFIX = 'parley.bearer.';

/**
 * An error with a code from the platform's one error table
 * (`invalid_argument`, `unauthenticated`, `limit_exceeded`, `unavailable`, …).
 */
export class ParleyError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {{retryable?: boolean, retryAfterMs?: number, details?: Record<string,string>, status?: number}} [extra]
   */
  constructor(code, message, extra = {}) {
    super(message || code);
    this.name = 'ParleyError';
    this.code = code;
    this.retryable = !!extra.retryable;
    this.retryAfterMs = extra.retryAfterMs || 0;
    this.details = extra.details || {};
    this.status = extra.status || 0;
  }
}

const RETRYABLE = new Set(['unavailable', 'deadline_exceeded', 'rate_limited']);

// ---------------------------------------------------------------- ids

/**
 * Compares two decimal id strings as 64-bit integers (never as strings).
 * @param {string} a
 * @param {string} b
 * @returns {number} negative, zero or positive
 */
export function compareIds(a, b) {
  const x = BigInt(a || '0');
  const y = BigInt(b || '0');
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The 1:1 conversation id of two users: `d:<low>:<high>`. */
export function directConversation(a, b) {
  return compareIds(a, b) < 0 ? `d:${a}:${b}` : `d:${b}:${a}`;
}

/** The conversation id of a group: `g:<group id>`. */
export function groupConversation(groupId) {
  return `g:${groupId}`;
}

/**
 * Parses a conversation id.
 * @param {string} id
 * @returns {{kind: 'direct', users: string[]} | {kind: 'group', groupId: string} | null}
 */
export function parseConversation(id) {
  const parts = String(id).split(':');
  if (parts[0] === 'd' && parts.length === 3) return { kind: 'direct', users: [parts[1], parts[2]] };
  if (parts[0] === 'g' && parts.length === 2) return { kind: 'group', groupId: parts[1] };
  return null;
}

/** The other member of a 1:1 conversation, seen from `me`. */
export function peerOf(conversationId, me) {
  const c = parseConversation(conversationId);
  if (!c || c.kind !== 'direct') return '';
  return c.users[0] === me ? c.users[1] : c.users[0];
}

function randomId() {
  const c = globalThis.crypto;
  if (c && c.randomUUID) return c.randomUUID();
  let s = '';
  for (let i = 0; i < 4; i++) s += Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, '0');
  return s;
}

// ---------------------------------------------------------------- storage

/** In-memory storage with the localStorage interface (the default). */
export class MemoryStorage {
  constructor() { this.m = new Map(); }
  getItem(k) { return this.m.has(k) ? this.m.get(k) : null; }
  setItem(k, v) { this.m.set(k, String(v)); }
  removeItem(k) { this.m.delete(k); }
}

// ---------------------------------------------------------------- events

class Emitter {
  constructor() { this._handlers = new Map(); }
  /**
   * Subscribes to an event; returns the function that unsubscribes.
   * @param {string} type
   * @param {(payload: any) => void} fn
   */
  on(type, fn) {
    if (!this._handlers.has(type)) this._handlers.set(type, new Set());
    this._handlers.get(type).add(fn);
    return () => this._handlers.get(type)?.delete(fn);
  }
  _emit(type, payload) {
    for (const fn of [...(this._handlers.get(type) || [])]) {
      try { fn(payload); } catch (e) { console.error(`parley: ${type} handler failed`, e); }
    }
  }
}

// ---------------------------------------------------------------- receipts

/**
 * ReceiptBook keeps the delivery state of the user's own messages from
 * `receipt` pushes, applied as idempotent state (received by union, read by
 * maximum watermark, group counts by latest), and answers what a tick shows.
 */
export class ReceiptBook {
  constructor() {
    /** @type {Map<string, Map<string, number>>} message id → user id → received at */
    this.received = new Map();
    /** @type {Map<string, Map<string, {upTo: string, at: number}>>} conversation → user → read watermark */
    this.read = new Map();
    /** @type {Map<string, {received: number, read: number, of: number, at: number}>} message id → group counts */
    this.counts = new Map();
  }

  /** Applies one `receipt` (push or sync page element). */
  apply(r) {
    if (r.state === 'received' && r.user_id) {
      for (const id of r.message_ids || []) {
        if (!this.received.has(id)) this.received.set(id, new Map());
        const m = this.received.get(id);
        if (!m.has(r.user_id)) m.set(r.user_id, r.at_ms);
      }
    }
    if (r.state === 'read' && r.user_id && r.up_to) {
      if (!this.read.has(r.conversation_id)) this.read.set(r.conversation_id, new Map());
      const m = this.read.get(r.conversation_id);
      const cur = m.get(r.user_id);
      if (!cur || compareIds(r.up_to, cur.upTo) > 0) m.set(r.user_id, { upTo: r.up_to, at: r.at_ms });
    }
    for (const c of r.counts || []) {
      const cur = this.counts.get(c.message_id);
      // Counts only grow; a late, smaller one is older news.
      if (!cur || c.read > cur.read || c.received > cur.received || c.of !== cur.of) {
        this.counts.set(c.message_id, { received: c.received, read: c.read, of: c.of, at: r.at_ms });
      }
    }
    this._trim();
  }

  /**
   * What the tick of one of the user's own messages shows.
   * @param {{message_id?: string, conversation_id: string, sent_at_ms?: number}} msg
   * @returns {{state: 'pending'|'sent'|'delivered'|'read', sentAt?: number, deliveredAt?: number, readAt?: number,
   *   counts?: {received: number, read: number, of: number}}}
   */
  status(msg) {
    if (!msg.message_id) return { state: 'pending' };
    const out = { state: 'sent', sentAt: msg.sent_at_ms };
    const counts = this.counts.get(msg.message_id);
    if (counts) out.counts = { received: counts.received, read: counts.read, of: counts.of };
    const rec = this.received.get(msg.message_id);
    if (rec && rec.size) { out.state = 'delivered'; out.deliveredAt = Math.min(...rec.values()); }
    let readAt = 0;
    for (const w of (this.read.get(msg.conversation_id) || new Map()).values()) {
      if (compareIds(w.upTo, msg.message_id) >= 0) readAt = readAt ? Math.min(readAt, w.at) : w.at;
    }
    if (readAt) {
      out.state = 'read';
      out.readAt = readAt;
      if (!out.deliveredAt) out.deliveredAt = readAt;
    }
    if (counts && counts.of > 0) {
      // In a group a message is delivered or read when everyone got it.
      out.state = counts.read >= counts.of ? 'read' : counts.received >= counts.of ? 'delivered' : 'sent';
      if (out.state === 'read' && !out.readAt) out.readAt = counts.at;
      if (out.state !== 'sent' && !out.deliveredAt) out.deliveredAt = counts.at;
    }
    return out;
  }

  _trim() {
    // Bounded: the oldest entries go first (Map keeps insertion order).
    for (const m of [this.received, this.counts]) {
      while (m.size > 5000) m.delete(m.keys().next().value);
    }
  }

  /** A JSON-able snapshot, for storage. */
  toJSON() {
    return {
      received: [...this.received].map(([id, m]) => [id, [...m]]),
      read: [...this.read].map(([c, m]) => [c, [...m]]),
      counts: [...this.counts],
    };
  }

  /** Restores a snapshot made by toJSON. */
  static fromJSON(j) {
    const b = new ReceiptBook();
    if (!j) return b;
    for (const [id, users] of j.received || []) b.received.set(id, new Map(users));
    for (const [c, users] of j.read || []) b.read.set(c, new Map(users));
    for (const [id, c] of j.counts || []) b.counts.set(id, c);
    return b;
  }
}

// ---------------------------------------------------------------- client

/**
 * @typedef {object} Message  a `message` frame without v/type (PROTOCOL.md)
 * @property {string} message_id
 * @property {string} conversation_id
 * @property {string} sender_id
 * @property {string} [client_msg_id]
 * @property {string} kind
 * @property {string} [body]
 * @property {{id: string, mime?: string, size?: number, name?: string, width?: number, height?: number}[]} [attachments]
 * @property {{user_ids?: string[], name?: string}} [system]
 * @property {number} sent_at_ms
 */

/**
 * @typedef {object} ClientOptions
 * @property {string} [baseUrl] the gateway, e.g. `https://chat.example.com` (default: the page's origin)
 * @property {{getItem: Function, setItem: Function, removeItem: Function}} [storage] where the session,
 *   cursor, outbox and receipts are kept (sync or async); default in memory
 * @property {string} [storagePrefix] key prefix, default `parley.`
 * @property {string} [deviceName] shown in the user's device list
 * @property {typeof WebSocket} [WebSocket]
 * @property {typeof fetch} [fetch]
 * @property {() => boolean} [online] false while the app knows the network is gone
 */

/**
 * ParleyClient: one signed-in device. Events (subscribe with `on`):
 * - `state` `{state, retryInMs?, reason?}`: `signed_out`, `connecting`, `syncing`, `online`, `offline`, `closed`
 * - `message` {@link Message}: each new message once (deduplicated by id), live or from sync
 * - `ack` `{conversation_id, client_msg_id, message_id, sent_at_ms}`: an own message was stored
 * - `send_failed` `{clientMsgId, conversationId, error}`: a send the server refused for good
 * - `receipt`, `read_state`: the pushes, after the ReceiptBook was updated
 * - `typing` `{conversationId, userIds}`: who is typing now in a conversation
 * - `synced`: caught up after a (re)connect; live pushes follow
 * - `session`: the session (user, tokens) changed; `signed_out` when it ended
 * - `error` ParleyError: a push error or a failed background step
 */
export class ParleyClient extends Emitter {
  /** @param {ClientOptions} [opts] */
  constructor(opts = {}) {
    super();
    const loc = globalThis.location;
    this.baseUrl = (opts.baseUrl || (loc ? loc.origin : '')).replace(/\/$/, '');
    this.storage = opts.storage || new MemoryStorage();
    this.prefix = opts.storagePrefix || 'parley.';
    this.deviceName = opts.deviceName || 'Parley web';
    this._WS = opts.WebSocket || globalThis.WebSocket;
    this._fetch = opts.fetch || ((...a) => globalThis.fetch(...a));
    this._online = opts.online || (() => true);

    this.session = null; // {access_token, refresh_token, expires_at_ms, device_id, user}
    this.state = 'signed_out';
    this.receipts = new ReceiptBook();
    this.limits = null;
    this.rateLimits = null;
    this.skewMs = 0;

    this._ws = null;
    this._seq = 0;
    this._pending = new Map(); // request id → {resolve, reject, timer}
    this._seen = new Set(); // message ids already emitted
    this._seenOrder = [];
    this._outbox = []; // [{clientMsgId, conversationId, body, attachmentIds}]
    this._cursor = '';
    this._acks = new Map(); // conversation → {ids:Set, cursor}
    this._ackTimer = null;
    this._typing = new Map(); // conversation → Map user → timer
    this._myTyping = new Map(); // conversation → {lastSent, stopTimer}
    this._userCache = new Map();
    this._wanted = false; // the app wants a connection
    this._paused = false; // the app says the network is gone
    this._backoffStep = 500;
    this._reconnectTimer = null;
    this._goawayAt = 0;
    this._goawayDelay = -1;
    this._upSince = 0;
    this._timers = [];
    this._refreshing = null;
    this._usersInFlight = new Map();
    this._readSent = new Map(); // conversation → the read watermark sent
    this._receiptsTimer = null;
    this._pumping = false;
    this._lastRecv = 0;
  }

  // ------------------------------------------------------------ storage

  async _get(key) {
    const v = await this.storage.getItem(this.prefix + key);
    if (v == null) return null;
    try { return JSON.parse(v); } catch { return null; }
  }
  async _set(key, value) {
    if (value == null) await this.storage.removeItem(this.prefix + key);
    else await this.storage.setItem(this.prefix + key, JSON.stringify(value));
  }

  /**
   * Loads a stored session, outbox, cursor and receipts. Call once at start.
   * @returns {Promise<object|null>} the signed-in user, or null
   */
  async restore() {
    this.session = await this._get('session');
    if (!this.session) return null;
    this._cursor = (await this._get('cursor')) || '';
    this._outbox = (await this._get('outbox')) || [];
    this.receipts = ReceiptBook.fromJSON(await this._get('receipts'));
    this._setState('offline');
    return this.session.user;
  }

  /** The signed-in user (`{id, username, display_name, roles}`), or null. */
  get user() { return this.session ? this.session.user : null; }

  /** Whether the signed-in user has the platform `admin` role. */
  get isAdmin() { return !!(this.user && (this.user.roles || []).includes('admin')); }

  async _saveSession(s) {
    this.session = {
      access_token: s.access_token,
      refresh_token: s.refresh_token,
      expires_at_ms: Date.now() + (s.expires_in || 900) * 1000,
      device_id: s.device_id,
      user: s.user,
    };
    await this._set('session', this.session);
    this._emit('session', this.session);
  }

  // ------------------------------------------------------------ HTTP

  /**
   * Calls the public HTTP API. Errors become ParleyError with the server's code.
   * @param {string} method
   * @param {string} path under the gateway, e.g. `/api/v1/messages/conversations`
   * @param {{json?: any, body?: any, query?: Record<string, any>, auth?: boolean, raw?: boolean, headers?: Record<string,string>}} [o]
   */
  async http(method, path, o = {}) {
    let url = this.baseUrl + path;
    if (o.query) {
      const q = Object.entries(o.query).filter(([, v]) => v !== undefined && v !== null && v !== '');
      if (q.length) url += '?' + q.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
    }
    const headers = { ...(o.headers || {}) };
    let body = o.body;
    if (o.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(o.json);
    }
    if (o.auth !== false) headers.Authorization = 'Bearer ' + (await this.accessToken());
    let res;
    try {
      res = await this._fetch(url, { method, headers, body });
    } catch (e) {
      throw new ParleyError('unavailable', `network error: ${e.message || e}`, { retryable: true });
    }
    if (!res.ok) {
      let err = {};
      try { err = (await res.json()).error || {}; } catch { /* not JSON */ }
      const code = err.code || (res.status === 404 ? 'not_found' : res.status >= 500 ? 'unavailable' : 'invalid_argument');
      throw new ParleyError(code, err.message || `${method} ${path}: HTTP ${res.status}`, {
        retryable: err.retryable ?? RETRYABLE.has(code), retryAfterMs: err.retry_after_ms,
        details: err.details, status: res.status,
      });
    }
    if (o.raw) return res;
    if (res.status === 204) return null;
    const text = await res.text();
    return text ? JSON.parse(text) : null;
  }

  /**
   * Creates an account. Does not sign in.
   * @param {{username: string, password: string, displayName?: string}} a
   */
  async register({ username, password, displayName }) {
    const r = await this.http('POST', '/api/v1/auth/register', {
      auth: false, json: { username, password, display_name: displayName || username },
    });
    return r.user;
  }

  /**
   * Signs in as a new device (or the stored one) and stores the session.
   * @param {{username: string, password: string}} a
   */
  async signIn({ username, password }) {
    const prev = await this._get('device');
    const s = await this.http('POST', '/api/v1/auth/sign-in', {
      auth: false,
      json: { username, password, device_name: this.deviceName, ...(prev && prev.user === username.toLowerCase() ? { device_id: prev.id } : {}) },
    });
    await this._set('device', { user: s.user.username, id: s.device_id });
    if (!this.session || this.session.device_id !== s.device_id || this.session.user.id !== s.user.id) {
      // Another device or user: the stored cursor and outbox belong to the old one.
      this._cursor = '';
      this._outbox = [];
      this.receipts = new ReceiptBook();
      await Promise.all([this._set('cursor', null), this._set('outbox', null), this._set('receipts', null)]);
    }
    await this._saveSession(s);
    this._setState('offline');
    return s.user;
  }

  /** Ends this device's session on the server and forgets it here. */
  async signOut() {
    try { if (this.session) await this.http('POST', '/api/v1/auth/sign-out'); } catch { /* gone anyway */ }
    await this._forget('signed_out');
  }

  async _forget(reason) {
    this.disconnect();
    this.session = null;
    this._cursor = '';
    this._outbox = [];
    this.receipts = new ReceiptBook();
    await Promise.all(['session', 'cursor', 'outbox', 'receipts'].map((k) => this._set(k, null)));
    this._setState('signed_out', { reason });
    this._emit('session', null);
  }

  /**
   * A valid access token, refreshed first when less than 20% of its life
   * (or under 30 s) is left.
   */
  async accessToken() {
    if (!this.session) throw new ParleyError('unauthenticated', 'not signed in');
    const left = this.session.expires_at_ms - Date.now();
    if (left < 30_000) await this.refreshSession();
    return this.session.access_token;
  }

  /** Exchanges the refresh token for a new session (one exchange at a time). */
  refreshSession() {
    if (!this._refreshing) {
      this._refreshing = (async () => {
        try {
          const s = await this.http('POST', '/api/v1/auth/refresh', { auth: false, json: { refresh_token: this.session.refresh_token } });
          await this._saveSession(s);
        } catch (e) {
          if (!e.retryable) await this._forget('session_ended');
          throw e;
        } finally {
          this._refreshing = null;
        }
      })();
    }
    return this._refreshing;
  }

  // ------------------------------------------------------------ REST helpers

  /** The signed-in user's account, refreshed from the server. */
  async me() { return (await this.http('GET', '/api/v1/auth/me')).user; }

  /** A user's public profile `{id, display_name}` by id (cached). */
  userById(id) {
    if (this._userCache.has(id)) return Promise.resolve(this._userCache.get(id));
    if (!this._usersInFlight.has(id)) {
      const p = this.http('GET', `/api/v1/auth/users/${encodeURIComponent(id)}`).then((u) => {
        const user = u.user || u;
        this._userCache.set(id, user);
        return user;
      }).finally(() => this._usersInFlight.delete(id));
      this._usersInFlight.set(id, p);
    }
    return this._usersInFlight.get(id);
  }

  /** A user's public profile `{id, display_name}` by exact user name. */
  async userByUsername(username) {
    const u = await this.http('GET', `/api/v1/auth/users/by-username/${encodeURIComponent(username)}`);
    const user = u.user || u;
    this._userCache.set(user.id, user);
    return user;
  }

  /** Sets a user's platform roles (admin only). */
  async setRoles(userId, roles) {
    return (await this.http('PUT', `/api/v1/auth/admin/users/${userId}/roles`, { json: { roles } })).user;
  }

  /**
   * The user's conversations, most recent first:
   * `[{conversation_id, last_message?, unread, read_up_to?}]`.
   */
  async conversations({ before, limit } = {}) {
    return (await this.http('GET', '/api/v1/messages/conversations', { query: { before, limit } })).conversations || [];
  }

  /**
   * A page of a conversation's history, ascending; over the WebSocket when
   * connected, else over HTTP. `{messages, more}`.
   * @param {string} conversationId
   * @param {{before?: string, after?: string, limit?: number}} [o]
   */
  async history(conversationId, o = {}) {
    if (this.state === 'online' || this.state === 'syncing') {
      try {
        const p = await this._request({ type: 'history', conversation_id: conversationId, ...pick(o, ['before', 'after', 'limit']) });
        return { messages: p.messages || [], more: !!p.more };
      } catch (e) {
        if (!e.retryable) throw e;
      }
    }
    const p = await this.http('GET', `/api/v1/messages/conversations/${encodeURIComponent(conversationId)}/history`, { query: o });
    return { messages: p.messages || [], more: !!p.more };
  }

  /**
   * Who received and who read a group message, and when (groups up to a
   * server-set size): `{message_id, of, received: [{user_id, at_ms}], read: [...]}`.
   */
  async readers(conversationId, messageId) {
    return this.http('GET', `/api/v1/messages/conversations/${encodeURIComponent(conversationId)}/messages/${messageId}/readers`);
  }

  // groups (groupsvc: /api/v1/groups)

  /** The groups the user belongs to, each with the user's `role`. */
  async groups() { return (await this.http('GET', '/api/v1/groups')).groups || []; }
  /**
   * One group: `{id, name, topic, size_limit, effective_limit, limit_kind,
   * member_count, role, …}` (`role` is the caller's).
   */
  async group(groupId) { return (await this.http('GET', `/api/v1/groups/${groupId}`)).group; }
  /** Every member of a group: `[{user_id, role, joined_at}]`. */
  async members(groupId) {
    const out = [];
    let after = '';
    for (;;) {
      const p = await this.http('GET', `/api/v1/groups/${groupId}/members`, { query: { after, limit: 100 } });
      out.push(...(p.members || []));
      if (!p.next || p.next === after) return out;
      after = p.next;
    }
  }
  /**
   * Creates a group with the given members (user ids); the creator is its
   * owner. `sizeLimit` 0 takes the platform default.
   */
  async createGroup({ name, topic, memberIds = [], sizeLimit = 0 }) {
    const json = { name, members: memberIds };
    if (topic) json.topic = topic;
    if (sizeLimit) json.size_limit = sizeLimit;
    return (await this.http('POST', '/api/v1/groups', { json })).group;
  }
  /** Renames a group or changes its topic: `{name?, topic?}`. */
  async updateGroup(groupId, patch) { return (await this.http('PATCH', `/api/v1/groups/${groupId}`, { json: patch })).group; }
  /** Sets the group's own member limit (owners and admins), within the platform ceiling. */
  async setGroupLimit(groupId, sizeLimit) {
    return (await this.http('PUT', `/api/v1/groups/${groupId}/limit`, { json: { size_limit: sizeLimit } })).group;
  }
  /** Adds members (user ids): `{group, added, already_members}`. Over the limit: `limit_exceeded`. */
  async addMembers(groupId, userIds) {
    return this.http('POST', `/api/v1/groups/${groupId}/members`, { json: { users: userIds } });
  }
  /** Removes a member. */
  async removeMember(groupId, userId) { return this.http('DELETE', `/api/v1/groups/${groupId}/members/${userId}`); }
  /** Leaves a group. */
  async leaveGroup(groupId) { return this.http('POST', `/api/v1/groups/${groupId}/leave`); }
  /** Sets a member's role: `owner`, `admin` or `member`. */
  async setMemberRole(groupId, userId, role) {
    return (await this.http('PUT', `/api/v1/groups/${groupId}/members/${userId}/role`, { json: { role } })).member;
  }
  /** The platform's group limits `{default_limit, ceiling, min_limit}`. */
  async groupLimits() { return this.http('GET', '/api/v1/groups/limits'); }
  /** The platform's group limits for admins (adds `max_ceiling`). */
  async adminGroupLimits() { return this.http('GET', '/api/v1/groups/admin/limits'); }
  /** Sets the platform's `{default_limit?, ceiling?}` (admin only). */
  async setAdminGroupLimits(limits) { return this.http('PUT', '/api/v1/groups/admin/limits', { json: limits }); }

  // media (mediasvc/README.md)

  /**
   * Uploads a file (Blob, ArrayBuffer or typed array) and returns its media
   * record `{id, mime, size, name, width, height, has_thumbnail}`.
   */
  async upload(data, name) {
    const r = await this.http('POST', '/api/v1/media', { query: { name }, body: data });
    return r.media;
  }
  /** A media record. */
  async mediaInfo(id) { return (await this.http('GET', `/api/v1/media/${id}`)).media; }
  /**
   * Downloads media content or its thumbnail with the user's token.
   * @param {string} id
   * @param {'content'|'thumbnail'} [variant]
   * @returns {Promise<Response>} read it with `.blob()` or `.arrayBuffer()`
   */
  async download(id, variant = 'content') {
    return this.http('GET', `/api/v1/media/${id}/${variant}`, { raw: true });
  }
  /** Upload limits per type `{limits, allowed}`. */
  async mediaLimits() { return this.http('GET', '/api/v1/media/limits'); }
  /** Sets per-type upload limits in bytes (admin only). */
  async setMediaLimits(limits) { return this.http('PUT', '/api/v1/media/admin/limits', { json: { limits } }); }

  // ------------------------------------------------------------ connection

  /** Opens the WebSocket and keeps it open (reconnecting) until disconnect(). */
  connect() {
    if (!this.session) throw new ParleyError('unauthenticated', 'not signed in');
    this._wanted = true;
    this._paused = false;
    if (!this._ws && !this._reconnectTimer) this._open();
  }

  /** Closes the connection and stops reconnecting. */
  disconnect() {
    this._wanted = false;
    this._teardown(1000, 'client disconnect');
    this._setState(this.session ? 'offline' : 'signed_out');
  }

  /**
   * Tells the client the network is gone (the browser's `offline` event):
   * the socket is closed at once instead of waiting for pings to fail.
   */
  pause() {
    if (!this._wanted) return;
    this._paused = true;
    this._teardown(1000, 'network offline');
    this._setState('offline', { reason: 'network' });
  }

  /** The network is back: reconnect now. */
  resume() {
    if (!this._wanted) return;
    this._paused = false;
    this._backoffStep = 500;
    if (!this._ws) this._open();
  }

  _setState(state, extra = {}) {
    this.state = state;
    this._emit('state', { state, ...extra });
  }

  _teardown(code, reason) {
    clearTimeout(this._reconnectTimer);
    this._reconnectTimer = null;
    for (const t of this._timers) clearTimeout(t);
    this._timers = [];
    clearTimeout(this._ackTimer);
    this._ackTimer = null;
    const ws = this._ws;
    this._ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
      try { ws.close(code, reason); } catch { /* already closed */ }
    }
    this._failPending(new ParleyError('unavailable', 'connection closed', { retryable: true }));
  }

  _failPending(err) {
    for (const p of this._pending.values()) { clearTimeout(p.timer); p.reject(err); }
    this._pending.clear();
  }

  async _open() {
    this._reconnectTimer = null;
    if (!this._wanted || this._paused) return;
    if (!this._online()) { this._setState('offline', { reason: 'network' }); this._paused = true; return; }
    this._setState('connecting');
    let token;
    try {
      token = await this.accessToken();
    } catch (e) {
      if (e.retryable) return this._scheduleReconnect(0);
      return; // the session ended: _forget already told the app
    }
    if (!this._wanted || this._paused || this._ws) return;
    const url = this.baseUrl.replace(/^http/, 'ws') + '/v1/ws';
    let ws;
    try {
      ws = new this._WS(url, [SUBPROTOCOL, BEARER_PREFIX + token]);
    } catch (e) {
      return this._scheduleReconnect(0);
    }
    this._ws = ws;
    this._goawayDelay = -1;
    this._lastRecv = Date.now();
    ws.onopen = () => this._onOpen(ws);
    ws.onmessage = (ev) => this._onFrame(ws, ev.data);
    ws.onclose = (ev) => this._onClose(ws, ev.code, ev.reason);
    ws.onerror = () => { /* onclose follows */ };
  }

  async _onOpen(ws) {
    if (ws.protocol && ws.protocol !== SUBPROTOCOL) {
      this._emit('error', new ParleyError('failed_precondition', `server speaks ${ws.protocol}, not ${SUBPROTOCOL}`));
      return this._teardown(1000, 'wrong protocol');
    }
    try {
      const w = await this._request({ type: 'auth' }, 10_000);
      this.skewMs = w.server_time_ms - Date.now();
      this.limits = w.limits;
      this.rateLimits = w.rate_limits || null;
      this._upSince = Date.now();
      this._startPinger(ws, w.ping_interval_ms || 25_000);
      this._scheduleRefresh(w.session_expires_at_ms);
      await this._catchUp();
    } catch (e) {
      if (this._ws === ws) {
        this._emit('error', e);
        try { ws.close(); } catch { /* closing anyway */ }
      }
    }
  }

  // Sync from the stored cursor until caught up, then resend the outbox.
  async _catchUp() {
    this._setState('syncing');
    for (;;) {
      const req = { type: 'sync', limit: 100 };
      if (this._cursor) req.cursor = this._cursor;
      let page;
      try {
        page = await this._request(req, 15_000);
      } catch (e) {
        if (e.code === 'failed_precondition' && this._cursor) {
          // The cursor expired: start from the server's; the app re-reads history.
          this._cursor = '';
          await this._set('cursor', null);
          this._emit('error', e);
          continue;
        }
        throw e;
      }
      for (const m of page.messages || []) this._onMessage(m);
      for (const r of page.receipts || []) this._onReceipt(r);
      for (const s of page.read_states || []) this._emit('read_state', s);
      await this._storeCursor(page.cursor);
      this._flushAcks();
      if (!page.more) break;
    }
    this._setState('online');
    this._emit('synced');
    this._pump();
  }

  async _storeCursor(cursor) {
    if (!cursor || cursor === this._cursor) return;
    this._cursor = cursor;
    await this._set('cursor', cursor);
  }

  _startPinger(ws, intervalMs) {
    const tick = () => {
      if (this._ws !== ws) return;
      const quiet = Date.now() - this._lastRecv;
      if (quiet >= 2 * intervalMs + 5_000) {
        // No pong within twice the interval: the connection is dead.
        try { ws.close(); } catch { /* gone */ }
        return this._onClose(ws, 0, 'ping timeout');
      }
      if (quiet >= intervalMs) this._request({ type: 'ping' }, 2 * intervalMs).catch(() => {});
      this._timers.push(setTimeout(tick, Math.min(intervalMs, 5_000)));
    };
    this._timers.push(setTimeout(tick, Math.min(intervalMs, 5_000)));
  }

  _scheduleRefresh(expiresAtMs) {
    const now = Date.now() + this.skewMs;
    const total = Math.max(expiresAtMs - now, 0);
    // At 80% of the session, by the server's clock.
    const delay = Math.max(total * 0.8, 1_000);
    this._timers.push(setTimeout(async () => {
      try {
        await this.refreshSession();
        const r = await this._request({ type: 'refresh', token: this.session.access_token });
        this._scheduleRefresh(r.session_expires_at_ms);
      } catch (e) {
        this._emit('error', e);
      }
    }, delay));
  }

  _onClose(ws, code, reason) {
    if (this._ws !== ws) return;
    this._ws = null;
    for (const t of this._timers) clearTimeout(t);
    this._timers = [];
    this._failPending(new ParleyError('unavailable', 'connection closed', { retryable: true }));
    if (!this._wanted) return;
    if (this._upSince && Date.now() - this._upSince > 60_000) this._backoffStep = 500;
    this._upSince = 0;
    switch (code) {
      case 1000:
        // Replaced by a newer connection of this device, or ended on request.
        this._wanted = false;
        return this._setState('closed', { reason: reason || 'closed' });
      case 4401:
        // The token was refused: try one refresh before giving up.
        return this.refreshSession().then(() => this._scheduleReconnect(0), () => {});
      case 4403:
        return this._forget('revoked');
      case 4408:
        this._wanted = false;
        return this._setState('closed', { reason: 'origin_not_allowed' });
      case 4003:
        return this.refreshSession().then(() => this._scheduleReconnect(0), (e) => e.retryable && this._scheduleReconnect());
      case 4000: {
        if (this._goawayDelay >= 0) {
          const wait = Math.max(this._goawayAt + this._goawayDelay - Date.now(), 0);
          return this._scheduleReconnect(wait);
        }
        return this._scheduleReconnect(Math.random() * 5_000);
      }
      case 4001:
        return this._scheduleReconnect(Math.random() * 2_000);
      case 4004:
        return this._scheduleReconnect(30_000 + Math.random() * 30_000);
      default:
        return this._scheduleReconnect();
    }
  }

  // Full-jitter exponential backoff from 0.5 s to 30 s, or a given delay.
  _scheduleReconnect(delayMs) {
    if (!this._wanted || this._paused) return;
    let d = delayMs;
    if (d === undefined) {
      d = Math.random() * this._backoffStep;
      this._backoffStep = Math.min(this._backoffStep * 2, 30_000);
    }
    clearTimeout(this._reconnectTimer);
    this._setState('offline', { retryInMs: Math.round(d) });
    this._reconnectTimer = setTimeout(() => this._open(), d);
  }

  /** Reconnects now instead of waiting for the backoff (a "retry now" button). */
  reconnectNow() {
    if (!this._wanted || this._ws) return;
    clearTimeout(this._reconnectTimer);
    this._open();
  }

  _request(frame, timeoutMs = 10_000) {
    const ws = this._ws;
    if (!ws || ws.readyState !== 1) return Promise.reject(new ParleyError('unavailable', 'not connected', { retryable: true }));
    const id = String(++this._seq);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(id);
        reject(new ParleyError('deadline_exceeded', `${frame.type}: no reply within ${timeoutMs} ms`, { retryable: true }));
      }, timeoutMs);
      this._pending.set(id, { resolve, reject, timer });
      ws.send(JSON.stringify({ v: PROTOCOL_VERSION, id, ...frame }));
    });
  }

  // Fire-and-forget frames (received, read, typing): errors come back as
  // `error` frames with this id and are reported as `error` events.
  _post(frame, duringSync = false) {
    const ws = this._ws;
    if (!ws || ws.readyState !== 1) return false;
    if (this.state !== 'online' && !(duringSync && this.state === 'syncing')) return false;
    const id = String(++this._seq);
    this._pending.set(id, {
      resolve: () => {}, reject: (e) => this._emit('error', e), timer: setTimeout(() => this._pending.delete(id), 30_000),
    });
    ws.send(JSON.stringify({ v: PROTOCOL_VERSION, id, ...frame }));
    return true;
  }

  _onFrame(ws, data) {
    if (this._ws !== ws) return;
    this._lastRecv = Date.now();
    let f;
    try { f = JSON.parse(data); } catch { return; }
    if (f.id && this._pending.has(f.id)) {
      const p = this._pending.get(f.id);
      this._pending.delete(f.id);
      clearTimeout(p.timer);
      if (f.type === 'error') {
        p.reject(new ParleyError(f.code, f.message, { retryable: f.retryable, retryAfterMs: f.retry_after_ms, details: f.details }));
      } else {
        p.resolve(f);
      }
      return;
    }
    switch (f.type) {
      case 'message':
        this._onMessage(f);
        this._storeCursor(f.cursor);
        this._scheduleAcks();
        break;
      case 'receipt':
        this._onReceipt(f);
        this._storeCursor(f.cursor);
        break;
      case 'read_state':
        this._emit('read_state', f);
        this._storeCursor(f.cursor);
        break;
      case 'typing_state':
        this._onTyping(f);
        break;
      case 'goaway':
        this._goawayAt = Date.now();
        this._goawayDelay = f.reconnect_after_ms || 0;
        // Stop using this connection; the server closes it with 4000.
        this._setState('offline', { reason: 'goaway', retryInMs: this._goawayDelay });
        break;
      case 'error':
        this._emit('error', new ParleyError(f.code, f.message, { retryable: f.retryable, details: f.details }));
        break;
      default:
        break; // unknown push types are skipped (PROTOCOL.md, Compatibility)
    }
  }

  _onMessage(m) {
    const msg = { ...m };
    delete msg.v; delete msg.type; delete msg.cursor; delete msg.id;
    const own = this.user && msg.sender_id === this.user.id;
    if (own && msg.client_msg_id) this._settle(msg.client_msg_id, {
      conversation_id: msg.conversation_id, client_msg_id: msg.client_msg_id, message_id: msg.message_id, sent_at_ms: msg.sent_at_ms,
    });
    if (this._seen.has(msg.message_id)) return;
    this._markSeen(msg.message_id);
    if (!own) {
      if (!this._acks.has(msg.conversation_id)) this._acks.set(msg.conversation_id, new Set());
      this._acks.get(msg.conversation_id).add(msg.message_id);
    }
    this._emit('message', msg);
  }

  _markSeen(id) {
    this._seen.add(id);
    this._seenOrder.push(id);
    if (this._seenOrder.length > 20_000) this._seen.delete(this._seenOrder.shift());
  }

  /** Whether a message id was already delivered to the app. */
  seen(messageId) { return this._seen.has(messageId); }

  _onReceipt(r) {
    this.receipts.apply(r);
    this._saveReceiptsSoon();
    this._emit('receipt', r);
  }

  _saveReceiptsSoon() {
    if (this._receiptsTimer) return;
    this._receiptsTimer = setTimeout(() => {
      this._receiptsTimer = null;
      if (this.session) this._set('receipts', this.receipts.toJSON());
    }, 500);
  }

  _scheduleAcks() {
    if (this._ackTimer) return;
    this._ackTimer = setTimeout(() => { this._ackTimer = null; this._flushAcks(); }, 100);
  }

  // One `received` per conversation, at most max_ack_ids ids each, the
  // stored cursor riding along.
  _flushAcks() {
    const max = (this.limits && this.limits.max_ack_ids) || 100;
    for (const [conv, set] of this._acks) {
      const ids = [...set];
      let sent = true;
      for (let i = 0; i < ids.length && sent; i += max) {
        const frame = { type: 'received', conversation_id: conv, message_ids: ids.slice(i, i + max) };
        if (this._cursor) frame.cursor = this._cursor;
        sent = this._post(frame, true);
      }
      if (sent) this._acks.delete(conv);
    }
  }

  // ------------------------------------------------------------ sending

  /**
   * Sends a message. It is kept in a stored outbox and sent in order, one
   * at a time, retried (with the same client_msg_id, so never duplicated)
   * until the server acks it or refuses it for good.
   * @param {string} conversationId
   * @param {{body?: string, attachmentIds?: string[]}} content
   * @returns {{clientMsgId: string, done: Promise<{message_id: string, sent_at_ms: number}>}}
   */
  send(conversationId, { body = '', attachmentIds = [] } = {}) {
    const clientMsgId = 'c-' + randomId();
    const item = { clientMsgId, conversationId, body, attachmentIds };
    this._outbox.push(item);
    this._set('outbox', this._outbox);
    const done = new Promise((resolve, reject) => { item.resolve = resolve; item.reject = reject; });
    done.catch(() => {});
    this._pump();
    return { clientMsgId, done };
  }

  /** Sends not yet acknowledged by the server, oldest first. */
  get outbox() { return this._outbox.map(({ clientMsgId, conversationId, body, attachmentIds }) => ({ clientMsgId, conversationId, body, attachmentIds })); }

  // One send in flight at a time keeps a device's messages in the order it
  // wrote them, also across retries, and never floods the rate limit.
  async _pump() {
    if (this._pumping) return;
    this._pumping = true;
    try {
      let failures = 0;
      while (this.state === 'online' && this._outbox.length) {
        const item = this._outbox[0];
        const frame = { type: 'send', conversation_id: item.conversationId, client_msg_id: item.clientMsgId };
        if (item.body) frame.body = item.body;
        if (item.attachmentIds && item.attachmentIds.length) frame.attachment_ids = item.attachmentIds;
        try {
          const ack = await this._request(frame, 15_000);
          failures = 0;
          this._settle(item.clientMsgId, ack);
        } catch (e) {
          if (!e.retryable) {
            this._drop(item.clientMsgId);
            if (item.reject) item.reject(e);
            this._emit('send_failed', { clientMsgId: item.clientMsgId, conversationId: item.conversationId, error: e });
            continue;
          }
          // Rate limited or a backend hiccup: wait, then the same item again
          // (a reconnect resumes the pump after its sync).
          failures += 1;
          const wait = e.retryAfterMs || Math.min(500 * 2 ** failures, 10_000) * (0.5 + Math.random() / 2);
          await new Promise((r) => setTimeout(r, wait));
        }
      }
    } finally {
      this._pumping = false;
    }
  }

  _settle(clientMsgId, ack) {
    const item = this._outbox.find((i) => i.clientMsgId === clientMsgId);
    if (!item) return;
    this._drop(clientMsgId);
    const a = { conversation_id: ack.conversation_id, client_msg_id: clientMsgId, message_id: ack.message_id, sent_at_ms: ack.sent_at_ms };
    // The live copy of an acked message is a duplicate: the app has it.
    this._markSeen(a.message_id);
    if (item.resolve) item.resolve(a);
    this._emit('ack', a);
  }

  _drop(clientMsgId) {
    this._outbox = this._outbox.filter((i) => i.clientMsgId !== clientMsgId);
    this._set('outbox', this._outbox);
  }

  // ------------------------------------------------------------ receipts and typing

  /**
   * Marks a conversation read up to a message (watermark; only moves forward).
   * Call when the user has seen the newest message.
   */
  markRead(conversationId, upTo) {
    if (!upTo) return;
    const prev = this._readSent.get(conversationId);
    if (prev && compareIds(prev, upTo) >= 0) return;
    if (this._post({ type: 'read', conversation_id: conversationId, up_to: upTo })) this._readSent.set(conversationId, upTo);
  }

  /**
   * Call on every keystroke: sends `typing` true at most every 3 s and
   * false 5 s after the last keystroke (or at once with stopTyping).
   */
  userTyping(conversationId) {
    let t = this._myTyping.get(conversationId);
    if (!t) { t = { lastSent: 0, stop: null }; this._myTyping.set(conversationId, t); }
    const now = Date.now();
    if (now - t.lastSent > 3_000) {
      if (this._post({ type: 'typing', conversation_id: conversationId, active: true })) t.lastSent = now;
    }
    clearTimeout(t.stop);
    t.stop = setTimeout(() => this.stopTyping(conversationId), 5_000);
  }

  /** The user stopped typing (sent the message or cleared the input). */
  stopTyping(conversationId) {
    const t = this._myTyping.get(conversationId);
    if (!t) return;
    clearTimeout(t.stop);
    this._myTyping.delete(conversationId);
    if (t.lastSent) this._post({ type: 'typing', conversation_id: conversationId, active: false });
  }

  _onTyping(f) {
    const conv = f.conversation_id;
    if (!this._typing.has(conv)) this._typing.set(conv, new Map());
    const users = this._typing.get(conv);
    clearTimeout(users.get(f.user_id));
    users.delete(f.user_id);
    if (f.active) {
      users.set(f.user_id, setTimeout(() => {
        users.delete(f.user_id);
        this._emit('typing', { conversationId: conv, userIds: [...users.keys()] });
      }, f.ttl_ms || 6_000));
    }
    this._emit('typing', { conversationId: conv, userIds: [...users.keys()] });
  }

  /** Who is typing in a conversation now (user ids). */
  typingIn(conversationId) { return [...(this._typing.get(conversationId) || new Map()).keys()]; }
}

function pick(o, keys) {
  const out = {};
  for (const k of keys) if (o[k] !== undefined && o[k] !== null && o[k] !== '') out[k] = o[k];
  return out;
}
