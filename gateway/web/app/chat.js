// The signed-in app: conversation list, one open chat, dialogs and the
// admin page. State lives here; the SDK does the protocol.
import { compareIds, directConversation, parseConversation, peerOf } from '/sdk/parley.js';
import { h, replace, shortTime, clock, fullTime, bytes, avatar, explain, icon } from '/app/ui.js';
import { newChatDialog, newGroupDialog, groupInfoDialog } from '/app/groups.js';
import { adminPage } from '/app/admin.js';

const PAGE = 30;

export class ChatApp {
  constructor(client, root) {
    this.client = client;
    this.root = root;
    this.me = client.user;
    /** @type {Map<string, Conv>} */
    this.convs = new Map();
    this.open = null; // the open conversation id
    this.view = 'list'; // phone: which half shows
    this.blobs = new Map(); // media id + variant → object URL
    this.off = [];
    this.groupNames = new Map();
    this.expanded = new Set(); // messages whose tick times are shown
    this.readers = new Map(); // group message → lines of who received and read it
  }

  start() {
    const c = this.client;
    this.off.push(
      c.on('message', (m) => this.onMessage(m)),
      c.on('ack', (a) => this.onAck(a)),
      c.on('send_failed', (f) => this.onSendFailed(f)),
      c.on('receipt', (r) => this.onReceipt(r)),
      c.on('read_state', (s) => this.onReadState(s)),
      c.on('typing', (t) => this.onTyping(t)),
      c.on('synced', () => this.onSynced()),
    );
    this.onVisible = () => { if (document.visibilityState === 'visible') this.markOpenRead(); };
    document.addEventListener('visibilitychange', this.onVisible);
    this.buildShell();
    this.loadConversations().finally(() => c.connect());
    // Own messages not yet acknowledged, from an earlier page load.
    for (const o of c.outbox) this.addPending(o.conversationId, o.clientMsgId, o.body, []);
  }

  destroy() {
    for (const f of this.off) f();
    document.removeEventListener('visibilitychange', this.onVisible);
    for (const url of this.blobs.values()) if (typeof url === 'string' && url.startsWith('blob:')) URL.revokeObjectURL(url);
  }

  // ---------------------------------------------------------------- model

  conv(id) {
    let c = this.convs.get(id);
    if (!c) {
      const p = parseConversation(id);
      c = {
        id, kind: p ? p.kind : 'unknown', title: '', last: null, unread: 0, typing: [],
        messages: new Map(), loaded: false, more: true, loading: false, peer: '',
      };
      if (c.kind === 'direct') c.peer = peerOf(id, this.me.id);
      this.convs.set(id, c);
      this.resolveTitle(c);
    }
    return c;
  }

  async resolveTitle(c) {
    try {
      if (c.kind === 'direct') {
        const u = c.peer === this.me.id ? this.me : await this.client.userById(c.peer);
        c.title = u.display_name || u.username || 'Someone';
      } else if (c.kind === 'group') {
        const gid = c.id.slice(2);
        if (!this.groupNames.has(gid)) {
          const g = await this.client.group(gid);
          this.groupNames.set(gid, (g.group || g).name);
        }
        c.title = this.groupNames.get(gid);
      }
    } catch {
      c.title = c.title || (c.kind === 'group' ? 'Group' : 'Unknown user');
    }
    this.renderList();
    if (this.open === c.id) this.renderHeader();
  }

  async name(userId) {
    if (userId === this.me.id) return 'You';
    try { return (await this.client.userById(userId)).display_name; } catch { return 'Someone'; }
  }

  sortedConvs() {
    return [...this.convs.values()].sort((a, b) => compareIds(b.last ? b.last.message_id : '0', a.last ? a.last.message_id : '0'));
  }

  async loadConversations() {
    try {
      const list = await this.client.conversations({ limit: 100 });
      for (const item of list) {
        const c = this.conv(item.conversation_id);
        if (item.last_message) this.noteLast(c, item.last_message);
        c.unread = item.unread || 0;
      }
    } catch (e) {
      this.toast(explain(e));
    }
    this.renderList();
  }

