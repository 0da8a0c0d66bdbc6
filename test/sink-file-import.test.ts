/**
 * A rotated line-protocol file loads into a real influxd both ways the README names: the `influx`
 * CLI's `-import` (Debian's influxdb-client, line-based, needs the `# DML` header) and a POST of the
 * file as is to /write. String fields with CR/LF (a multi-line sysDescr) stay one line per point.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { FileSink } from '../src/sinks/file.js';
import { int, makeRecord, type NetRecord } from '../src/record/record.js';
import { startInfluxd, type Influxd } from './helpers/influxd.js';
import { makeTmpDir } from './helpers/net.js';

const run = promisify(execFile);
let influx: Influxd;
let tmp: { dir: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  influx = await startInfluxd();
  tmp = await makeTmpDir();
});
afterAll(async () => {
  await influx?.cleanup();
  await tmp?.cleanup();
});

const T0 = Date.UTC(2026, 0, 1);
// The shape of a real multi-line sysDescr (Cisco IOS answers several lines with CRLF).
const DESCR = 'Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version 15.0(2)SE11\r\nTechnical Support: http://www.cisco.com/techsupport\r\nCopyright (c) 1986-2017 by "Cisco Systems", Inc.\\n';

function rec(i: number): NetRecord {
  return makeRecord('device', 'system', { device: `sw${i % 3}` }, { sys_descr: DESCR, uptime: int(i * 100), load: i / 7 }, T0 + i * 1000);
}

describe('line-protocol files load into InfluxDB with influx -import and with /write', () => {
  it('a rotated file with multi-line string fields loads both ways with the same content', async () => {
    const dir = join(tmp.dir, 'lp');
    const sink = new FileSink({ dir, rotateBytes: 4000, rotateIntervalMs: 3_600_000, keep: 10, database: 'imported' }, pino({ level: 'silent' }));
    await sink.start();
    for (let b = 0; b < 6; b++) await sink.write(Array.from({ length: 5 }, (_, k) => rec(b * 5 + k)));
    await sink.stop();
    const rotated = readdirSync(dir).filter((n) => /^netvigil-.*\.lp$/.test(n)).sort();
    expect(rotated.length).toBeGreaterThan(0);
    const file = join(dir, rotated[0] as string);
    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n').filter((l) => l.length > 0);
    expect(lines.slice(0, 2)).toEqual(['# DML', '# CONTEXT-DATABASE: imported']);
    const points = lines.filter((l) => !l.startsWith('#'));
    expect(points.length).toBeGreaterThan(0);
    for (const l of points) expect(l).toMatch(/^system,device=sw\d sys_descr=".*",uptime=\d+i,load=[\d.e-]+ \d+$/);

    await influx.query('', 'CREATE DATABASE "imported"');
    const imp = await run('influx', ['-host', '127.0.0.1', '-port', String(influx.port), '-import', '-path', file, '-precision', 'ms'], { timeout: 20_000 });
    const said = imp.stdout + imp.stderr; // the importer logs its totals to stdout or stderr by version
    expect(said).toContain(`Processed ${points.length} inserts`);
    expect(said).toContain('Failed 0 inserts');

    await influx.query('', 'CREATE DATABASE "posted"');
    const posted = await influx.write('posted', text);
    expect(posted.status).toBe(204);

    const q = 'SELECT sys_descr, uptime, load, device FROM system';
    const a = await influx.query('imported', q);
    const b = await influx.query('posted', q);
    expect(a[0]?.values).toHaveLength(points.length);
    expect(b[0]?.values).toEqual(a[0]?.values);
    // The documented rule: CR and LF are stored as the two characters \r and \n.
    expect(a[0]?.values[0]?.[1]).toBe(DESCR.replace(/\r/g, '\\r').replace(/\n/g, '\\n'));
  });
});
