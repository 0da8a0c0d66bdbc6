/**
 * A real influxd (Debian's 1.6) on loopback with its own config, ports and temp dirs.
 * `stop()`/`kill()` end it by PID; `start()` again reuses the same data and ports, for outage tests.
 * Options: `auth` turns on authentication with an admin user (the helper's own queries use it);
 * `tls` serves HTTPS with a certificate signed by a throwaway CA (test/helpers/tls.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { startDaemon, type Daemon } from './proc.js';
import { freeTcpPort, makeTmpDir, waitFor } from './net.js';
import { makeCerts, type TestCerts } from './tls.js';

export interface Influxd {
  url: string;
  port: number;
  start(): Promise<void>;
  /** SIGTERM, or SIGKILL for a crash. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** SIGSTOP: the server keeps its sockets but answers nothing (a hung InfluxDB); `resume` is SIGCONT. */
  hang(): void;
  resume(): void;
  query(db: string, q: string): Promise<InfluxSeries[]>;
  /** POST /write as the admin (or anonymously without auth); resolves to status and body. */
  write(db: string, body: string, precision?: string): Promise<{ status: number; body: string }>;
  /** With `auth`: the admin's credentials. */
  admin?: { user: string; password: string };
  /** With `tls`: the CA file that signs the server certificate. */
  certs?: TestCerts;
  /** With `auth`: makes a user with WRITE on `db` only (no admin, no READ). */
  createWriter(user: string, password: string, db: string): Promise<void>;
  cleanup(): Promise<void>;
  output(): string;
}

export interface InfluxdOptions {
  auth?: boolean;
  tls?: boolean;
  /** [http] max-body-size in bytes: larger writes get 413. */
  maxBodySize?: number;
}

export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

/** node:http(s) so a test CA can be passed (fetch cannot take one). */
function request(url: string, opts: { method?: string; body?: string; auth?: string; ca?: string; timeoutMs?: number } = {}): Promise<{ status: number; body: string }> {
  const mod = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, { method: opts.method ?? 'GET', ...(opts.ca ? { ca: opts.ca } : {}), ...(opts.auth ? { auth: opts.auth } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.setTimeout(opts.timeoutMs ?? 10_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

async function portAnswers(url: string, ca?: string): Promise<boolean> {
  try {
    return (await request(`${url}/ping`, { timeoutMs: 500, ...(ca ? { ca } : {}) })).status === 204;
  } catch {
    return false;
  }
}

/**
 * A free port found now may be taken by another test's server before influxd binds it (test files
 * run in parallel: seen once in CI, `bind: address already in use`); such a start is tried again on
 * another port, twice at most.
 */
export async function startInfluxd(options: InfluxdOptions = {}): Promise<Influxd> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startInfluxdOnce(options);
    } catch (e) {
      if (attempt >= 3 || !/address already in use/.test((e as Error).message)) throw e;
    }
  }
}

async function startInfluxdOnce(options: InfluxdOptions): Promise<Influxd> {
  const tmp = await makeTmpDir('netvigil-influxd-');
  const port = await freeTcpPort();
  const rpc = await freeTcpPort();
  const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const certs = options.tls ? makeCerts(tmp.dir) : undefined;
  const ca = certs ? readFileSync(certs.caFile, 'utf8') : undefined;
  const admin = options.auth ? { user: 'admin', password: 'admin-secret' } : undefined;
  const auth = admin ? `${admin.user}:${admin.password}` : undefined;
  const extra = [
    ...(options.auth ? ['  auth-enabled = true'] : []),
    ...(options.maxBodySize !== undefined ? [`  max-body-size = ${options.maxBodySize}`] : []),
    ...(certs ? ['  https-enabled = true', `  https-certificate = "${certs.certFile}"`, `  https-private-key = "${certs.keyFile}"`] : []),
  ].join('\n');
  const conf = join(tmp.dir, 'influxdb.conf');
  writeFileSync(
    conf,
    `reporting-disabled = true
bind-address = "127.0.0.1:${rpc}"
[meta]
  dir = "${tmp.dir}/meta"
[data]
  dir = "${tmp.dir}/data"
  wal-dir = "${tmp.dir}/wal"
  query-log-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:${port}"
  log-enabled = false
${extra}
[monitor]
  store-enabled = false
[logging]
  level = "warn"
`,
  );
  let d: Daemon | undefined;
  let log = '';
  let created = false;
  const q = (text: string, db = ''): Promise<{ status: number; body: string }> =>
    request(`${url}/query?db=${encodeURIComponent(db)}&epoch=ms&q=${encodeURIComponent(text)}`, { method: 'POST', ...(auth ? { auth } : {}), ...(ca ? { ca } : {}) });
  const inst: Influxd = {
    url,
    port,
    ...(admin ? { admin } : {}),
    ...(certs ? { certs } : {}),
    async start() {
      // A stale instance on this port would answer /ping while ours failed to start.
      if (await portAnswers(url, ca)) throw new Error(`port ${port} already answers /ping`);
      d = startDaemon('influxd', ['run', '-config', conf]);
      const mine = d;
      await waitFor(`influxd on ${url}\n${mine.output()}`, async () => {
        if (mine.proc.exitCode !== null) throw new Error(`influxd exited: ${mine.output()}`);
        return portAnswers(url, ca);
      }, 20_000);
      // The first user may be made without credentials (influxd 1.x), and must be an admin.
      if (admin && !created) {
        const r = await q(`CREATE USER "${admin.user}" WITH PASSWORD '${admin.password}' WITH ALL PRIVILEGES`);
        if (r.status !== 200 || r.body.includes('error')) throw new Error(`creating the admin: ${r.status} ${r.body}`);
        created = true;
      }
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (!d) return;
      await d.stop(signal);
      log += d.output();
      d = undefined;
    },
    hang() {
      d?.proc.kill('SIGSTOP');
    },
    resume() {
      d?.proc.kill('SIGCONT');
    },
    async query(db, text) {
      const r = await q(text, db);
      const body = JSON.parse(r.body) as { results?: { series?: InfluxSeries[]; error?: string }[]; error?: string };
      if (body.error) throw new Error(body.error);
      const res = body.results?.[0];
      if (res?.error) throw new Error(res.error);
      return res?.series ?? [];
    },
    write(db, body, precision = 'ms') {
      return request(`${url}/write?db=${encodeURIComponent(db)}&precision=${precision}`, { method: 'POST', body, ...(auth ? { auth } : {}), ...(ca ? { ca } : {}) });
    },
    async createWriter(user, password, db) {
      await inst.query('', `CREATE DATABASE "${db}"`);
      await inst.query('', `CREATE USER "${user}" WITH PASSWORD '${password}'`);
      await inst.query('', `GRANT WRITE ON "${db}" TO "${user}"`);
    },
    async cleanup() {
      inst.resume();
      await inst.stop('SIGKILL');
      await tmp.cleanup();
    },
    output: () => log + (d?.output() ?? ''),
  };
  try {
    await inst.start();
  } catch (e) {
    await inst.cleanup().catch(() => {});
    throw e;
  }
  return inst;
}
