// The admin page: the platform's group-size ceiling and media upload limits.
import { h, replace, explain, bytes } from '/app/ui.js';

export async function adminPage(app) {
  const c = app.client;
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const ceiling = h('input', { id: 'admin-ceiling', type: 'number', min: 2, inputmode: 'numeric', required: true });
  const defLimit = h('input', { id: 'admin-default', type: 'number', min: 2, inputmode: 'numeric', required: true });
  const groupForm = h('form', { class: 'card' },
    h('h3', {}, 'Groups'),
    h('div', { class: 'field' }, h('label', { for: 'admin-ceiling' }, 'Group-size ceiling (members)'), ceiling,
      h('small', { class: 'hint' }, 'No group may grow beyond this, whatever its own limit.')),
    h('div', { class: 'field' }, h('label', { for: 'admin-default' }, 'Default limit of new groups'), defLimit),
    h('button', { type: 'submit', class: 'primary' }, 'Save group limits'));
  const mediaRows = h('tbody');
  const mediaForm = h('form', { class: 'card' },
    h('h3', {}, 'Media upload limits'),
    h('table', { class: 'limits' }, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Type'), h('th', { scope: 'col' }, 'Largest upload (MB)'))), mediaRows),
    h('button', { type: 'submit', class: 'primary' }, 'Save media limits'));
  const back = h('button', { type: 'button', class: 'back', 'aria-label': 'Back to conversations', onclick: () => { app.setView('list'); app.renderEmpty(); } }, '‹');
  replace(app.pane, h('div', { class: 'admin' },
    h('header', { class: 'chat-head' }, back, h('div', { class: 'chat-titles' }, h('h2', { id: 'admin-title' }, 'Administration'), h('span', { class: 'chat-sub' }, 'Platform settings'))),
    h('div', { class: 'admin-body' }, status, error, groupForm, mediaForm)));

  // Disabled until the current values are in, so nothing typed is
  // overwritten by a late answer.
  const groupFields = [ceiling, defLimit, groupForm.querySelector('button')];
  for (const el of groupFields) el.disabled = true;
  const load = async () => {
    try {
      const l = await c.adminGroupLimits();
      ceiling.value = l.ceiling;
      if (l.max_ceiling) ceiling.max = l.max_ceiling;
      defLimit.value = l.default_limit;
      for (const el of groupFields) el.disabled = false;
    } catch (e) { replace(error, 'Group settings: ' + explain(e)); }
    try {
      const m = await c.mediaLimits();
      const limits = m.limits || {};
      replace(mediaRows, Object.keys(limits).sort().map((t) => {
        const input = h('input', { type: 'number', min: 0, step: 'any', value: +(limits[t] / 1024 / 1024).toFixed(2), 'aria-label': `Largest ${t} upload in MB`, dataset: { type: t } });
        return h('tr', {}, h('th', { scope: 'row' }, t, h('small', { class: 'hint' }, ' now ' + bytes(limits[t]))), h('td', {}, input));
      }));
    } catch (e) { replace(error, 'Media limits: ' + explain(e)); }
  };
  groupForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    replace(error); replace(status);
    try {
      const l = await c.setAdminGroupLimits({ ceiling: Number(ceiling.value), default_limit: Math.min(Number(defLimit.value), Number(ceiling.value)) });
      ceiling.value = l.ceiling;
      defLimit.value = l.default_limit;
      replace(status, `Saved: groups may have at most ${l.ceiling} members (new groups: ${l.default_limit}).`);
    } catch (e) { replace(error, explain(e)); }
  });
  mediaForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    replace(error); replace(status);
    const limits = {};
    for (const input of mediaRows.querySelectorAll('input')) limits[input.dataset.type] = Math.round(Number(input.value) * 1024 * 1024);
    try {
      await c.setMediaLimits(limits);
      replace(status, 'Saved media limits.');
      await load();
    } catch (e) { replace(error, explain(e)); }
  });
  await load();
  ceiling.focus();
}