  noteLast(c, m) {
    if (!c.last || compareIds(m.message_id || '0', c.last.message_id || '0') >= 0 || !m.message_id) c.last = m;
  }

  msgKey(m) { return m.message_id || 'pending:' + m.client_msg_id; }

  // ---------------------------------------------------------------- events

  onMessage(m) {
    const c = this.conv(m.conversation_id);
    if (m.kind !== 'user' && m.system && m.system.name && c.kind === 'group') {
      this.groupNames.set(c.id.slice(2), m.system.name);
      c.title = m.system.name;
    }
    const mine = m.sender_id === this.me.id;
    if (mine && m.client_msg_id) c.messages.delete('pending:' + m.client_msg_id);
    if (c.messages.has(m.message_id)) return;
    const newer = !c.last || compareIds(m.message_id, c.last.message_id || '0') > 0;
    if (c.loaded || c.id === this.open) c.messages.set(m.message_id, m);
    this.noteLast(c, m);
    if (!mine && newer) {
      if (this.open === c.id && this.visible()) this.client.markRead(c.id, m.message_id);
      else c.unread += 1;
    }
    this.renderList();
    if (this.open === c.id) {
      this.renderMessages({ stick: true });
      if (!mine) this.announce(m);
    }
  }

  onAck(a) {
    const c = this.conv(a.conversation_id);
    const p = c.messages.get('pending:' + a.client_msg_id);
    c.messages.delete('pending:' + a.client_msg_id);
    const m = { ...(p || {}), ...a, sender_id: this.me.id, kind: 'user', pending: false };
    delete m.localUrls;
    if (p && p.localUrls) m.localUrls = p.localUrls;
    c.messages.set(a.message_id, m);
    this.noteLast(c, m);
    this.renderList();
    if (this.open === c.id) this.renderMessages({ stick: true });
  }

  onSendFailed({ clientMsgId, conversationId, error }) {
    const c = this.conv(conversationId);
    const p = c.messages.get('pending:' + clientMsgId);
    const gone = c.kind === 'group' && (error.code === 'not_found' || error.code === 'permission_denied');
    if (p) p.failed = gone ? 'you are not a member of this group.' : explain(error);
    if (this.open === c.id) this.renderMessages();
  }

  onReceipt(r) {
    if (this.open === r.conversation_id) this.renderTicks();
  }

  onReadState(s) {
    const c = this.conv(s.conversation_id);
    c.unread = s.unread;
    this.renderList();
  }

  onTyping({ conversationId, userIds }) {
    const c = this.conv(conversationId);
    c.typing = userIds.filter((u) => u !== this.me.id);
    this.renderList();
    if (this.open === conversationId) this.renderTyping();
  }

  async onSynced() {
    // After a reconnect, re-read the open chat's newest page: anything sent
    // while this device was away is there even if the inbox was cut short.
    if (this.open) {
      const c = this.conv(this.open);
      try {
        const page = await this.client.history(c.id, { limit: PAGE });
        for (const m of page.messages) if (!c.messages.has(m.message_id)) c.messages.set(m.message_id, m);
        this.renderMessages({ stick: true });
        this.markOpenRead();
      } catch { /* the next sync fills it in */ }
    }
  }

  visible() { return document.visibilityState === 'visible'; }

  // ---------------------------------------------------------------- shell

  buildShell() {
    const me = this.me;
    const actions = h('div', { class: 'side-actions' },
      h('button', { type: 'button', class: 'primary small', onclick: () => newChatDialog(this) }, 'New chat'),
      h('button', { type: 'button', class: 'small', onclick: () => newGroupDialog(this) }, 'New group'),
      this.client.isAdmin ? h('button', { type: 'button', class: 'small', onclick: () => this.showAdmin() }, 'Admin') : null,
    );
    this.listEl = h('ul', { class: 'conv-list', 'aria-label': 'Conversations' });
    this.sidebar = h('aside', { class: 'sidebar', 'aria-label': 'Conversations' },
      h('header', { class: 'side-head' },
        h('div', { class: 'me' }, avatar(me.id, me.display_name), h('div', {},
          h('strong', {}, me.display_name), h('small', {}, '@' + me.username))),
        h('button', { type: 'button', class: 'link', onclick: () => this.client.signOut() }, 'Sign out')),
      actions, this.listEl);
    this.pane = h('section', { class: 'pane', 'aria-label': 'Chat' });
    this.live = h('div', { class: 'sr-only', 'aria-live': 'polite', id: 'announcer' });
    this.toastEl = h('div', { class: 'toast', role: 'alert', hidden: true });
    this.shell = h('div', { class: 'shell', dataset: { view: 'list' } }, this.sidebar, this.pane, this.live, this.toastEl);
    replace(this.root, this.shell);
    this.renderEmpty();
  }

