/**
 * One field of one measurement in a directory of line-protocol files (the file sink's output), read
 * by a parser of our own: its sum, the points, the distinct points (series + time: a point written
 * twice shows as fewer keys than points) and the value of the newest point.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface LpTotals {
  sum: number;
  count: number;
  keys: number;
  last: number | undefined;
}

/** `tag` (e.g. `role=receiver`) must appear among the point's tags; '' takes every point. */
export async function lpTotals(dir: string, measurement: string, tag: string, field: string): Promise<LpTotals> {
  const out: LpTotals = { sum: 0, count: 0, keys: 0, last: undefined };
  if (!existsSync(dir)) return out;
  const keys = new Set<string>();
  let lastAt = -1n;
  const re = new RegExp(`(?:^|,)${field}=(-?\\d+(?:\\.\\d+)?)i?(?:,|$)`);
  for (const f of await readdir(dir)) {
    for (const line of (await readFile(join(dir, f), 'utf8')).split('\n')) {
      if (!line.startsWith(`${measurement},`) && !line.startsWith(`${measurement} `)) continue;
      const sp = line.indexOf(' ');
      const series = line.slice(0, sp);
      if (tag && !series.split(',').includes(tag)) continue;
      const at = line.slice(line.lastIndexOf(' ') + 1);
      const v = re.exec(line.slice(sp + 1, line.lastIndexOf(' ')))?.[1];
      if (v === undefined) continue;
      out.sum += Number(v);
      out.count++;
      keys.add(`${series} ${at}`);
      if (BigInt(at) >= lastAt) {
        lastAt = BigInt(at);
        out.last = Number(v);
      }
    }
  }
  out.keys = keys.size;
  return out;
}
