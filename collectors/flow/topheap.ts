/**
 * The n heaviest slots of a talker table's bytes array, kept in a size-n min-heap while the slots
 * are offered one by one: a flush runs on the event loop, and sorting 100 k talkers per table held
 * it for tens of ms. "Heavier" is more bytes, or the earlier slot on a tie (first seen first).
 */
export class TopSlots {
  /** heap[0] is the lightest kept slot. */
  private readonly heap: number[] = [];

  constructor(
    private readonly by: ArrayLike<number>,
    private readonly n: number,
  ) {}

  private lighter(a: number, b: number): boolean {
    const by = this.by;
    return (by[a] as number) < (by[b] as number) || ((by[a] as number) === (by[b] as number) && a > b);
  }

  /** Offer slots in increasing order (the tie rule relies on it). */
  offer(i: number): void {
    const heap = this.heap;
    if (heap.length < this.n) {
      heap.push(i);
      for (let c = heap.length - 1; c > 0; ) {
        const p = (c - 1) >> 1;
        if (!this.lighter(heap[c] as number, heap[p] as number)) break;
        [heap[c], heap[p]] = [heap[p] as number, heap[c] as number];
        c = p;
      }
      // a later slot with equal bytes is lighter, so only strictly more bytes displaces the root
    } else if (this.n > 0 && (this.by[i] as number) > (this.by[heap[0] as number] as number)) {
      heap[0] = i;
      for (let k = 0; ; ) {
        const l = 2 * k + 1;
        const r = l + 1;
        let m = k;
        if (l < heap.length && this.lighter(heap[l] as number, heap[m] as number)) m = l;
        if (r < heap.length && this.lighter(heap[r] as number, heap[m] as number)) m = r;
        if (m === k) return;
        [heap[k], heap[m]] = [heap[m] as number, heap[k] as number];
        k = m;
      }
    }
  }

  /** The kept slots, heaviest first. */
  sorted(): number[] {
    return this.heap.sort((a, b) => (this.lighter(a, b) ? 1 : this.lighter(b, a) ? -1 : 0));
  }
}