  setView(v) {
    this.view = v;
    this.shell.dataset.view = v;
  }

  toast(text) {
    replace(this.toastEl, text);
    this.toastEl.hidden = !text;
    clearTimeout(this.toastTimer);
    if (text) this.toastTimer = setTimeout(() => { this.toastEl.hidden = true; }, 6000);
  }

  announce(m) {
    this.name(m.sender_id).then((n) => replace(this.live, `${n}: ${m.body || (m.attachments ? 'sent an attachment' : 'new message')}`));
  }

  renderEmpty() {
    replace(this.pane, h('div', { class: 'empty' },
      h('h2', {}, 'Welcome, ' + this.me.display_name),
      h('p', {}, 'Pick a conversation, or start one with "New chat".')));
  }

  renderList() {
    const items = this.sortedConvs().map((c) => {
      const typing = c.typing.length > 0;
      const preview = typing ? 'typing…' : this.preview(c.last);
      const label = `${c.title || '…'}${c.unread ? `, ${c.unread} unread` : ''}${typing ? ', typing' : ''}`;
      return h('li', {},
        h('button', {
          type: 'button', class: 'conv', 'aria-current': c.id === this.open ? 'true' : null, 'aria-label': label,
          dataset: { conversation: c.id }, onclick: () => this.openConv(c.id),
        },
        avatar(c.kind === 'group' ? c.id : c.peer, c.title, c.kind === 'group' ? 'group' : ''),
        h('span', { class: 'conv-main' },
          h('span', { class: 'conv-title' }, c.title || '…'),
          h('span', { class: `conv-preview${typing ? ' typing' : ''}` }, preview)),
        h('span', { class: 'conv-side' },
          h('time', {}, c.last ? shortTime(c.last.sent_at_ms) : ''),
          c.unread ? h('span', { class: 'badge', 'data-testid': 'unread' }, c.unread > 99 ? '99+' : String(c.unread)) : null)));
    });
    if (!items.length) items.push(h('li', { class: 'muted pad' }, 'No conversations yet.'));
    replace(this.listEl, items);
  }

  preview(m) {
    if (!m) return '';
    if (m.kind !== 'user') return this.systemText(m, true);
    const who = m.sender_id === this.me.id ? 'You: ' : '';
    if (m.body) return who + m.body;
    if (m.attachments && m.attachments.length) return who + (String(m.attachments[0].mime || '').startsWith('image/') ? 'Photo' : 'File: ' + (m.attachments[0].name || 'attachment'));
    return who;
  }

  systemText(m, short = false) {
    const n = (m.system && m.system.user_ids) ? m.system.user_ids.length : 0;
    switch (m.kind) {
      case 'group_created': return `Group "${(m.system && m.system.name) || ''}" created`;
      case 'member_added': return short ? 'Members added' : `${n} member${n === 1 ? '' : 's'} added`;
      case 'member_removed': return short ? 'A member was removed' : `${n} member${n === 1 ? '' : 's'} removed`;
      case 'member_left': return 'A member left';
      case 'group_renamed': return `Renamed to "${(m.system && m.system.name) || ''}"`;
      case 'role_changed': return 'A role changed';
      case 'group_updated': return 'Group settings changed';
      default: return 'Group update';
    }
  }

  // ---------------------------------------------------------------- chat pane

