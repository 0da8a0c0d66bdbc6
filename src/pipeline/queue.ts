/**
 * Bounded FIFO ring of records with a stated overflow policy:
 *   drop_oldest (default): keep the freshest data, like Telegraf's metric buffer; dashboards show "now".
 *   drop_newest: keep what is already queued, like GoFlow2's UDP queue.
 * Either way each dropped record is counted.
 */
export type OverflowPolicy = 'drop_oldest' | 'drop_newest';

export class BoundedQueue<T> {
  private readonly buf: (T | undefined)[];
  private head = 0;
  private len = 0;
  readonly capacity: number;
  readonly policy: OverflowPolicy;
  dropped = 0;
  highWater = 0;

  private readonly onDrop: ((item: T) => void) | undefined;

  constructor(capacity: number, policy: OverflowPolicy, onDrop?: (item: T) => void) {
    this.capacity = Math.max(1, capacity);
    this.policy = policy;
    this.onDrop = onDrop;
    this.buf = new Array<T | undefined>(this.capacity);
  }

  get length(): number {
    return this.len;
  }

  /** Returns false when the item (or an older one) was dropped. */
  push(item: T): boolean {
    if (this.len === this.capacity) {
      this.dropped++;
      if (this.policy === 'drop_newest') {
        this.onDrop?.(item);
        return false;
      }
      this.onDrop?.(this.buf[this.head] as T);
      this.buf[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
      this.len--;
    }
    this.buf[(this.head + this.len) % this.capacity] = item;
    this.len++;
    if (this.len > this.highWater) this.highWater = this.len;
    return true;
  }

  /** Removes and returns up to n items in FIFO order. */
  take(n: number): T[] {
    const k = Math.min(n, this.len);
    const out = new Array<T>(k);
    for (let i = 0; i < k; i++) {
      out[i] = this.buf[this.head] as T;
      this.buf[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
    }
    this.len -= k;
    return out;
  }
}
