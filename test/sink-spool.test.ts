/**
 * The disk spool's promises: a batch counts as spooled only when all of it is on disk; truncated or
 * changed files are detected at replay and counted; a full disk is a state, not silent success.
 * The full disk is a real 2 MiB tmpfs (needs root for mount; skipped with the reason otherwise).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Spool } from '../src/sinks/influx/spool.js';
import { InfluxSink } from '../src/sinks/influx/sink.js';
import { SpoolError } from '../src/errors.js';
import { int, makeRecord, type NetRecord } from '../src/record/record.js';
import { startInfluxd } from './helpers/influxd.js';
import { makeTmpDir, waitFor } from './helpers/net.js';

const limits = { maxBytes: 1 << 30, maxAgeMs: 3_600_000 };
const T0 = Date.UTC(2026, 0, 1);

/** `n` lines of line protocol, points `from`..`from+n-1` with unique timestamps. */
function batch(from: number, n: number, pad = 0): string {
  let s = '';
  for (let i = from; i < from + n; i++) s += `spool,src=test seq=${i}i,pad="${'x'.repeat(pad)}" ${T0 + i}\n`;
  return s;
}

let tmp: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  tmp = await makeTmpDir('netvigil-spool-');
});
afterAll(async () => {
  await tmp?.cleanup();
});

describe('spool files are checked at replay', () => {
  it('returns intact batches, removes and counts truncated, changed and empty ones', () => {
    const dir = join(tmp.dir, 'corrupt');
    const a = new Spool(dir, limits);
    a.append(batch(0, 10), 10);
    a.append(batch(10, 20), 20);
    a.append(batch(30, 30), 30);
    a.append(batch(60, 5), 5);
    const files = readdirSync(dir).sort();
    expect(files).toHaveLength(4);
    const f = (i: number): string => join(dir, files[i] as string);
    truncateSync(f(1), readFileSync(f(1)).length - 7); // cut short, as a full disk leaves a file
    const changed = readFileSync(f(2));
    changed.writeUInt8(changed.readUInt8(changed.length - 3) ^ 0x01, changed.length - 3); // one bit flipped in the payload
    writeFileSync(f(2), changed);
    truncateSync(f(3), 0);
    writeFileSync(join(dir, 'leftover.lp.tmp'), '');

    const b = new Spool(dir, limits); // as after a restart
    expect(readdirSync(dir).some((n) => n.endsWith('.tmp'))).toBe(false);
    expect(b.size).toMatchObject({ batches: 4, points: 65 });
    const first = b.peek();
    expect(first?.text).toBe(batch(0, 10));
    b.ack(first?.entry.seq ?? -1);
    expect(b.peek()).toBeUndefined();
    expect(b.corruptBatches).toBe(3);
    expect(b.corruptPoints).toBe(55);
    expect(b.size).toMatchObject({ batches: 0, points: 0, bytes: 0 });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('accepts a complete unframed file of an earlier version and refuses a short one', () => {
    const dir = join(tmp.dir, 'legacy');
    mkdirSync(dir);
    writeFileSync(join(dir, '0000000000000001-1-3.lp'), batch(0, 3));
    writeFileSync(join(dir, '0000000000000002-1-3.lp'), batch(3, 3).slice(0, -20));
    const s = new Spool(dir, limits);
    const p = s.peek();
    expect(p?.text).toBe(batch(0, 3));
    s.ack(p?.entry.seq ?? -1);
    expect(s.peek()).toBeUndefined();
    expect(s.corruptPoints).toBe(3);
  });
});

/** Mounts a tmpfs of `size` on a new directory, or returns the reason it could not. */
function mountTmpfs(dir: string, size: string): string | undefined {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (e) {
    return (e as { stderr?: Buffer }).stderr?.toString().trim() || (e as Error).message;
  }
}

function umount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    /* not mounted */
  }
  rmSync(dir, { recursive: true, force: true });
}

const small = join(process.env.TMPDIR ?? '/tmp', `netvigil-tmpfs-${process.pid}`);
const cannotMount = mountTmpfs(small, '2m');
if (cannotMount) umount(small);
afterAll(() => umount(small));

