/**
 * The verdict a record carries covers the time it was collected, even though the monitor only
 * judges an interval when it samples at its end: a real event-loop stall right after a record was
 * emitted must still mark that record, and quiet records later must stay `ok`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { App } from '../src/app.js';
import { configSchema } from '../src/commands/common.js';
import { parseConfigText } from '../src/config/load.js';
import { int, makeRecord } from '../src/record/record.js';
import { makeTmpDir, waitFor } from './helpers/net.js';

let tmp: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  tmp = await makeTmpDir();
});
afterAll(async () => tmp?.cleanup());

function busyWait(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    /* a real stall: nothing else runs on this event loop */
  }
}

describe('vm_verdict on records', () => {
  it('marks records collected in a stalled interval, not the quiet ones around it', async () => {
    // unsynced_is_degraded off: this CI VM syncs no clock (clock_unsynced), the stall is under test
    const cfg = parseConfigText(
      `data_dir: ${tmp.dir}/data\npipeline: { flush_interval: 50ms }\nsinks:\n  file: { dir: ${tmp.dir}/lp }\nmonitor: { interval: 1s, recover_after: 1s, unsynced_is_degraded: false }\n`,
      join(tmp.dir, 'c.yaml'),
      configSchema(),
    );
    const app = new App(cfg, { log: pino({ level: 'silent' }), configDir: tmp.dir });
    await app.start();
    const emit = app.pipeline.emitterFor('probe');
    const probe = (name: string): void => emit.emit(makeRecord('health', 'probe', { name }, { v: int(1) }, Date.now()));
    try {
      await new Promise((r) => setTimeout(r, 1500));
      probe('before');
      await new Promise((r) => setTimeout(r, 1500));
      probe('stalled'); // emitted, then the loop stalls before the monitor's next sample
      busyWait(600);
      await waitFor('the stall to be judged', () => app.monitor.current().verdict !== 'ok', 5000);
      await waitFor('recovery to ok', () => app.monitor.current().verdict === 'ok', 15_000);
      await new Promise((r) => setTimeout(r, 1500));
      probe('after');
      await new Promise((r) => setTimeout(r, 2500));
    } finally {
      await app.stop(5000);
    }
    const lines = readFileSync(join(tmp.dir, 'lp', 'netvigil.lp'), 'utf8').split('\n').filter((l) => l.startsWith('probe,'));
    const verdictOf = (name: string): string | undefined => /vm_verdict="(\w+)"/.exec(lines.find((l) => l.startsWith(`probe,name=${name} `)) ?? '')?.[1];
    expect(verdictOf('before')).toBe('ok');
    expect(verdictOf('stalled')).toBe('degraded');
    expect(verdictOf('after')).toBe('ok');
  });
});
