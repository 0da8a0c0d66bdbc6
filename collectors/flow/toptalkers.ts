/**
 * The top-N of a closed interval's talker table, computed from its copy (TalkerTable.copy) in
 * slices, one turn of the event loop each, so the interval flush does not hold the loop while it
 * scans up to max_talkers slots: measured with two full 100 k-talker tables (the 1 M-host softflowd
 * v9 capture), the flush took 17-20 ms in one block, cold as it runs once per interval. Same
 * result as TalkerTable.top without `alsoKeep` (a test holds them equal).
 */
import { ip6KeyText, isIp6Key } from '../../src/wire/ip6key.js';
import { ipv4ToString } from '../../src/wire/reader.js';
import type { Key } from './view.js';
import type { TalkerCopy, TalkerSum } from './talkers.js';
import { TopSlots } from './topheap.js';

/** Slots scanned per turn of the loop (well under 1 ms warm). */
const SLICE = 4096;

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

export async function topOfCopy(c: TalkerCopy, n: number): Promise<{ top: TalkerSum[]; other: { bytes: number; packets: number; flows: number } }> {
  const size = c.bytes.length;
  const by = c.bytes;
  const heaviest = new TopSlots(by, n);
  let bytes = 0;
  let packets = 0;
  let flows = 0;
  for (let from = 0; from < size; from += SLICE) {
    if (from > 0) await nextTurn();
    const to = Math.min(size, from + SLICE);
    for (let i = from; i < to; i++) {
      bytes += by[i] as number;
      packets += c.packets[i] as number;
      flows += c.flows[i] as number;
      heaviest.offer(i);
    }
  }
  const top: TalkerSum[] = heaviest.sorted().map((i) => {
    const k = c.keys[i] as Key;
    bytes -= by[i] as number;
    packets -= c.packets[i] as number;
    flows -= c.flows[i] as number;
    return { talker: typeof k === 'number' ? ipv4ToString(k) : isIp6Key(k) ? ip6KeyText(k) : k, key: k, bytes: by[i] as number, packets: c.packets[i] as number, flows: c.flows[i] as number };
  });
  return { top, other: { bytes: c.rest.bytes + bytes, packets: c.rest.packets + packets, flows: c.rest.flows + flows } };
}
