// Dialogs: start a 1:1 chat, create a group, manage a group's members,
// roles and limit.
import { h, replace, explain } from '/app/ui.js';

/** Opens a modal <dialog> (focus moves in, Esc closes) and returns it. */
export function dialog(title, ...body) {
  const id = 'dlg-' + Math.random().toString(36).slice(2);
  const close = h('button', { type: 'button', class: 'close', 'aria-label': 'Close' }, '×');
  const d = h('dialog', { 'aria-labelledby': id, class: 'dlg' },
    h('header', {}, h('h2', { id }, title), close), ...body);
  close.addEventListener('click', () => d.close());
  d.addEventListener('close', () => d.remove());
  document.body.append(d);
  d.showModal();
  return d;
}

function field(id, label, input, hint) {
  input.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('small', { class: 'hint' }, hint) : null);
}

async function resolveUsers(app, text) {
  const names = text.split(/[\s,]+/).map((s) => s.trim().replace(/^@/, '')).filter(Boolean);
  const out = [];
  for (const n of names) {
    try { out.push(await app.client.userByUsername(n)); } catch (e) {
      if (e.code === 'not_found') throw new Error(`No user named "${n}".`);
      throw e;
    }
  }
  return out;
}

export function newChatDialog(app) {
  const input = h('input', { autocomplete: 'off', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const form = h('form', { class: 'dlg-body' }, field('new-chat-user', 'Username', input, 'The exact username of the person.'), error,
    h('div', { class: 'row end' }, h('button', { type: 'submit', class: 'primary' }, 'Start chat')));
  const d = dialog('New chat', form);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const [u] = await resolveUsers(app, input.value);
      if (!u) return;
      d.close();
      await app.startDirect(u.id);
    } catch (e) {
      replace(error, explain(e));
    }
  });
}

export function newGroupDialog(app) {
  const name = h('input', { required: true, maxlength: 64, autocomplete: 'off' });
  const members = h('input', { autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false' });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Create group');
  const form = h('form', { class: 'dlg-body' },
    field('new-group-name', 'Group name', name),
    field('new-group-members', 'Members', members, 'Usernames, separated by commas. You can add more later.'),
    error, h('div', { class: 'row end' }, submit));
  const d = dialog('New group', form);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!name.value.trim()) { replace(error, 'Give the group a name.'); return; }
    submit.disabled = true;
    try {
      const users = await resolveUsers(app, members.value);
      const r = await app.client.createGroup({ name: name.value.trim(), memberIds: users.map((u) => u.id) });
      const g = r.group || r;
      app.groupNames.set(g.id, g.name);
      d.close();
      const conv = app.conv('g:' + g.id);
      conv.title = g.name;
      await app.openConv(conv.id);
    } catch (e) {
      replace(error, explain(e));
      submit.disabled = false;
    }
  });
}

export async function groupInfoDialog(app, groupId) {
  const error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'group-error' });
  const body = h('div', { class: 'dlg-body' }, h('p', { class: 'muted' }, 'Loading…'));
  const d = dialog('Group info', body);
  const render = async () => {
    let g;
    try {
      g = await app.client.group(groupId);
    } catch (e) {
      replace(body, h('p', { class: 'form-error', role: 'alert' }, explain(e)));
      return;
    }
    const group = g.group || g;
    const members = g.members || group.members || [];
    const myRole = (members.find((m) => (m.user_id || m.user) === app.me.id) || {}).role || 'member';
    const canManage = myRole === 'owner' || myRole === 'admin';
    const names = await Promise.all(members.map((m) => app.name(m.user_id || m.user)));
    const rows = members.map((m, i) => {
      const uid = m.user_id || m.user;
      const me = uid === app.me.id;
      const role = h('select', { 'aria-label': `Role of ${names[i]}`, disabled: !canManage || me || m.role === 'owner' },
        ...['member', 'admin', 'owner'].map((r) => h('option', { value: r, selected: m.role === r }, r)));
      role.addEventListener('change', () => act(() => app.client.setMemberRole(groupId, uid, role.value)));
      const remove = canManage && !me && m.role !== 'owner'
        ? h('button', { type: 'button', class: 'small danger', onclick: () => act(() => app.client.removeMember(groupId, uid)) }, `Remove`)
        : null;
      return h('li', { class: 'member' }, h('span', { class: 'member-name' }, names[i]), role, remove);
    });
    const limit = group.max_members || group.member_limit || 0;
    const addInput = h('input', { autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false' });
    const addForm = h('form', { class: 'row' }, field('group-add-user', 'Add member', addInput, 'Username'),
      h('button', { type: 'submit', class: 'primary' }, 'Add'));
    addForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      act(async () => {
        const users = await resolveUsers(app, addInput.value);
        if (users.length) await app.client.addMembers(groupId, users.map((u) => u.id));
      });
    });
    const limitInput = h('input', { type: 'number', min: 2, value: limit || '', inputmode: 'numeric' });
    const limitForm = h('form', { class: 'row' }, field('group-limit', 'Member limit for this group', limitInput,
      g.ceiling || group.ceiling ? `The platform allows at most ${g.ceiling || group.ceiling}.` : 'Leave empty for the platform limit.'),
    h('button', { type: 'submit' }, 'Save limit'));
    limitForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      act(() => app.client.updateGroup(groupId, { max_members: Number(limitInput.value) || 0 }));
    });
    const leave = h('button', { type: 'button', class: 'danger', onclick: () => act(async () => { await app.client.removeMember(groupId, app.me.id); d.close(); }) }, 'Leave group');
    replace(body,
      h('p', {}, h('strong', {}, group.name), ` · ${members.length} member${members.length === 1 ? '' : 's'}${limit ? ` (limit ${limit})` : ''}`),
      error,
      h('h3', {}, 'Members'), h('ul', { class: 'members' }, rows),
      canManage ? addForm : null,
      canManage ? limitForm : null,
      h('div', { class: 'row end' }, leave));
  };
  const act = async (fn) => {
    replace(error);
    try {
      await fn();
      await render();
    } catch (e) {
      await render();
      replace(error, explain(e));
    }
  };
  await render();
  return d;
}
