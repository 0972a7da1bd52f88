// Parley web client: boots the SDK, shows the sign-in page or the chat.
import { ParleyClient } from '/sdk/parley.js';
import { h, replace, explain } from '/app/ui.js';
import { ChatApp } from '/app/chat.js';

// sessionStorage: every tab is its own device with its own cursor, and a
// reload keeps the session. (Two tabs sharing one device would replace each
// other's connection.)
const client = new ParleyClient({
  storage: window.sessionStorage,
  deviceName: `Web (${navigator.platform || 'browser'})`,
  online: () => navigator.onLine !== false,
});
const root = document.getElementById('root');
const banner = document.getElementById('banner');
let app = null;

// The browser knows first when the network goes: close at once and resume
// (sync from the stored cursor) when it is back.
window.addEventListener('offline', () => client.pause());
window.addEventListener('online', () => client.resume());

let countdown = null;
client.on('state', ({ state, retryInMs, reason }) => {
  clearInterval(countdown);
  document.body.dataset.connection = state;
  if (state === 'online' || state === 'signed_out') {
    banner.hidden = true;
    replace(banner);
    return;
  }
  banner.hidden = false;
  if (state === 'connecting' || state === 'syncing') {
    banner.className = 'banner connecting';
    replace(banner, state === 'syncing' ? 'Catching up…' : 'Connecting…');
    return;
  }
  banner.className = 'banner offline';
  if (state === 'closed') {
    const why = reason === 'origin_not_allowed' ? 'This page is not allowed to connect.' : 'Disconnected: this device connected from another tab or window.';
    replace(banner, why, ' ', h('button', { type: 'button', onclick: () => client.connect() }, 'Reconnect'));
    return;
  }
  const retry = h('button', { type: 'button', onclick: () => client.reconnectNow() }, 'Retry now');
  if (reason === 'network') {
    replace(banner, 'You are offline. Messages you send are kept and go out when you are back.');
    return;
  }
  if (retryInMs === undefined) {
    replace(banner, 'Offline. ', retry);
    return;
  }
  const until = Date.now() + retryInMs;
  const text = h('span');
  const tick = () => replace(text, `Offline — reconnecting in ${Math.max(0, Math.ceil((until - Date.now()) / 1000))} s. `);
  tick();
  countdown = setInterval(tick, 500);
  replace(banner, text, retry);
});

client.on('session', (s) => {
  if (!s && app) {
    app.destroy();
    app = null;
    showAuth('Your session ended. Please sign in again.');
  }
});

function showAuth(notice = '') {
  let mode = 'sign-in';
  const error = h('p', { class: 'form-error', role: 'alert', id: 'auth-error' });
  const username = h('input', { id: 'auth-username', name: 'username', autocomplete: 'username', required: true, minlength: 3, maxlength: 32, autocapitalize: 'none', spellcheck: 'false' });
  const display = h('input', { id: 'auth-display', name: 'display_name', autocomplete: 'name', maxlength: 64 });
  const password = h('input', { id: 'auth-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true, minlength: 10 });
  const displayRow = h('div', { class: 'field', hidden: true }, h('label', { for: 'auth-display' }, 'Display name'), display);
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const title = h('h1', { id: 'auth-title' }, 'Sign in to Parley');
  const switcher = h('button', { type: 'button', class: 'link' });
  const setMode = (m) => {
    mode = m;
    const up = m === 'sign-up';
    displayRow.hidden = !up;
    password.autocomplete = up ? 'new-password' : 'current-password';
    replace(title, up ? 'Create your Parley account' : 'Sign in to Parley');
    replace(submit, up ? 'Create account' : 'Sign in');
    replace(switcher, up ? 'I already have an account' : 'Create an account');
    replace(error);
  };
  switcher.addEventListener('click', () => setMode(mode === 'sign-in' ? 'sign-up' : 'sign-in'));
  const form = h('form', { class: 'auth-card', 'aria-labelledby': 'auth-title', novalidate: true },
    h('div', { class: 'brand' }, h('img', { src: '/favicon.svg', alt: '', width: 40, height: 40 }), h('span', {}, 'Parley')),
    title,
    notice ? h('p', { class: 'notice' }, notice) : null,
    h('div', { class: 'field' }, h('label', { for: 'auth-username' }, 'Username'), username),
    displayRow,
    h('div', { class: 'field' }, h('label', { for: 'auth-password' }, 'Password'), password,
      h('small', { class: 'hint' }, 'At least 10 characters.')),
    error, submit, switcher);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    replace(error);
    if (!form.checkValidity()) {
      replace(error, username.validity.valid ? 'The password needs at least 10 characters.' : 'The username needs 3 to 32 letters, digits, dots, dashes or underscores.');
      return;
    }
    submit.disabled = true;
    try {
      if (mode === 'sign-up') {
        await client.register({ username: username.value.trim(), password: password.value, displayName: display.value.trim() || username.value.trim() });
      }
      await client.signIn({ username: username.value.trim(), password: password.value });
      startApp();
    } catch (e) {
      replace(error, explain(e));
      submit.disabled = false;
    }
  });
  replace(root, h('div', { class: 'auth-page' }, form));
  setMode('sign-in');
  username.focus();
}

function startApp() {
  app = new ChatApp(client, root);
  app.start();
}

(async () => {
  const user = await client.restore();
  if (user) startApp();
  else showAuth();
})();
