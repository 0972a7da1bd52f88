// Starts the platform under test in one of its modes and stops it again:
//   local    - every service as its own process on embedded stores (start-local.sh)
//   allinone - the one `parley` binary (allinone/cmd/parley), as `make run` starts it
//   stack    - production on one machine (deploy/run-stack.sh): two regions with two
//              gateways each on Cassandra, Redis and MinIO; users spread over the gateways
// PARLEY_URL=http://… tests an already running platform instead (no admin scenarios
// unless PARLEY_ADMIN_USER / PARLEY_ADMIN_PASSWORD name an admin).
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';

const run = promisify(execFile);
export const root = resolve(import.meta.dirname, '../../..');

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
  });
}

async function portsFree(base, n) {
  for (let p = base; p < base + n; p++) {
    const ok = await new Promise((res) => {
      const s = createServer();
      s.once('error', () => res(false));
      s.listen(p, '127.0.0.1', () => s.close(() => res(true)));
    });
    if (!ok) return false;
  }
  return true;
}

async function waitReady(url, ms, proc) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (proc && proc.exitCode !== null) throw new Error(`platform exited with ${proc.exitCode} before it was ready`);
    try {
      const r = await fetch(url + '/readyz');
      if (r.ok) return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url}/readyz not ready within ${ms} ms`);
}

// The first port the kernel hands out to outgoing connections.
function ephemeralLow() {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 32768;
  }
}

async function freeBlock(lo, hi, n) {
  for (let i = 0; i < 100; i++) {
    const b = lo + Math.floor(Math.random() * (hi - lo));
    if (await portsFree(b, n)) return b;
  }
  throw new Error(`no ${n} free ports in a row between ${lo} and ${hi}`);
}

function readLogs(dir) {
  try {
    return readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8').slice(-2000)).join('\n');
  } catch {
    return '';
  }
}

function stopProc(proc, ms = 20_000) {
  if (!proc || proc.exitCode !== null) return Promise.resolve();
  return new Promise((res) => {
    const t = setTimeout(() => { try { proc.kill('SIGKILL'); } catch { /* gone */ } }, ms);
    proc.once('exit', () => { clearTimeout(t); res(); });
    proc.kill('SIGTERM');
  });
}

function logTo(proc, file) {
  const chunks = [];
  proc.stdout.on('data', (d) => chunks.push(d));
  proc.stderr.on('data', (d) => chunks.push(d));
  proc.once('exit', () => writeFileSync(file, Buffer.concat(chunks)));
  return chunks;
}

/**
 * @returns {Promise<{mode: string, urls: string[], admin: {username: string, password: string} | null, logDir: string, stop: () => Promise<void>}>}
 */
export async function startPlatform(mode, outDir) {
  mkdirSync(outDir, { recursive: true });
  const admin = { username: 'root' + randomBytes(3).toString('hex'), password: 'admin-' + randomBytes(9).toString('hex') };
  if (process.env.PARLEY_URL) {
    const a = process.env.PARLEY_ADMIN_USER ? { username: process.env.PARLEY_ADMIN_USER, password: process.env.PARLEY_ADMIN_PASSWORD } : null;
    return { mode, urls: process.env.PARLEY_URL.split(','), admin: a, logDir: outDir, stop: async () => {} };
  }
  const data = mkdtempSync(join(tmpdir(), `parley-browser-${mode}-`));
  if (mode === 'local') {
    const base = await freeBlock(20000, ephemeralLow() - 10, 8);
    const proc = spawn('bash', [join(root, 'deploy/browser/start-local.sh')], {
      env: { ...process.env, PARLEY_BASE_PORT: String(base), PARLEY_DATA_DIR: data, PARLEY_ADMIN_USER: admin.username, PARLEY_ADMIN_PASSWORD: admin.password },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    logTo(proc, join(outDir, 'start-local.log'));
    const url = `http://127.0.0.1:${base}`;
    await waitReady(url, 240_000, proc);
    return { mode, urls: [url], admin, logDir: data, stop: () => stopProc(proc) };
  }
  if (mode === 'allinone') {
    // Its own copy: a developer's `make run` may be running .run/bin/parley.
    const bin = join(data, 'parley');
    await run('go', ['build', '-o', bin, './cmd/parley'], { cwd: join(root, 'allinone') });
    await run(bin, ['bootstrap-admin', '-username', admin.username, '-data-dir', data], {
      env: { ...process.env, CHAT_AUTH_BOOTSTRAP_PASSWORD: admin.password },
    });
    const port = await freePort();
    const proc = spawn(bin, [`-data-dir=${data}`, `-public.addr=127.0.0.1:${port}`, '-internal.free-ports'], {
      env: process.env, stdio: ['ignore', 'pipe', 'pipe'],
    });
    logTo(proc, join(outDir, 'parley.log'));
    const url = `http://127.0.0.1:${port}`;
    await waitReady(url, 120_000, proc);
    return { mode, urls: [url], admin, logDir: data, stop: () => stopProc(proc) };
  }
  if (mode === 'stack') {
    const stackEnv = process.env.CHAT_STACK_ENV || join(process.env.CHAT_STACK_DIR || join(root, '.run/stack'), 'env');
    if (!existsSync(stackEnv)) throw new Error(`stack mode needs the real stack: no ${stackEnv} (run deploy/stack/up.sh)`);
    const ns = 'pbrowser_' + randomBytes(4).toString('hex');
    const env = {
      ...process.env, CHAT_PROD_DIR: data, CHAT_PROD_NAMESPACE: ns,
      CHAT_PROD_READY_TIMEOUT: '300',
    };
    const stack = Object.fromEntries(readFileSync(stackEnv, 'utf8').split('\n')
      .map((l) => l.match(/^(CHAT_[A-Z0-9_]+)="?(.*?)"?$/)).filter(Boolean).map((m) => [m[1], m[2]]));
    // Media downloads redirect to MinIO's presigned URLs: the page may fetch them.
    if (stack.CHAT_S3_ENDPOINT && !env.CHAT_GATEWAY_WEB_MEDIA_ORIGINS) env.CHAT_GATEWAY_WEB_MEDIA_ORIGINS = `http://${stack.CHAT_S3_ENDPOINT}`;
    const stop = async () => {
      await run('bash', [join(root, 'deploy/stop-stack.sh')], { env }).catch((e) => console.error('stop-stack:', e.message));
    };
    // "auto" picks a free port range, but on a busy machine another process
    // may take one of its ports before a service binds it: try again then.
    for (let attempt = 1; ; attempt++) {
      // A base below the kernel's ephemeral range: outgoing connections
      // (Cassandra drivers, browsers, other tests) cannot hold those ports.
      env.CHAT_PROD_PORT_BASE = String(await freeBlock(20000, ephemeralLow() - 40, 35));
      try {
        const out = await run('bash', [join(root, 'deploy/run-stack.sh')], { env, maxBuffer: 16 << 20 });
        writeFileSync(join(outDir, 'run-stack.log'), out.stdout + out.stderr);
        break;
      } catch (e) {
        const log = `${e.stdout || ''}${e.stderr || ''}`;
        writeFileSync(join(outDir, `run-stack-attempt-${attempt}.log`), log);
        await stop();
        // Two start-up failures of a busy machine are worth another try: a
        // port taken between the check and the bind, and Cassandra too slow
        // to answer a schema change in time (migrations are re-runnable).
        const logs = log + readLogs(join(data, 'logs'));
        const transient = logs.match(/address already in use|cassandra migrations: .*(timeout|no response)/);
        if (transient && attempt < 3) {
          console.log(`# run-stack.sh failed to start (${transient[0].slice(0, 80)}), attempt ${attempt}; trying again`);
          continue;
        }
        throw new Error(`deploy/run-stack.sh failed (see ${join(outDir, `run-stack-attempt-${attempt}.log`)}): ${(e.stderr || e.message).slice(-800)}`);
      }
    }
    const vars = Object.fromEntries(readFileSync(join(data, 'env'), 'utf8').split('\n').filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const urls = vars.PARLEY_GATEWAYS.split(',');
    const cass = ['-auth.store.backend=cassandra', `-auth.cassandra.hosts=${stack.CHAT_CASSANDRA_HOSTS}`,
      `-auth.cassandra.dc=${stack.CHAT_CASSANDRA_DC}`, `-auth.cassandra.keyspace=${ns}_auth`];
    try {
      await run(join(data, 'bin/authsvc'), ['bootstrap-admin', '-username', admin.username, ...cass], {
        env: { ...env, CHAT_AUTH_BOOTSTRAP_PASSWORD: admin.password },
      });
    } catch (e) {
      await stop();
      throw new Error(`authsvc bootstrap-admin on Cassandra failed: ${e.stderr || e.message}`);
    }
    return { mode, urls, admin, logDir: join(data, 'logs'), stop };
  }
  throw new Error(`unknown mode ${mode}: local, allinone or stack`);
}
