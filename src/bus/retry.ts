/**
 * A KV write refused while its bucket has no leader (`503`: a NATS node lost, 5.0-6.9 s of election
 * measured, bench/lease-failover.bench.ts) is sent again every half second for as long as the
 * caller says it may (`still`), rather than given up on at the first refusal: lease renewals and
 * relabels (leases.ts) and outbox entries (outbox.ts), whose first refusal used to fence a
 * processor that could still prove its leases.
 */
export const RETRY_MS = 500;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `step` until it resolves; a rejection is retried while `still()` says so, else passed on. */
export async function retrying<T>(step: () => Promise<T>, still: () => boolean): Promise<T> {
  for (;;) {
    try {
      return await step();
    } catch (e) {
      if (!still()) throw e;
      await sleep(RETRY_MS);
    }
  }
}
