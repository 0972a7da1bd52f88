// The web client end to end in headless Chromium, against every mode in
// PARLEY_BROWSER_MODES (default: allinone,stack). Each scenario leaves
// screenshots at desktop and phone widths in test-output/browser/<mode>/.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { rmSync } from 'node:fs';

import { startPlatform, root } from '../lib/platform.js';
import { launch, Person, Shots, consoleLog } from '../lib/browser.js';
import { gradientPNG } from '../lib/png.js';

const MODES = (process.env.PARLEY_BROWSER_MODES || 'allinone,stack').split(',').map((s) => s.trim()).filter(Boolean);

// Scenarios whose server side has not landed yet: they still run, and the
// run prints them as TODO with the reason (never a silent skip).
export const PENDING = {};

let failureShots = async () => {};

function scenario(name, fn) {
  const why = PENDING[name];
  return it(name, why ? { todo: `PENDING: ${why}` } : {}, async () => {
    try {
      await fn();
    } catch (e) {
      // What each person saw when it failed, for the report.
      await failureShots(name).catch(() => {});
      throw e;
    }
  });
}

for (const mode of MODES) {
  describe(`web client, ${mode}`, { concurrency: 1 }, () => {
    const runId = randomBytes(3).toString('hex');
    const out = join(root, 'test-output/browser', mode);
    let platform;
    let browser;
    let shots;
    let alice;
    let bob;
    let carol;
    let dave;
    let admin;
    const url = (i) => platform.urls[i % platform.urls.length];

    before(async () => {
      rmSync(out, { recursive: true, force: true });
      shots = new Shots(out);
      platform = await startPlatform(mode, out);
      console.log(`# ${mode}: ${platform.urls.join(' ')} (logs: ${platform.logDir})`);
      browser = await launch();
      // In the stack mode the people sit on different gateways of both
      // regions: eu-1, us-2, eu-2, us-1.
      alice = new Person(browser, url(0), 'Alice', runId);
      bob = new Person(browser, url(3), 'Bob', runId);
      carol = new Person(browser, url(1), 'Carol', runId);
      dave = new Person(browser, url(2), 'Dave', runId);
      failureShots = async (name) => {
        const open = [alice, bob, carol, dave, admin].filter((p) => p && p.page && !p.page.isClosed());
        const alerts = [];
        for (const p of open) {
          for (const t of await p.page.locator('[role=alert]:visible, .failed:visible').allInnerTexts()) if (t.trim()) alerts.push(`${p.name}: ${t.trim()}`);
        }
        if (alerts.length) console.log(`# alerts on screen when "${name}" failed:\n# ` + alerts.join('\n# '));
        await shots.take('FAILED-' + name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40), ...open);
      };
    });

    after(async () => {
      if (browser) await browser.close();
      if (platform) await platform.stop();
      if (consoleLog.length) console.log(`# browser console (${mode}):\n# ` + consoleLog.splice(0).join('\n# '));
      console.log(`# screenshots: ${shots ? shots.files.length : 0} in ${out}`);
      const pending = Object.entries(PENDING);
      console.log(pending.length ? `# PENDING scenarios (${mode}):\n` + pending.map(([n, w]) => `#   ${n}: ${w}`).join('\n') : `# PENDING scenarios (${mode}): none`);
    });

    scenario('two users chat in two browser contexts', async () => {
      await alice.open();
      assert.ok(await alice.page.getByLabel('Display name').isHidden(), 'sign-in asks no display name');
      await shots.take('sign-in-page', alice);
      await Promise.all([alice.signUp(), bob.open().then(() => bob.signUp()), carol.open().then(() => carol.signUp()),
        dave.open().then(() => dave.signUp())]);
      await shots.take('signed-in', alice);

      await alice.startChat(bob);
      await alice.send('Hi Bob! Lunch at 12:30?');
      // Bob's list shows the new conversation with its unread count and last message.
      await bob.conv('Alice').waitFor();
      await bob.conv('Alice').locator('.badge', { hasText: '1' }).waitFor();
      assert.match(await bob.conv('Alice').locator('.conv-preview').innerText(), /Lunch at 12:30/);
      await shots.take('bob-sees-unread', bob);
      await bob.openConv('Alice');
      await bob.msg('Hi Bob! Lunch at 12:30?').waitFor();
      await bob.conv('Alice').locator('.badge').waitFor({ state: 'detached' });

      // Typing shows on the other side, in the chat and in the list.
      await bob.page.getByLabel('Message', { exact: true }).pressSequentially('Sounds', { delay: 30 });
      await alice.page.locator('.typing-line', { hasText: 'Bob is typing' }).waitFor();
      await alice.conv('Bob').locator('.conv-preview.typing').waitFor();
      await shots.take('alice-sees-typing', alice);
      await bob.page.getByLabel('Message', { exact: true }).fill('');
      await bob.send('Sounds good, see you there');
      await alice.msg('Sounds good, see you there').waitFor();
      await shots.take('conversation', alice, bob);
      assert.equal(await alice.msg('Hi Bob! Lunch at 12:30?').count(), 1);
    });

    scenario('ticks move from sent to delivered to read, with times', async () => {
      // Bob looks at another chat, so Alice's message reaches his device
      // without being read; and he is offline first, so "sent" shows alone.
      await bob.startChat(carol);
      await bob.offline(true);
      await bob.page.locator('#banner', { hasText: 'offline' }).waitFor();
      await alice.send('Are you there?');
      await assertTick(alice, 'Are you there?', 'sent');
      await shots.take('tick-sent', alice);
      await bob.offline(false);
      await bob.online();
      await assertTick(alice, 'Are you there?', 'delivered');
      await alice.tick('Are you there?').click(); // tap shows the times
      await alice.page.locator('.msg.mine', { hasText: 'Are you there?' }).locator('.tick-detail', { hasText: 'Delivered' }).waitFor();
      await shots.take('tick-delivered', alice);
      await bob.openConv('Alice');
      await assertTick(alice, 'Are you there?', 'read');
      const title = await alice.tick('Are you there?').getAttribute('title');
      assert.match(title, /Sent .*\n.*Delivered .*\n.*Read /s, 'hover title lists the times');
      // The times stay open across updates and now include the read time.
      await alice.page.locator('.msg.mine', { hasText: 'Are you there?' }).locator('.tick-detail', { hasText: 'Read' }).waitFor();
      await shots.take('tick-read', alice);
    });

    scenario('an image appears with its thumbnail on the other side, and a file', async () => {
      const png = gradientPNG(640, 480);
      await alice.page.locator('#composer-file').setInputFiles({ name: 'gradient.png', mimeType: 'image/png', buffer: png });
      const mine = alice.page.locator('.msg.mine img.thumb').last();
      await mine.waitFor();
      await alice.page.locator('.msg.mine:not(.pending) img.thumb').last().waitFor({ timeout: 20_000 });
      const theirs = bob.page.locator('.msg.theirs img.thumb[data-loaded="thumbnail"]').last();
      await theirs.waitFor({ timeout: 20_000 });
      const size = await theirs.evaluate((img) => img.decode().then(() => [img.naturalWidth, img.naturalHeight]));
      // mediasvc thumbnails have a longest side of 320.
      assert.deepEqual(size, [320, 240], 'Bob sees the server-made thumbnail');
      await alice.page.locator('#composer-file').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('Menu: pizza, salad\n') });
      await bob.page.locator('.msg.theirs .att.file', { hasText: 'notes.txt' }).waitFor({ timeout: 20_000 });
      await shots.take('image-and-file', alice, bob);
      // Bob downloads the file with his token, through the SDK the page uses.
      const id = await bob.page.locator('.msg.theirs .att.file', { hasText: 'notes.txt' }).getAttribute('data-media-id');
      const text = await bob.page.evaluate(async (mediaId) => {
        const { ParleyClient } = await import('/sdk/parley.js');
        const c = new ParleyClient({ storage: window.sessionStorage });
        await c.restore();
        return (await c.download(mediaId)).text();
      }, id);
      assert.equal(text, 'Menu: pizza, salad\n');
    });

    scenario('a user who was offline receives everything on return, once each', async () => {
      await bob.offline(true);
      await bob.page.locator('#banner', { hasText: 'offline' }).waitFor();
      await shots.take('bob-offline', bob);
      const texts = ['First while you were away', 'Second while you were away', 'Third while you were away'];
      for (const t of texts) await alice.send(t);
      for (const t of texts) await assertTick(alice, t, 'sent');
      assert.equal(await bob.msg(texts[0]).count(), 0, 'nothing reaches an offline browser');
      await bob.offline(false);
      await bob.online();
      for (const t of texts) await bob.msg(t).waitFor();
      await bob.page.waitForTimeout(1000); // late duplicates would show up now
      for (const t of texts) assert.equal(await bob.msg(t).count(), 1, `"${t}" shown once`);
      const order = await bob.page.locator('.msg .body').allInnerTexts();
      const idx = texts.map((t) => order.indexOf(t));
      assert.deepEqual([...idx].sort((a, b) => a - b), idx, 'in order');
      assert.ok(await bob.page.locator('#banner').isHidden(), 'offline banner gone');
      await shots.take('bob-back-online', bob);
      // Bob's client acknowledged them: Alice sees them read (the chat is open).
      for (const t of texts) await assertTick(alice, t, 'read');
    });

    scenario('history pages in when scrolling up, and a reload resumes the session', async () => {
      // Alice's second device (the SDK in her page, signed in again) posts a
      // long backlog; her first device gets the copies as the sender's other device.
      const n = 45;
      await alice.page.evaluate(async ({ username, password, peer, count }) => {
        const { ParleyClient, directConversation } = await import('/sdk/parley.js');
        const c = new ParleyClient({ deviceName: 'second device' });
        await c.signIn({ username, password });
        const bob = await c.userByUsername(peer);
        c.connect();
        const conv = directConversation(c.user.id, bob.id);
        const sends = [];
        for (let i = 1; i <= count; i++) sends.push(c.send(conv, { body: `Backlog ${String(i).padStart(2, '0')}` }).done);
        await Promise.all(sends); // the outbox paces itself through rate limits
        c.disconnect();
      }, { username: alice.username, password: alice.password, peer: bob.username, count: n });
      await alice.msg('Backlog 45').waitFor();
      await bob.page.reload();
      await bob.online();
      await bob.openConv('Alice');
      await bob.msg('Backlog 45').waitFor();
      assert.equal(await bob.msg('Backlog 01').count(), 0, 'only the newest page is loaded at first');
      for (let i = 0; i < 5 && (await bob.msg('Backlog 01').count()) === 0; i++) {
        await bob.page.locator('.scroller').evaluate((el) => { el.scrollTop = 0; });
        await bob.page.waitForTimeout(700);
      }
      await bob.msg('Backlog 01').waitFor();
      const bodies = await bob.page.locator('.msg .body').allInnerTexts();
      const backlog = bodies.filter((b) => b.startsWith('Backlog '));
      assert.equal(backlog.length, n, 'every message once');
      assert.deepEqual(backlog, [...backlog].sort(), 'in order');
      await shots.take('history-paged-in', bob);
    });

    scenario('a group with three members shows "read by 2 of 2"', async () => {
      await alice.page.getByRole('button', { name: 'New group' }).click();
      await alice.page.getByLabel('Group name').fill('Lunch crew');
      await alice.page.getByLabel('Members').fill(`${bob.username}, ${carol.username}`);
      await alice.page.getByRole('button', { name: 'Create group' }).click();
      await alice.page.locator('#chat-title', { hasText: 'Lunch crew' }).waitFor();
      await alice.send('Pizza or salad?');
      await bob.conv('Lunch crew').waitFor({ timeout: 20_000 });
      await carol.conv('Lunch crew').waitFor({ timeout: 20_000 });
      const readBy = alice.page.locator('.msg.mine', { hasText: 'Pizza or salad?' }).locator('.readby');
      await bob.openConv('Lunch crew');
      await bob.msg('Pizza or salad?').waitFor();
      await readBy.filter({ hasText: 'read by 1 of 2' }).waitFor({ timeout: 20_000 });
      await carol.openConv('Lunch crew');
      await carol.msg('Pizza or salad?').waitFor();
      await readBy.filter({ hasText: 'read by 2 of 2' }).waitFor({ timeout: 20_000 });
      await assertTick(alice, 'Pizza or salad?', 'read');
      // Tap: who read it, and when.
      await alice.tick('Pizza or salad?').click();
      const detail = alice.page.locator('.msg.mine', { hasText: 'Pizza or salad?' }).locator('.tick-detail');
      await detail.filter({ hasText: /Read by (Bob|Carol) \S+.*, (Bob|Carol) / }).waitFor();
      await carol.send('Pizza!');
      await alice.msg('Pizza!').locator('.sender', { hasText: 'Carol' }).waitFor();
      await shots.take('group-read-by-2-of-2', alice, carol);
    });

    scenario('keyboard only: start a chat and send; every control is labelled; new messages are announced', async () => {
      const p = dave.page;
      await p.locator('body').click({ position: { x: 5, y: 400 } }); // focus the page, nothing in particular
      let focused = '';
      for (let i = 0; i < 12 && focused !== 'New chat'; i++) {
        await p.keyboard.press('Tab');
        focused = await p.evaluate(() => document.activeElement && document.activeElement.textContent.trim());
      }
      assert.equal(focused, 'New chat', 'Tab reaches "New chat"');
      await p.keyboard.press('Enter');
      assert.equal(await p.evaluate(() => document.activeElement.id), 'new-chat-user', 'the dialog focuses its input');
      await p.keyboard.type(alice.username);
      await p.keyboard.press('Enter');
      await p.locator('#chat-title', { hasText: 'Alice' }).waitFor();
      // The input takes focus once the conversation's history has loaded.
      await p.waitForFunction(() => document.activeElement && document.activeElement.id === 'composer-input', null, { timeout: 10_000 })
        .catch(() => {});
      assert.equal(await p.evaluate(() => document.activeElement.id), 'composer-input', 'the chat focuses the message input');
      await p.keyboard.type('Hello from the keyboard');
      await p.keyboard.press('Enter');
      await dave.msg('Hello from the keyboard').waitFor();
      await alice.openConv('Dave');
      await alice.msg('Hello from the keyboard').waitFor();
      await dave.send('And one more, announced');
      await alice.page.locator('#announcer', { hasText: 'Dave: And one more, announced' }).waitFor();
      // Every control a person can reach has a name a screen reader reads.
      for (const who of [alice, dave]) {
        const unnamed = await who.page.evaluate(() => [...document.querySelectorAll('button, input, select, textarea, a[href]')]
          .filter((el) => !el.closest('[hidden]'))
          .filter((el) => {
            const by = el.getAttribute('aria-labelledby');
            const name = el.getAttribute('aria-label') || (by && document.getElementById(by)?.textContent)
              || (el.labels && [...el.labels].map((l) => l.textContent).join(' ')) || el.textContent || el.title || '';
            return !name.trim();
          }).map((el) => el.outerHTML.slice(0, 120)));
        assert.deepEqual(unnamed, [], `${who.name}: controls without a name`);
      }
      await shots.take('keyboard-chat', dave);
    });

    scenario('an admin changes the ceiling and an over-limit add is refused with a clear message; media limits too', async () => {
      assert.ok(platform.admin, 'this run has no admin account (PARLEY_ADMIN_USER)');
      admin = new Person(browser, url(0), 'Admin', runId);
      await admin.open();
      await admin.signIn(platform.admin.username, platform.admin.password);
      await admin.page.getByRole('button', { name: 'Admin' }).click();
      await admin.page.getByRole('heading', { name: 'Administration' }).waitFor();
      const ceiling = admin.page.getByLabel('Group-size ceiling (members)');
      await ceiling.fill('3');
      await admin.page.getByRole('button', { name: 'Save group limits' }).click();
      await admin.page.getByRole('status').filter({ hasText: 'at most 3 members' }).waitFor();
      await admin.page.locator('.limits input').first().waitFor();
      await shots.take('admin-ceiling', admin);

      // The group has 3 members: a fourth is refused, and the UI says why.
      await alice.openConv('Lunch crew');
      await alice.page.getByRole('button', { name: 'Group info' }).click();
      const dialog = alice.page.getByRole('dialog', { name: 'Group info' });
      await dialog.getByText('3 of at most 3 members').waitFor();
      await dialog.getByLabel('Add members').fill(dave.username);
      await dialog.getByRole('button', { name: 'Add', exact: true }).click();
      const alert = dialog.getByRole('alert').filter({ hasText: 'Limit reached' });
      await alert.waitFor();
      assert.match(await alert.innerText(), /limit is 3/);
      assert.equal(await dialog.locator('.member').count(), 3, 'Dave was not added');
      await shots.take('over-limit-refused', alice);
      await dialog.getByRole('button', { name: 'Close' }).click();

      // Media limits: PNGs above 10 KB are refused from now on, in words.
      const png = admin.page.getByLabel('Largest image/png upload in MB');
      await png.fill('0.01');
      await admin.page.getByRole('button', { name: 'Save media limits' }).click();
      await admin.page.getByRole('status').filter({ hasText: 'Saved media limits' }).waitFor();
      await admin.page.locator('.limits th', { hasText: 'image/png' }).filter({ hasText: '10.2 KB' }).waitFor();
      await alice.page.locator('#composer-file').setInputFiles({ name: 'big.png', mimeType: 'image/png', buffer: gradientPNG(640, 480) });
      const refused = alice.page.locator('.msg.mine .failed').filter({ hasText: 'Too large' });
      await refused.waitFor();
      assert.match(await refused.innerText(), /image\/png files may be at most 10.2 KB/); // 0.01 MB
      await shots.take('media-limit-refused', admin, alice);
      await png.fill('25');
      await admin.page.getByRole('button', { name: 'Save media limits' }).click();
      await admin.page.locator('.limits th', { hasText: 'image/png' }).filter({ hasText: '25.0 MB' }).waitFor();
    });

    scenario('group management: a role, the group\'s own limit, removing a member', async () => {
      await alice.openConv('Lunch crew');
      await alice.page.getByRole('button', { name: 'Group info' }).click();
      const dialog = alice.page.getByRole('dialog', { name: 'Group info' });
      await dialog.getByLabel('Role of Bob').selectOption('admin');
      await dialog.locator('.member', { hasText: 'Bob' }).locator('select').filter({ has: alice.page.locator('option[value="admin"]:checked') }).waitFor();
      await dialog.getByLabel('Member limit for this group').fill('2');
      await dialog.getByRole('button', { name: 'Save limit' }).click();
      await dialog.getByText('Now 2 (group limit).').waitFor();
      await dialog.getByRole('button', { name: 'Remove Carol' }).click();
      await dialog.getByText('2 of at most 2 members').waitFor();
      assert.equal(await dialog.locator('.member').count(), 2);
      await shots.take('group-managed', alice);
      await dialog.getByRole('button', { name: 'Close' }).click();
      // Carol is told in the conversation, and can no longer post to it.
      await carol.page.locator('.system', { hasText: 'removed' }).waitFor();
      await carol.page.getByLabel('Message', { exact: true }).fill('Still here?');
      await carol.page.getByLabel('Message', { exact: true }).press('Enter');
      await carol.msg('Still here?').locator('.failed', { hasText: 'not a member of this group' }).waitFor();
      await shots.take('removed-member', carol);
    });

    scenario('the pages ran under the strict CSP without violations or script errors', async () => {
      const bad = consoleLog.filter((l) => /Content Security Policy|Refused to|pageerror/i.test(l));
      assert.deepEqual(bad, []);
    });
  });
}

async function assertTick(person, text, state) {
  try {
    await person.page.locator('.msg.mine', { hasText: text }).locator(`.tick[data-state="${state}"]`).waitFor({ timeout: 20_000 });
  } catch (e) {
    const now = await person.tick(text).getAttribute('data-state').catch(() => 'missing');
    throw new Error(`tick of "${text}" for ${person.name}: want ${state}, is ${now}`);
  }
}
