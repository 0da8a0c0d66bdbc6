import { describe, expect, it } from 'vitest';
import { walkWith } from './netsnmp.js';
import type { Vb } from './values.js';

// Misbehaving agents are simulated by the `next` function the walk loop is given: we cannot make
// snmpd or snmpsim repeat OIDs, which is exactly the fault these caps exist for.
const int = (oid: string): Vb => ({ oid, value: { kind: 'int', value: 1n } });
const far = () => performance.now() + 10_000;

describe('walk caps', () => {
  it('stops at the end of the subtree', async () => {
    const r = await walkWith(async (o) => (o === '1.2' ? [int('1.2.1'), int('1.2.2'), int('1.3.1')] : []), '1.2', { maxValues: 100, deadlineAt: far() });
    expect(r).toEqual({ vbs: [int('1.2.1'), int('1.2.2')] });
  });
  it('stops at endOfMibView', async () => {
    const r = await walkWith(async () => [int('1.2.1'), { oid: '1.2.1', value: { kind: 'missing', reason: 'endOfMibView' } }], '1.2', { maxValues: 100, deadlineAt: far() });
    expect(r.vbs.length).toBe(1);
    expect(r.truncated).toBeUndefined();
  });
  it('an agent that repeats an OID ends the walk (loop) instead of spinning forever', async () => {
    let calls = 0;
    const r = await walkWith(async () => (calls++, [int('1.2.5')]), '1.2', { maxValues: 1_000_000, deadlineAt: far() });
    expect(r.truncated).toBe('loop');
    expect(calls).toBe(2);
  });
  it('an agent that goes backwards ends the walk', async () => {
    const r = await walkWith(async (o) => (o === '1.2' ? [int('1.2.9')] : [int('1.2.3')]), '1.2', { maxValues: 100, deadlineAt: far() });
    expect(r).toEqual({ vbs: [int('1.2.9')], truncated: 'loop' });
  });
  it('an endless but increasing agent is capped by maxValues', async () => {
    const r = await walkWith(async (o) => [int(`${o}.1`)], '1.2', { maxValues: 50, deadlineAt: far() });
    expect(r.truncated).toBe('values');
    expect(r.vbs.length).toBe(50);
  });
  it('a slow endless agent is capped by the deadline', async () => {
    const t0 = performance.now();
    const r = await walkWith(async (o) => (await new Promise((res) => setTimeout(res, 20)), [int(`${o}.1`)]), '1.2', { maxValues: 1_000_000, deadlineAt: t0 + 200 });
    expect(r.truncated).toBe('time');
    expect(performance.now() - t0).toBeLessThan(400);
  });
});
