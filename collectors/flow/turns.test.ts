/**
 * ReceiveTurns (turns.ts): one receive time per turn of the loop; a sleep after a turn that
 * drained the sockets, none after a full libuv read pass; and, on a real loopback socket, every
 * datagram still taken while it sleeps between turns.
 */
import { createSocket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { READ_PASS, ReceiveTurns } from './turns.js';

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('ReceiveTurns', () => {
  it('reads the clock once per turn and gives every datagram of the turn that time', async () => {
    let reads = 0;
    const turns = new ReceiveTurns(() => 1000 + ++reads, 0);
    expect([turns.datagram(), turns.datagram(), turns.datagram()]).toEqual([1001, 1001, 1001]);
    await nextTurn();
    expect(turns.datagram()).toBe(1002);
    expect(reads).toBe(2);
  });

  it('sleeps after a drained turn, for at most its limit, and not after a full read pass', async () => {
    const turns = new ReceiveTurns(Date.now, 20);
    // the first turn's rate is taken over the time since construction: a long wait, capped at 20 ms
    await new Promise((r) => setTimeout(r, 30));
    turns.datagram();
    const t0 = performance.now();
    await nextTurn();
    expect(turns.waits).toBe(1);
    // a timed futex wait never returns early; the upper end is not asserted on a shared machine
    expect(performance.now() - t0).toBeGreaterThanOrEqual(19);
    for (let i = 0; i < READ_PASS; i++) turns.datagram();
    await nextTurn();
    expect(turns.waits).toBe(1);
  });

  it('sleeps after an immediate queued before the turn\'s first datagram (the worker pool posts first)', async () => {
    const turns = new ReceiveTurns(Date.now, 5);
    await new Promise((r) => setTimeout(r, 10));
    let waitsWhenPosted = -1;
    setImmediate(() => (waitsWhenPosted = turns.waits));
    turns.datagram();
    await nextTurn();
    expect(waitsWhenPosted).toBe(0);
    expect(turns.waits).toBe(1);
  });

  it('waits no longer than half a small receive buffer takes to fill at 200 k datagrams/s', async () => {
    const turns = new ReceiveTurns(Date.now, 20);
    turns.buffer(212_992); // Linux's default rmem_max, usable
    await new Promise((r) => setTimeout(r, 30));
    turns.datagram();
    await nextTurn();
    expect(turns.waits).toBe(1);
    expect(turns.lastWaitMs).toBeCloseTo(212_992 / 2048 / 2 / 200, 6);
  });

  it('does not sleep when the limit is 0', async () => {
    const turns = new ReceiveTurns(Date.now, 0);
    turns.datagram();
    await nextTurn();
    expect(turns.waits).toBe(0);
  });

  it('takes every datagram of a loopback stream while sleeping between turns', async () => {
    const turns = new ReceiveTurns(Date.now, 2);
    const rx = createSocket('udp4');
    let got = 0;
    rx.on('message', () => void (got++, turns.datagram()));
    await new Promise<void>((r) => rx.bind(0, '127.0.0.1', () => r()));
    const tx = createSocket('udp4');
    const N = 2000;
    try {
      // bursts of 8 with a turn of the sender's loop between them: a stream, not one flood
      for (let i = 0; i < N; i += 8) {
        for (let k = 0; k < 8; k++) tx.send(Buffer.alloc(64, k), rx.address().port, '127.0.0.1');
        await nextTurn();
      }
      const until = Date.now() + 10_000;
      while (got < N && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      expect(got).toBe(N);
      expect(turns.waits).toBeGreaterThan(0);
    } finally {
      tx.close();
      rx.close();
    }
  });
});