  async openConv(id) {
    this.open = id;
    this.setView('chat');
    const c = this.conv(id);
    this.buildChat(c);
    this.renderList();
    if (!c.loaded) await this.loadOlder(c, true);
    this.renderMessages({ stick: true });
    this.markOpenRead();
    this.input.focus();
  }

  buildChat(c) {
    this.headTitle = h('h2', { id: 'chat-title' });
    this.headSub = h('span', { class: 'chat-sub' });
    this.infoBtn = c.kind === 'group'
      ? h('button', { type: 'button', class: 'small', onclick: () => groupInfoDialog(this, c.id.slice(2)) }, 'Group info')
      : null;
    this.headAvatar = h('span', { class: 'head-avatar' });
    const head = h('header', { class: 'chat-head' },
      h('button', { type: 'button', class: 'back', 'aria-label': 'Back to conversations', onclick: () => { this.setView('list'); this.open = null; this.renderList(); } }, '‹'),
      this.headAvatar,
      h('div', { class: 'chat-titles' }, this.headTitle, this.headSub),
      this.infoBtn);
    this.olderBtn = h('button', { type: 'button', class: 'link older', onclick: () => this.loadOlder(c) }, 'Load older messages');
    this.listMsgs = h('ol', { class: 'msgs' });
    this.scroller = h('div', { class: 'scroller', role: 'log', 'aria-label': 'Messages', 'aria-live': 'off', tabindex: '0' }, this.olderBtn, this.listMsgs);
    this.scroller.addEventListener('scroll', () => {
      if (this.scroller.scrollTop < 60 && c.more && !c.loading && c.loaded) this.loadOlder(c);
    });
    this.typingEl = h('div', { class: 'typing-line', 'aria-live': 'polite' });
    this.input = h('textarea', { id: 'composer-input', rows: 1, placeholder: 'Write a message', maxlength: 4096, 'aria-label': 'Message' });
    this.fileInput = h('input', { type: 'file', id: 'composer-file', class: 'sr-only', multiple: true });
    const sendBtn = h('button', { type: 'submit', class: 'primary send' }, 'Send');
    const attach = h('label', { for: 'composer-file', class: 'attach', title: 'Attach images or files' },
      icon('attach'), h('span', { class: 'sr-only' }, 'Attach images or files'));
    this.composer = h('form', { class: 'composer', 'aria-label': 'Send a message' }, this.fileInput, attach, this.input, sendBtn);
    this.fileInput.addEventListener('change', () => {
      const files = [...this.fileInput.files];
      this.fileInput.value = '';
      for (const f of files) this.sendFile(c.id, f);
    });
    this.input.addEventListener('input', () => {
      if (this.input.value.trim()) this.client.userTyping(c.id);
      else this.client.stopTyping(c.id);
      this.autosize();
    });
    this.input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        this.composer.requestSubmit();
      }
    });
    this.composer.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const body = this.input.value.trim();
      if (!body) return;
      this.input.value = '';
      this.autosize();
      this.client.stopTyping(c.id);
      const { clientMsgId } = this.client.send(c.id, { body });
      this.addPending(c.id, clientMsgId, body, []);
    });
    replace(this.pane, h('div', { class: 'chat' }, head, this.scroller, this.typingEl, this.composer));
    this.renderHeader();
    this.renderTyping();
  }

  autosize() {
    this.input.style.height = 'auto';
    this.input.style.height = Math.min(this.input.scrollHeight, 160) + 'px';
  }

  renderHeader() {
    const c = this.conv(this.open);
    replace(this.headTitle, c.title || '…');
    replace(this.headAvatar, avatar(c.kind === 'group' ? c.id : c.peer, c.title, c.kind === 'group' ? 'group' : ''));
    if (c.kind === 'group') replace(this.headSub, 'Group');
    else replace(this.headSub, c.peer === this.me.id ? 'Notes to yourself' : 'Direct message');
  }

  renderTyping() {
    const c = this.conv(this.open);
    if (!c.typing.length) { replace(this.typingEl); return; }
    Promise.all(c.typing.map((u) => this.name(u))).then((names) => {
      if (this.open !== c.id) return;
      replace(this.typingEl, c.typing.length ? `${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} typing…` : '');
    });
  }

  addPending(convId, clientMsgId, body, attachments, localUrls) {
    const c = this.conv(convId);
    const m = {
      client_msg_id: clientMsgId, conversation_id: convId, sender_id: this.me.id, kind: 'user',
      body, attachments, sent_at_ms: Date.now(), pending: true, localUrls,
    };
    c.messages.set('pending:' + clientMsgId, m);
    this.noteLast(c, m);
    this.renderList();
    if (this.open === convId) this.renderMessages({ stick: true });
  }

  async sendFile(convId, file) {
    const tmp = 'upload-' + Math.random().toString(36).slice(2);
    const isImage = file.type.startsWith('image/');
    const localUrl = isImage ? URL.createObjectURL(file) : '';
    this.addPending(convId, tmp, '', [{ id: '', name: file.name, mime: file.type, size: file.size }], { '': localUrl });
    const c = this.conv(convId);
    try {
      const media = await this.client.upload(file, file.name);
      c.messages.delete('pending:' + tmp);
      const { clientMsgId } = this.client.send(convId, { attachmentIds: [media.id] });
      if (localUrl) this.blobs.set(media.id + ':thumbnail', localUrl);
      this.addPending(convId, clientMsgId, '', [{ id: media.id, name: media.name, mime: media.mime, size: media.size, width: media.width, height: media.height }], localUrl ? { [media.id]: localUrl } : undefined);
    } catch (e) {
      const p = c.messages.get('pending:' + tmp);
      if (p) p.failed = explain(e);
      if (this.open === convId) this.renderMessages();
    }
  }

  async loadOlder(c, first = false) {
    if (c.loading || (!c.more && !first)) return;
    c.loading = true;
    const ids = [...c.messages.values()].filter((m) => m.message_id).map((m) => m.message_id).sort(compareIds);
    const before = first ? undefined : ids[0];
    const prevHeight = this.scroller ? this.scroller.scrollHeight : 0;
    const prevTop = this.scroller ? this.scroller.scrollTop : 0;
    try {
      const page = await this.client.history(c.id, { before, limit: PAGE });
      for (const m of page.messages) if (!c.messages.has(m.message_id)) c.messages.set(m.message_id, m);
      if (!first || !c.loaded) c.more = page.more;
      c.loaded = true;
      if (page.messages.length) this.noteLast(c, page.messages[page.messages.length - 1]);
    } catch (e) {
      this.toast(explain(e));
    } finally {
      c.loading = false;
    }
    if (this.open === c.id) {
      this.renderMessages();
      if (!first && this.scroller) this.scroller.scrollTop = prevTop + (this.scroller.scrollHeight - prevHeight);
    }
  }

  markOpenRead() {
    if (!this.open || !this.visible()) return;
    const c = this.conv(this.open);
    let newest = '';
    for (const m of c.messages.values()) {
      if (m.message_id && m.sender_id !== this.me.id && (!newest || compareIds(m.message_id, newest) > 0)) newest = m.message_id;
    }
    if (newest) this.client.markRead(c.id, newest);
    if (c.unread) { c.unread = 0; this.renderList(); }
  }

  orderedMessages(c) {
    return [...c.messages.values()].sort((a, b) => {
      if (a.message_id && b.message_id) return compareIds(a.message_id, b.message_id);
      if (a.message_id) return -1;
      if (b.message_id) return 1;
      return a.sent_at_ms - b.sent_at_ms;
    });
  }

  renderMessages({ stick = false } = {}) {
    const c = this.conv(this.open);
    if (!this.scroller) return;
    const atBottom = this.scroller.scrollHeight - this.scroller.scrollTop - this.scroller.clientHeight < 80;
    this.olderBtn.hidden = !c.more || !c.loaded;
    let lastDay = '';
    const items = [];
    for (const m of this.orderedMessages(c)) {
      const day = new Date(m.sent_at_ms).toDateString();
      if (day !== lastDay) {
        items.push(h('li', { class: 'day' }, h('span', {}, new Date(m.sent_at_ms).toLocaleDateString(undefined, { weekday: 'long', month: 'long', day: 'numeric' }))));
        lastDay = day;
      }
      items.push(this.renderMessage(c, m));
    }
    if (!items.length && c.loaded) items.push(h('li', { class: 'muted pad center' }, 'No messages yet. Say hello!'));
    replace(this.listMsgs, items);
    if (stick && (atBottom || !this.stuckOnce)) {
      this.scroller.scrollTop = this.scroller.scrollHeight;
      this.stuckOnce = true;
    } else if (stick && atBottom) {
      this.scroller.scrollTop = this.scroller.scrollHeight;
    }
    this.markOpenRead();
  }

  renderMessage(c, m) {
    if (m.kind !== 'user') {
      const li = h('li', { class: 'system', dataset: { messageId: m.message_id } }, this.systemText(m));
      if (m.system && m.system.user_ids) {
        Promise.all(m.system.user_ids.map((u) => (u === this.me.id ? 'you' : this.name(u)))).then((names) => {
          const verb = { member_added: 'added', member_removed: 'removed', role_changed: 'changed the role of' }[m.kind];
          if (verb) this.name(m.sender_id).then((who) => replace(li, `${who} ${verb} ${names.join(', ')}`));
        });
      }
      return li;
    }
    const mine = m.sender_id === this.me.id;
    const bubble = h('div', { class: 'bubble' });
    if (!mine && c.kind === 'group') {
      const who = h('span', { class: 'sender' });
      this.name(m.sender_id).then((n) => replace(who, n));
      bubble.append(who);
    }
    for (const a of m.attachments || []) bubble.append(this.renderAttachment(m, a));
    if (m.body) bubble.append(h('p', { class: 'body' }, m.body));
    const meta = h('div', { class: 'meta' }, h('time', { datetime: new Date(m.sent_at_ms).toISOString(), title: fullTime(m.sent_at_ms) }, clock(m.sent_at_ms)));
    if (mine) meta.append(...this.tick(c, m));
    bubble.append(meta);
    if (m.failed) {
      const dismiss = h('button', { type: 'button', class: 'link', onclick: () => { c.messages.delete(this.msgKey(m)); this.renderMessages(); } }, 'Dismiss');
      bubble.append(h('p', { class: 'failed', role: 'alert' }, 'Not sent: ' + m.failed + ' ', dismiss));
    }
    return h('li', {
      class: `msg ${mine ? 'mine' : 'theirs'}${m.pending ? ' pending' : ''}`,
      dataset: { messageId: m.message_id || '', clientMsgId: m.client_msg_id || '' },
    }, bubble);
  }

  tick(c, m) {
    const st = m.pending ? { state: 'pending' } : this.client.receipts.status(m);
    const glyph = icon({ pending: 'clock', sent: 'check', delivered: 'checks', read: 'checks' }[st.state]);
    const words = { pending: 'Sending', sent: 'Sent', delivered: 'Delivered', read: 'Read' }[st.state];
    const lines = [];
    if (st.sentAt) lines.push(`Sent ${fullTime(st.sentAt)}`);
    if (st.deliveredAt) lines.push(`Delivered ${fullTime(st.deliveredAt)}`);
    if (st.readAt) lines.push(`Read ${fullTime(st.readAt)}`);
    const key = this.msgKey(m);
    const open = this.expanded.has(key);
    const who = this.readers.get(key); // a group message: who, and when
    const detailLines = who ? [lines[0], ...who].filter(Boolean) : lines;
    const detail = h('span', { class: 'tick-detail', hidden: !open }, detailLines.join(' · '));
    const btn = h('button', {
      type: 'button', class: `tick ${st.state}`, title: lines.join('\n') || words, 'aria-label': `${words}. ${lines.join(', ')}`,
      dataset: { state: st.state }, 'aria-expanded': String(open),
    }, glyph);
    btn.addEventListener('click', () => {
      detail.hidden = !detail.hidden;
      if (detail.hidden) this.expanded.delete(key);
      else this.expanded.add(key);
      btn.setAttribute('aria-expanded', String(!detail.hidden));
      if (!detail.hidden && c.kind === 'group' && m.message_id) this.loadReaders(c, m);
    });
    const out = [h('span', { class: 'tick-wrap' }, btn)];
    if (c.kind === 'group' && st.counts && st.counts.of > 0) {
      out[0].append(h('span', { class: 'readby', 'data-testid': 'read-by' }, `read by ${st.counts.read} of ${st.counts.of}`));
    }
    out.push(detail);
    return out;
  }

  async loadReaders(c, m) {
    try {
      const r = await this.client.readers(c.id, m.message_id);
      const list = async (entries) => (await Promise.all(entries.map(async (e) => `${await this.name(e.user_id)} ${clock(e.at_ms)}`))).join(', ');
      const lines = [];
      if (r.read && r.read.length) lines.push(`Read by ${await list(r.read)}`);
      const notRead = (r.received || []).filter((e) => !(r.read || []).some((x) => x.user_id === e.user_id));
      if (notRead.length) lines.push(`Delivered to ${await list(notRead)}`);
      if (!lines.length) lines.push(`Not delivered yet (${r.of} member${r.of === 1 ? '' : 's'})`);
      this.readers.set(this.msgKey(m), lines);
    } catch (e) {
      this.readers.set(this.msgKey(m), [explain(e)]);
    }
    if (this.open === c.id) this.renderMessages();
  }

  renderTicks() {
    if (!this.open) return;
    this.renderMessages();
  }

  renderAttachment(m, a) {
    const isImage = String(a.mime || '').startsWith('image/');
    if (isImage) {
      const img = h('img', {
        class: 'thumb', alt: a.name ? `Image ${a.name}` : 'Image', loading: 'lazy', decoding: 'async',
        width: a.width ? Math.min(a.width, 260) : null,
      });
      if (a.width && a.height) img.style.aspectRatio = `${a.width} / ${a.height}`;
      const local = m.localUrls && (m.localUrls[a.id] || m.localUrls['']);
      if (local) img.src = local;
      else if (a.id) this.mediaUrl(a.id, 'thumbnail').then((u) => { img.src = u; img.dataset.loaded = 'thumbnail'; }, () => { img.alt = 'Image unavailable'; });
      const open = h('button', { type: 'button', class: 'thumb-btn', 'aria-label': `Open image ${a.name || ''}`.trim(), onclick: () => this.openMedia(a) }, img);
      return h('figure', { class: 'att image', dataset: { mediaId: a.id || '' } }, open);
    }
    return h('button', { type: 'button', class: 'att file', dataset: { mediaId: a.id || '' }, onclick: () => this.openMedia(a, true) },
      icon('file', 'file-icon'),
      h('span', {}, h('span', { class: 'file-name' }, a.name || 'File'), h('small', {}, [a.mime, bytes(a.size)].filter(Boolean).join(' · '))));
  }

  async mediaUrl(id, variant) {
    const key = id + ':' + variant;
    if (!this.blobs.has(key)) {
      const p = this.client.download(id, variant).then((r) => r.blob()).then((b) => {
        const u = URL.createObjectURL(b);
        this.blobs.set(key, u);
        return u;
      });
      this.blobs.set(key, p);
      p.catch(() => this.blobs.delete(key));
    }
    return this.blobs.get(key);
  }

  async openMedia(a, download = false) {
    if (!a.id) return;
    try {
      const url = await this.mediaUrl(a.id, 'content');
      const link = h('a', { href: url, target: '_blank', rel: 'noopener', download: download ? (a.name || 'file') : null });
      document.body.append(link);
      link.click();
      link.remove();
    } catch (e) {
      this.toast(explain(e));
    }
  }

  // ---------------------------------------------------------------- navigation helpers for dialogs

  async startDirect(userId) {
    const id = directConversation(this.me.id, userId);
    this.conv(id);
    await this.openConv(id);
  }

  showAdmin() {
    this.open = null;
    this.setView('chat');
    this.renderList();
    adminPage(this);
  }
}
