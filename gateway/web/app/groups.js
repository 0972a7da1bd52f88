// Dialogs: start a 1:1 chat, create a group, manage a group's members,
// roles and limit.
import { h, replace, explain, avatar } from '/app/ui.js';

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
  const input = h('input', { autocomplete: 'off', required: true, autofocus: true, autocapitalize: 'none', spellcheck: 'false' });
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
  const name = h('input', { required: true, autofocus: true, maxlength: 64, autocomplete: 'off' });
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
      const g = await app.client.createGroup({ name: name.value.trim(), memberIds: users.map((u) => u.id) });
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
  const error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'group-error', tabindex: '-1' });
  const body = h('div', { class: 'dlg-body' }, h('p', { class: 'muted' }, 'Loading…'));
  const d = dialog('Group info', body);
  const render = async () => {
    let group;
    let members;
    try {
      [group, members] = await Promise.all([app.client.group(groupId), app.client.members(groupId)]);
    } catch (e) {
      replace(body, h('p', { class: 'form-error', role: 'alert' }, explain(e)));
      return;
    }
    app.groupNames.set(groupId, group.name);
    const canManage = group.role === 'owner' || group.role === 'admin';
    const names = await Promise.all(members.map((m) => (m.user_id === app.me.id ? `${app.me.display_name} (you)` : app.name(m.user_id))));
    const rows = members.map((m, i) => {
      const uid = m.user_id;
      const me = uid === app.me.id;
      const role = h('select', { 'aria-label': `Role of ${names[i]}`, disabled: !canManage || me },
        ...['member', 'admin', 'owner'].map((r) => h('option', { value: r, selected: m.role === r }, r)));
      role.addEventListener('change', () => act(() => app.client.setMemberRole(groupId, uid, role.value)));
      const remove = canManage && !me && m.role !== 'owner'
        ? h('button', { type: 'button', class: 'small danger', 'aria-label': `Remove ${names[i]}`, onclick: () => act(() => app.client.removeMember(groupId, uid)) }, 'Remove')
        : null;
      return h('li', { class: 'member', dataset: { userId: uid } }, avatar(uid, me ? app.me.display_name : names[i]), h('span', { class: 'member-name' }, names[i]), role, remove);
    });
    const addInput = h('input', { autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false' });
    const addForm = h('form', { class: 'row' }, field('group-add-user', 'Add members', addInput, 'Usernames, separated by commas'),
      h('button', { type: 'submit', class: 'primary' }, 'Add'));
    addForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      act(async () => {
        const users = await resolveUsers(app, addInput.value);
        if (users.length) await app.client.addMembers(groupId, users.map((u) => u.id));
      });
    });
    const limitInput = h('input', { type: 'number', min: 2, value: group.size_limit || '', inputmode: 'numeric', placeholder: String(group.effective_limit) });
    const limitForm = h('form', { class: 'row' }, field('group-limit', 'Member limit for this group', limitInput,
      `Now ${group.effective_limit} (${group.limit_kind || 'platform'} limit).`),
    h('button', { type: 'submit' }, 'Save limit'));
    limitForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      act(() => app.client.setGroupLimit(groupId, Number(limitInput.value) || 0));
    });
    const leave = h('button', { type: 'button', class: 'danger', onclick: () => act(async () => { await app.client.leaveGroup(groupId); d.close(); }) }, 'Leave group');
    replace(body,
      h('p', { class: 'group-summary' }, h('strong', {}, group.name),
        h('span', { 'data-testid': 'member-count' }, ` · ${members.length} of at most ${group.effective_limit} members`)),
      error,
      h('h3', {}, 'Members'), h('ul', { class: 'members' }, rows),
      canManage ? addForm : null,
      canManage ? limitForm : null,
      h('div', { class: 'row end' }, leave));
  };
  const act = async (fn) => {
    replace(error);
    // Nothing can be typed into the form while it is about to be redrawn.
    for (const el of body.querySelectorAll('input, select, button')) el.disabled = true;
    try {
      await fn();
      await render();
    } catch (e) {
      await render();
      replace(error, explain(e));
      error.focus();
    }
  };
  await render();
  return d;
}
