/**
 * The status page in Debian's headless Chromium (playwright-core, no browser download): a real App
 * with a flow listener fed NetFlow v5 and an SNMP device polled from a real snmpd. The device's
 * inventory name is an HTML-injection string; the page must show it as text and run no markup.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { chromium, type BrowserContext } from 'playwright-core';
import { App } from '../src/app.js';
import { configSchema } from '../src/commands/common.js';
import { parseConfigText } from '../src/config/load.js';
import { esc } from '../src/http/page.js';
import { buildV5 } from './helpers/flow-build.js';
import { freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';
import { startSnmpd, type Snmpd } from './helpers/snmpd.js';

const EVIL = `<img src=x onerror="document.title='pwned'">sw&1<b>bold</b>`;

let agent: Snmpd;
let tmp: { dir: string; cleanup: () => Promise<void> };
let app: App;
let browser: BrowserContext | undefined;
let base: string;

beforeAll(async () => {
  let flowPort: number;
  [agent, tmp, flowPort] = await Promise.all([startSnmpd(), makeTmpDir(), freeUdpPort()]);
  // single-quoted YAML: the string reaches the inventory exactly as written
  writeFileSync(
    join(tmp.dir, 'devices.yaml'),
    `devices:\n  - name: '${EVIL.replace(/'/g, "''")}'\n    address: 127.0.0.1\n    port: ${agent.port}\n    version: v2c\n    credentials: { community: public }\n    profiles: [system, interfaces]\n    interval: 1s\n    timeout: 1s\n`,
  );
  const cfg = parseConfigText(
    `data_dir: ${tmp.dir}/data
http: { listen: "127.0.0.1:0" }
sinks:
  file: { dir: ${tmp.dir}/lp }
monitor: { interval: 500ms, unsynced_is_degraded: false }
collectors:
  snmp: { devices: devices.yaml }
  flow: { listen: [{ address: 127.0.0.1, port: ${flowPort} }], interval: 1s }
`,
    join(tmp.dir, 'collector.yaml'),
    configSchema(),
  );
  app = new App(cfg, { log: pino({ level: 'silent' }), configDir: tmp.dir });
  await app.start();
  base = `http://127.0.0.1:${app.httpPort}`;
  const sock = createSocket('udp4');
  const d = buildV5({ uptime: 100_000, secs: Math.floor(Date.now() / 1000), seq: 0 }, [
    { src: '10.1.0.1', dst: '10.2.0.1', input: 1, output: 2, packets: 10, bytes: 1500, first: 99_000, last: 99_900, srcPort: 1234, dstPort: 80, proto: 6 },
  ]);
  await new Promise<void>((r, j) => sock.send(d, flowPort, '127.0.0.1', (e) => (e ? j(e) : r())));
  sock.close();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await app?.stop(3000);
  await Promise.all([agent?.stop(), tmp?.cleanup()]);
});

interface Json {
  verdict: { verdict: string; since: string };
  flow: { exporters: { exporter: string; datagrams: number }[] } | null;
  snmp: { devices: { name: string; last_poll?: { ok: boolean } }[] } | null;
}

describe('status page', () => {
  it('shows exporters, the verdict and the polled device, with network-supplied names as text', async () => {
    const json = await waitFor('an exporter and a successful poll in /status.json', async () => {
      const j = (await (await fetch(`${base}/status.json`)).json()) as Json;
      return j.flow?.exporters[0]?.datagrams === 1 && j.snmp?.devices[0]?.last_poll?.ok ? j : undefined;
    }, 20_000, 100);
    expect(json.snmp?.devices[0]?.name).toBe(EVIL);
    // the same name as a Prometheus label value: quotes and backslashes escaped per the text format
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const label = EVIL.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
    expect(metrics.split('\n')).toContain(`netvigil_snmp_last_poll_success{device="${label}"} 1`);
    const pollAt = metrics.split('\n').find((l) => l.startsWith('netvigil_snmp_last_poll_timestamp_seconds{'));
    expect(Math.abs(Number(pollAt?.slice(pollAt.lastIndexOf(' ') + 1)) * 1000 - Date.now())).toBeLessThan(30_000);

    const userDir = join(tmp.dir, 'chromium-profile');
    mkdirSync(userDir);
    // a fresh profile directory per run (playwright passes it as --user-data-dir)
    browser = await chromium.launchPersistentContext(userDir, {
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1100, height: 900 },
    });
    const page = await browser.newPage();
    const failed: string[] = [];
    page.on('requestfailed', (r) => failed.push(r.url()));
    page.on('request', (r) => {
      if (!r.url().startsWith(base)) failed.push(`off-host request ${r.url()}`);
    });
    const res = await page.goto(`${base}/`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toMatch(/default-src 'none'/);

    await expect.poll(() => page.locator('#exporters').innerText()).toContain('127.0.0.1');
    expect(await page.locator('#exporters td').first().innerText()).toBe('127.0.0.1');
    const verdict = await page.locator('#verdict').innerText();
    // the verdict may change between the JSON read above and the page's own fetch: it is one of the two
    const after = ((await (await fetch(`${base}/status.json`)).json()) as Json).verdict.verdict;
    expect([json.verdict.verdict, after]).toContain(verdict.split(/\s/)[0]);
    expect(verdict).toMatch(/since \d{4}-\d\d-\d\dT/);
    expect(await page.locator('#pipeline').innerText()).toMatch(/queue depth\s+\d+ of 200000/);
    expect(await page.locator('#sinks').innerText()).toMatch(/file\s+yes/);

    // the injection string is a cell's text, exactly, and none of its markup became elements
    const cells = await page.locator('#devices td').allInnerTexts();
    expect(cells[0]).toBe(EVIL);
    expect(cells[3]).toBe('ok');
    expect(await page.locator('#interfaces td').first().innerText()).toBe(EVIL);
    expect(await page.locator('img, b, script').count()).toBe(0);
    expect(await page.title()).toBe('netvigil status');
    expect(failed).toEqual([]);

    // kept only for a person to look at when NETVIGIL_SCREENSHOT_DIR is set
    const shotDir = process.env.NETVIGIL_SCREENSHOT_DIR ?? join(tmp.dir, 'shots');
    mkdirSync(shotDir, { recursive: true });
    const shot = join(shotDir, 'status-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(existsSync(shot) && statSync(shot).size).toBeGreaterThan(10_000);
  }, 60_000);
});

describe('esc', () => {
  it('leaves no markup character unescaped and decodes back to the input', () => {
    const decode = (h: string): string => h.replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e] ?? '');
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('<', '>', '&', '"', "'", 'a', ';', '#', 'é', '\u0000') }), (v) => {
        const h = esc(v);
        expect(h).not.toMatch(/[<>"']/);
        expect(h.replace(/&(amp|lt|gt|quot|#39);/g, '')).not.toContain('&');
        expect(decode(h)).toBe(v);
      }),
      { numRuns: 500 },
    );
  });
});
