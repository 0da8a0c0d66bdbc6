/**
 * The status page's last hour, as a person sees it: a real App (HTTP on, file sink) receives NetFlow
 * v5 that Debian's softflowd exports from a generated pcap (three runs, seconds apart) and polls a
 * real snmpd; Debian's headless Chromium loads the page, a screenshot goes to the test's temp dir
 * (or NETVIGIL_SCREENSHOT_DIR), and the numbers on the page are checked against /status.json, what
 * softflowd said it exported, and the flow_top lines the file sink wrote.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { chromium, type BrowserContext } from 'playwright-core';
import { App } from '../src/app.js';
import { configSchema } from '../src/commands/common.js';
import { parseConfigText } from '../src/config/load.js';
import { freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';
import { makeTraffic, writePcap } from './helpers/pcap.js';
import { runSoftflowd } from './helpers/softflowd.js';
import { startSnmpd, type Snmpd } from './helpers/snmpd.js';

const FLOWS = 30;
let agent: Snmpd;
let tmp: { dir: string; cleanup: () => Promise<void> };
let app: App;
let browser: BrowserContext | undefined;
let base: string;
let exported = 0;

interface Json {
  verdict: { verdict: string };
  flow: { exporters: { exporter: string; records: number; datagrams: number }[] } | null;
  snmp: { devices: { name: string; last_poll?: { ok: boolean } }[] } | null;
}

beforeAll(async () => {
  let flowPort: number;
  [agent, tmp, flowPort] = await Promise.all([startSnmpd(), makeTmpDir(), freeUdpPort()]);
  writeFileSync(
    join(tmp.dir, 'devices.yaml'),
    `devices:\n  - name: lab-snmpd\n    address: 127.0.0.1\n    port: ${agent.port}\n    version: v2c\n    credentials: { community: public }\n    profiles: [system, interfaces]\n    interval: 1s\n    timeout: 1s\n`,
  );
  const cfg = parseConfigText(
    `data_dir: ${tmp.dir}/data
http: { listen: "127.0.0.1:0" }
telemetry_interval: 1s
pipeline: { flush_interval: 200ms }
sinks:
  file: { dir: ${tmp.dir}/lp }
monitor: { interval: 500ms }
collectors:
  snmp: { devices: devices.yaml }
  flow: { listen: [{ address: 127.0.0.1, port: ${flowPort} }], interval: 2s, top_n: 5 }
`,
    join(tmp.dir, 'collector.yaml'),
    configSchema(),
  );
  app = new App(cfg, { log: pino({ level: 'silent' }), configDir: tmp.dir });
  await app.start();
  base = `http://127.0.0.1:${app.httpPort}`;
  const pcap = join(tmp.dir, 'traffic.pcap');
  writeFileSync(pcap, writePcap(makeTraffic(FLOWS, Math.floor(Date.now() / 1000) - 60)));
  for (let run = 0; run < 3; run++) {
    exported += Number(/Flows exported: (\d+)/.exec(await runSoftflowd(pcap, '5', [flowPort], tmp.dir))?.[1]);
    await new Promise((r) => setTimeout(r, 3000));
  }
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop(3000);
  await Promise.all([agent?.stop(), tmp?.cleanup()]);
});

/** flow_top lines of one interval (ms timestamp) and key, as talker -> bytes. */
function flowTop(at: number, by: string): Record<string, number> {
  const out: Record<string, number> = {};
  const dir = join(tmp.dir, 'lp');
  for (const f of readdirSync(dir)) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const m = /^flow_top,(\S+) (\S+) (\d+)$/.exec(line);
      if (!m || Number(m[3]) !== at) continue;
      const tags = Object.fromEntries((m[1] ?? '').split(',').map((kv) => kv.split('=')));
      const bytes = /(?:^|,)bytes=(\d+)i/.exec(m[2] ?? '')?.[1];
      if (tags.by === by && tags.talker !== 'other') out[tags.talker as string] = Number(bytes);
    }
  }
  return out;
}

describe('the status page over the last hour, in headless Chromium', () => {
  it('charts ingest, verdict, device health and talkers, with the collector\'s own numbers', async () => {
    expect(exported).toBe(3 * FLOWS);
    const json = await waitFor('every exported flow counted', async () => {
      const j = (await (await fetch(`${base}/status.json`)).json()) as Json;
      return j.flow?.exporters[0]?.records === exported && j.snmp?.devices[0]?.last_poll?.ok ? j : undefined;
    }, 20_000, 200);
    await waitFor('interface rates and a closed talker interval on the page', async () => {
      const html = await (await fetch(`${base}/`)).text();
      return html.includes('id="top-interfaces"') && html.includes('id="talkers-src_addr"');
    }, 20_000, 250);

    const userDir = join(tmp.dir, 'chromium-profile');
    mkdirSync(userDir);
    browser = await chromium.launchPersistentContext(userDir, {
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      viewport: { width: 1200, height: 900 },
    });
    const page = await browser.newPage();
    const offHost: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(base)) offHost.push(r.url());
    });
    const res = await page.goto(`${base}/`);
    expect(res?.status()).toBe(200);

    // ingest: the legend's total is the collector's count, which is what softflowd exported
    const ingest = await page.locator('#ingest .legend').innerText();
    expect(ingest).toContain(`127.0.0.1:`);
    expect(ingest).toContain(`${exported} records since start`);
    expect(json.flow?.exporters[0]?.records).toBe(exported);
    // three softflowd runs seconds apart: the ingest line has a rise above zero
    const d = (await page.locator('#ingest path').first().getAttribute('d')) ?? '';
    const ys = [...d.matchAll(/[ML][\d.]+,([\d.]+)/g)].map((m) => Number(m[1]));
    expect(ys.length).toBeGreaterThan(5);
    expect(Math.min(...ys)).toBeLessThan(Math.max(...ys));

    // verdict timeline: the newest change names the verdict /status.json reports now
    const now = (await (await fetch(`${base}/status.json`)).json()) as Json;
    const changes = await page.locator('#verdict-changes li').allInnerTexts();
    expect(changes.at(-1)).toContain(now.verdict.verdict);
    expect(await page.locator('#verdict-timeline rect').count()).toBeGreaterThan(0);

    // device health: the newest band of the polled device says ok, like its last poll
    const devTitles = await page.locator('#device-health rect title').allTextContents();
    expect(devTitles.at(-1)).toBe('lab-snmpd: ok');
    expect(now.snmp?.devices[0]?.last_poll?.ok).toBe(true);
    expect(await page.locator('#top-interfaces td').first().innerText()).toBe('lab-snmpd');

    // top talkers: exactly the flow_top rows the file sink wrote for the interval shown
    const at = Date.parse(((await page.locator('#talkers-at').innerText()).split('starting ')[1] ?? '').trim());
    const cells = await page.locator('#talkers-src_addr tbody tr').evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].map((c) => c.textContent ?? '')));
    const shown = Object.fromEntries(cells.map((c) => [c[0], Number(c[1])]));
    expect(Object.keys(shown).length).toBeGreaterThan(0);
    expect(shown).toEqual(flowTop(at, 'src_addr'));

    expect(await page.locator('script').count()).toBe(0);
    expect(await page.locator('svg').count()).toBeGreaterThanOrEqual(5);
    expect(offHost).toEqual([]);

    const shotDir = process.env.NETVIGIL_SCREENSHOT_DIR ?? join(tmp.dir, 'shots');
    mkdirSync(shotDir, { recursive: true });
    const shot = join(shotDir, 'status-page-live.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(existsSync(shot) && statSync(shot).size).toBeGreaterThan(20_000);
  }, 90_000);
});
