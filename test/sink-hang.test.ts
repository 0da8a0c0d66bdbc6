/**
 * A hung InfluxDB (a real influxd, SIGSTOPped: it keeps its sockets and answers nothing) must not
 * cost data or block the queue:
 * - SIGTERM while it hangs, with a write timeout longer than shutdown_timeout: every record still in
 *   memory is in the spool when the process exits, and arrives once influxd resumes and the
 *   collector starts again.
 * - steady traffic while it hangs: batches go to the spool after hang_threshold, the queue never
 *   overflows, and everything arrives after resume, each flow exactly once.
 * - the wall clock stepped back an hour during shutdown (libfaketime): the deadline is monotonic.
 * Input: generated, numbered NetFlow v5 flows (test/helpers/numbered.ts) through the built CLI.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInfluxd, type Influxd } from './helpers/influxd.js';
import { freeTcpPort, freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';
import { compareIds, NumberedFlows, spooledFlowIds, startRun, storedFlowIds, type Run } from './helpers/numbered.js';

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

let tmp: { dir: string; cleanup: () => Promise<void> };
let influx: Influxd;
beforeAll(async () => {
  tmp = await makeTmpDir('netvigil-hang-');
  influx = await startInfluxd();
});
afterAll(async () => {
  await influx?.cleanup();
  await tmp?.cleanup();
});

interface Status {
  pipeline: { queueHighWater: number; queueCapacity: number; droppedQueueFull: number };
  sinks: { name: string; stats: { spoolBatches: number; state: string } }[];
}

function config(name: string, o: { udp: number; http: number; db: string; extra: string }): string {
  const file = join(tmp.dir, `${name}.yaml`);
  writeFileSync(
    file,
    `data_dir: ${join(tmp.dir, name)}
shutdown_timeout: 3s
telemetry_interval: 1s
monitor: { enabled: false }
http: { listen: "127.0.0.1:${o.http}" }
pipeline: { batch_size: 500, flush_interval: 200ms, queue_size: 2000 }
sinks:
  influx: { url: "${influx.url}", database: ${o.db}, retry: { initial: 200ms, max: 1s }, ${o.extra} }
collectors:
  flow: { listen: [{ address: 127.0.0.1, port: ${o.udp} }], raw: true, interval: 10m }
`,
  );
  return file;
}

async function status(http: number): Promise<Status | undefined> {
  return (await fetch(`http://127.0.0.1:${http}/status.json`).then((r) => r.json(), () => undefined)) as Status | undefined;
}

async function sink(http: number): Promise<Status['sinks'][number]['stats'] | undefined> {
  return (await status(http))?.sinks.find((s) => s.name === 'influx')?.stats;
}

async function stopRun(r: Run): Promise<void> {
  r.signal('SIGTERM');
  expect(await r.exited).toEqual({ code: 0, signal: null });
}

describe('a hung InfluxDB', () => {
  it('SIGTERM with timeout > shutdown_timeout: every queued record is spooled, then delivered', async () => {
    const [udp, http] = [await freeUdpPort(), await freeTcpPort()];
    // neither the timeout nor the hang threshold ends the hung writes before the 3 s deadline:
    // only the shutdown path can save them
    const cfg = config('term', { udp, http, db: 'hterm', extra: 'timeout: 60s, hang_threshold: 30s' });
    const flows = new NumberedFlows(udp);
    let r = await startRun(cfg, tmp.dir);
    try {
      await flows.send(300);
      await waitFor('the first flows stored', async () => (await storedFlowIds(influx, 'hterm').catch(() => [])).length === 300 || undefined, 15_000, 200);
      influx.hang();
      await flows.send(1800);
      await new Promise((res) => setTimeout(res, 1000));
      const t0 = Date.now();
      await stopRun(r);
      expect(Date.now() - t0).toBeLessThan(5000); // shutdown_timeout (3 s) plus process exit
      expect(r.err()).toContain('abandoning InfluxDB writes in flight');
      const spooled = spooledFlowIds(join(tmp.dir, 'term', 'spool', 'influx'));
      // everything sent while influxd hung is on disk (an earlier flow may be there too: a write
      // answered after the hang began is not)
      expect(compareIds(spooled.filter((id) => id > 300), 2100).missing.filter((id) => id > 300)).toEqual([]);
      influx.resume();
      r = await startRun(cfg, tmp.dir);
      await waitFor('spool replayed', async () => (await sink(http))?.spoolBatches === 0 || undefined, 30_000, 200);
      await stopRun(r);
      const stored = await storedFlowIds(influx, 'hterm');
      expect(compareIds(stored, flows.sent)).toEqual({ missing: [], duplicates: [], foreign: [] });
      expect(stored).toHaveLength(2100);
    } finally {
      influx.resume();
      r.signal('SIGKILL');
      flows.close();
    }
  }, 90_000);

  it('the wall clock stepped back an hour during shutdown: the deadline still holds, the spool still gets everything', async () => {
    // The collector runs under libfaketime (only CLOCK_REALTIME is moved, from a re-read file) and the
    // step comes after SIGTERM: a deadline kept on Date.now() would then wait an hour for the hung writes.
    const faketime = join(tmp.dir, 'step.faketime');
    writeFileSync(faketime, '+0\n');
    const env = { ...process.env, LD_PRELOAD: LIBFAKETIME, FAKETIME_TIMESTAMP_FILE: faketime, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' };
    const [udp, http] = [await freeUdpPort(), await freeTcpPort()];
    const cfg = config('step', { udp, http, db: 'hstep', extra: 'timeout: 60s, hang_threshold: 30s' });
    const flows = new NumberedFlows(udp);
    const r = await startRun(cfg, tmp.dir, env);
    try {
      await flows.send(300);
      await waitFor('the first flows stored', async () => (await storedFlowIds(influx, 'hstep').catch(() => [])).length === 300 || undefined, 15_000, 200);
      influx.hang();
      await flows.send(600);
      await new Promise((res) => setTimeout(res, 1000));
      const t0 = Date.now();
      r.signal('SIGTERM');
      await new Promise((res) => setTimeout(res, 300));
      writeFileSync(faketime, '-3600\n');
      const exited = await Promise.race([r.exited, new Promise<'still running'>((res) => setTimeout(() => res('still running'), 15_000))]);
      expect(exited).toEqual({ code: 0, signal: null });
      expect(Date.now() - t0).toBeLessThan(6000); // shutdown_timeout (3 s) plus process exit, on a loaded machine
      const spooled = spooledFlowIds(join(tmp.dir, 'step', 'spool', 'influx'));
      expect(compareIds(spooled.filter((id) => id > 300), 900).missing.filter((id) => id > 300)).toEqual([]);
    } finally {
      influx.resume();
      r.signal('SIGKILL');
      flows.close();
    }
  }, 60_000);

  it('steady traffic: batches go to the spool after hang_threshold, the queue never overflows', async () => {
    const [udp, http] = [await freeUdpPort(), await freeTcpPort()];
    const cfg = config('steady', { udp, http, db: 'hsteady', extra: 'timeout: 30s, hang_threshold: 1s' });
    const flows = new NumberedFlows(udp);
    const r = await startRun(cfg, tmp.dir);
    try {
      await flows.send(300);
      await waitFor('the first flows stored', async () => (await storedFlowIds(influx, 'hsteady').catch(() => [])).length === 300 || undefined, 15_000, 200);
      influx.hang();
      // ~1,000 flows/s for 6 s: 3x the queue (2,000) while the hung writes would wait 30 s
      for (let s = 0; s < 6; s++) await flows.send(1000, 25);
      const hung = await sink(http);
      expect(hung?.state).toBe('unavailable');
      expect(hung?.spoolBatches).toBeGreaterThan(0);
      influx.resume();
      await flows.send(900, 25);
      await waitFor('spool replayed', async () => (await sink(http))?.spoolBatches === 0 || undefined, 60_000, 200);
      await waitFor('every flow stored', async () => (await storedFlowIds(influx, 'hsteady')).length >= flows.sent || undefined, 15_000, 200).catch(() => undefined);
      const end = await status(http);
      expect(end?.pipeline.droppedQueueFull).toBe(0);
      expect(end?.pipeline.queueHighWater).toBeLessThan(end?.pipeline.queueCapacity ?? 0);
      await stopRun(r);
      const stored = await storedFlowIds(influx, 'hsteady');
      expect(compareIds(stored, flows.sent)).toEqual({ missing: [], duplicates: [], foreign: [] });
      expect(stored).toHaveLength(7200);
    } finally {
      influx.resume();
      r.signal('SIGKILL');
      flows.close();
    }
  }, 120_000);
});
