/**
 * Fault injection for tests only: `NETVIGIL_TEST_HOLD_<what>_MS` holds a process that long inside a
 * window a few milliseconds wide otherwise (between a write and its commit or acknowledgement),
 * and `say` logs that it does, so a test can SIGKILL it there for certain. Used for the processor's
 * commit (test/bus-fence.test.ts), a poll's hand-over (test/bus-pollers.test.ts) and a trap's
 * acknowledgement (test/bus-traps.test.ts).
 */
export async function testHold(what: 'COMMIT' | 'HANDOFF' | 'TRAP_ACK', say: () => void): Promise<void> {
  const ms = Number(process.env[`NETVIGIL_TEST_HOLD_${what}_MS`] ?? 0);
  if (!(ms > 0)) return;
  say();
  await new Promise((r) => setTimeout(r, ms));
}