describe.skipIf(cannotMount !== undefined)(`a full disk (2 MiB tmpfs${cannotMount ? `; skipped: mount failed: ${cannotMount}` : ''})`, () => {
  it('never counts a short write as spooled, leaves no temp file, and is a state until space returns', () => {
    const dir = join(small, 'unit');
    const s = new Spool(dir, limits);
    const written: string[] = [];
    let error: unknown;
    for (let i = 0; i < 100 && !error; i++) {
      const text = batch(i * 100, 100, 1000); // ~110 KB: the 2 MiB disk fills within 20 batches
      try {
        s.append(text, 100);
        written.push(text);
      } catch (e) {
        error = e;
      }
    }
    expect(error).toBeInstanceOf(SpoolError);
    expect(s.diskFull).toBe(true);
    expect(s.writeErrors).toBe(1);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(s.size.points).toBe(written.length * 100);
    // a second failure keeps the state; delivering (ack) frees space and the next write clears it
    expect(() => s.append(batch(0, 100, 1000), 100)).toThrow(SpoolError);
    const replayed: string[] = [];
    for (let k = 0; k < 3; k++) {
      const p = s.peek();
      replayed.push(p?.text ?? '');
      s.ack(p?.entry.seq ?? -1);
    }
    expect(replayed).toEqual(written.slice(0, 3));
    s.append(batch(0, 10), 10);
    expect(s.diskFull).toBe(false);
    const again = new Spool(dir, limits);
    const rest: string[] = [];
    for (let p = again.peek(); p; p = again.peek()) {
      rest.push(p.text);
      again.ack(p.entry.seq);
    }
    expect(rest).toEqual([...written.slice(3), batch(0, 10)]);
    expect(again.corruptBatches).toBe(0);
  });

  it('sink: lost points counted, not ready while full, what was spooled arrives intact in a real influxd', async () => {
    const influx = await startInfluxd();
    try {
      await influx.stop(); // InfluxDB away: everything goes to the spool
      const sink = new InfluxSink(
        {
          url: influx.url, database: 'spoolfull', createDatabase: true, timeoutMs: 1000, maxInFlight: 1,
          retryInitialMs: 50, retryMaxMs: 200, spoolDir: join(small, 'sink'), spoolMaxBytes: 1 << 30, spoolMaxAgeMs: 3_600_000,
        },
        pino({ level: 'silent' }),
      );
      await sink.start();
      const n = 60;
      const per = 200;
      let readyWhileFull = false;
      for (let b = 0; b < n; b++) {
        const recs: NetRecord[] = [];
        for (let i = b * per; i < (b + 1) * per; i++) recs.push(makeRecord('health', 'stream', { src: 'test' }, { seq: int(i), pad: 'y'.repeat(200) }, T0 + i));
        await sink.write(recs);
        if (sink.spool.diskFull && sink.ready()) readyWhileFull = true;
      }
      const st = sink.stats();
      expect(st.spoolDiskFull).toBe(true);
      expect(sink.ready()).toBe(false);
      expect(readyWhileFull).toBe(false);
      expect(st.lostPoints).toBeGreaterThan(0);
      expect(st.lostPoints + sink.spool.size.points).toBe(n * per);
      expect(readdirSync(join(small, 'sink')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      const spooled = sink.spool.size.points;
      await influx.start();
      await waitFor('spool replayed', () => sink.spool.empty, 30_000);
      const rows = await influx.query('spoolfull', 'SELECT count("seq"), min("seq"), max("seq") FROM "stream"');
      const [, count, min, max] = rows[0]?.values[0] ?? [];
      expect(Number(count)).toBe(spooled);
      // the spooled batches are the first ones (later ones met the full disk); every point at its time
      expect([Number(min), Number(max)]).toEqual([0, spooled - 1]);
      const wrongTime = await influx.query('spoolfull', `SELECT count("seq") FROM "stream" WHERE time < ${T0}ms OR time > ${T0 + n * per}ms`);
      expect(wrongTime).toEqual([]);
      expect(sink.ready()).toBe(true);
      await sink.stop(1000);
    } finally {
      await influx.cleanup();
    }
  }, 90_000);
});
