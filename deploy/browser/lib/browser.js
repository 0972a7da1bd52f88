// Debian's Chromium driven by playwright-core, and the people who use it:
// one browser context per user, screenshots at desktop and phone widths.
import { chromium } from 'playwright-core';
import { mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export const CHROMIUM = process.env.PARLEY_CHROMIUM || '/usr/bin/chromium';
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** Launches headless Chromium with the flags this machine needs (no network beyond loopback). */
export async function launch() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} missing: run deploy/browser/install-chromium.sh`);
  // playwright gives every launch a fresh, empty --user-data-dir of its own.
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Collects what the pages said on the console, printed when a test fails. */
export const consoleLog = [];

export class Person {
  constructor(browser, url, name, runId) {
    this.browser = browser;
    this.url = url;
    this.name = name; // display name
    this.username = `${name.toLowerCase()}${runId}`;
    this.password = `pw-${name.toLowerCase()}-${runId}-secret`;
  }

  async open() {
    this.context = await this.browser.newContext({ viewport: DESKTOP, baseURL: this.url });
    this.page = await this.context.newPage();
    this.page.setDefaultTimeout(15_000);
    this.page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') consoleLog.push(`[${this.name} ${m.type()}] ${m.text()}`);
    });
    this.page.on('pageerror', (e) => consoleLog.push(`[${this.name} pageerror] ${e.message}`));
    await this.page.goto('/');
    return this;
  }

  async signUp() {
    const p = this.page;
    await p.getByRole('button', { name: 'Create an account' }).click();
    await p.getByLabel('Username').fill(this.username);
    await p.getByLabel('Display name').fill(this.name);
    await p.getByLabel('Password').fill(this.password);
    await p.getByRole('button', { name: 'Create account' }).click();
    await p.getByRole('heading', { name: `Welcome, ${this.name}` }).waitFor();
    await this.online();
  }

  async signIn(username = this.username, password = this.password) {
    const p = this.page;
    await p.getByLabel('Username').fill(username);
    await p.getByLabel('Password').fill(password);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('heading', { name: /^Welcome, / }).waitFor();
    await this.online();
  }

  /** Waits until the client says it is connected and caught up. */
  async online() {
    await this.page.waitForFunction(() => document.body.dataset.connection === 'online', null, { timeout: 20_000 });
  }

  conv(title) { return this.page.locator('.conv', { has: this.page.locator('.conv-title', { hasText: title }) }); }
  msg(text) { return this.page.locator('.msg', { hasText: text }); }
  tick(text) { return this.page.locator('.msg.mine', { hasText: text }).locator('.tick'); }

  async openConv(title) {
    await this.conv(title).click();
    await this.page.locator('#chat-title', { hasText: title }).waitFor();
  }

  async startChat(other) {
    await this.page.getByRole('button', { name: 'New chat' }).click();
    await this.page.getByLabel('Username').fill(other.username);
    await this.page.getByRole('button', { name: 'Start chat' }).click();
    await this.page.locator('#chat-title', { hasText: other.name }).waitFor();
  }

  async send(text) {
    const input = this.page.getByLabel('Message', { exact: true });
    await input.fill(text);
    await input.press('Enter');
    await this.msg(text).waitFor();
  }

  async offline(on) {
    await this.context.setOffline(on);
  }

  async close() { await this.context.close(); }
}

/** Screenshots at desktop and at phone width, named by step. */
export class Shots {
  constructor(dir) {
    this.dir = dir;
    this.n = 0;
    this.files = [];
    mkdirSync(dir, { recursive: true });
  }

  async take(step, ...people) {
    this.n += 1;
    const prefix = String(this.n).padStart(2, '0');
    for (const who of people) {
      const p = who.page;
      const base = join(this.dir, `${prefix}-${step}-${who.name.toLowerCase()}`);
      await p.screenshot({ path: `${base}-desktop.png` });
      await p.setViewportSize(PHONE);
      await p.waitForTimeout(150);
      await p.screenshot({ path: `${base}-phone.png` });
      await p.setViewportSize(DESKTOP);
      this.files.push(`${base}-desktop.png`, `${base}-phone.png`);
    }
  }
}
