/**
 * Per-interval volume by talker (source or destination address) for `flow_top`. Real traffic has
 * tens of thousands of distinct addresses per interval, so this is on the hot path: one Map lookup
 * to a slot number, and volumes in typed arrays that survive from one interval to the next (an
 * object per talker per interval cost an allocation per new address and most of the GC time).
 */
export interface TalkerSum {
  talker: string;
  bytes: number;
  packets: number;
  flows: number;
}

export class TalkerTable {
  private readonly max: number;
  private readonly slots = new Map<string, number>();
  private keys: string[] = [];
  private bytes = new Float64Array(1024);
  private packets = new Float64Array(1024);
  private flows = new Float64Array(1024);
  /** Volume of talkers that arrived after the table was full. */
  readonly rest = { bytes: 0, packets: 0, flows: 0 };

  constructor(maxTalkers: number) {
    this.max = maxTalkers;
  }

  get size(): number {
    return this.keys.length;
  }

  add(talker: string, bytes: number, packets: number): void {
    let i = this.slots.get(talker);
    if (i === undefined) {
      if (this.keys.length >= this.max) {
        this.rest.bytes += bytes;
        this.rest.packets += packets;
        this.rest.flows += 1;
        return;
      }
      i = this.keys.length;
      if (i === this.bytes.length) this.grow();
      this.keys.push(talker);
      this.slots.set(talker, i);
    }
    this.bytes[i] = (this.bytes[i] ?? 0) + bytes;
    this.packets[i] = (this.packets[i] ?? 0) + packets;
    this.flows[i] = (this.flows[i] ?? 0) + 1;
  }

  private grow(): void {
    const n = Math.min(this.bytes.length * 2, Math.max(this.max, 1024));
    const grown = (a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    this.bytes = grown(this.bytes);
    this.packets = grown(this.packets);
    this.flows = grown(this.flows);
  }

  /** The n heaviest talkers by bytes, and everything else (the table's rest included) summed. */
  top(n: number): { top: TalkerSum[]; other: { bytes: number; packets: number; flows: number } } {
    const idx = Array.from({ length: this.keys.length }, (_, i) => i);
    idx.sort((a, b) => (this.bytes[b] ?? 0) - (this.bytes[a] ?? 0));
    const top: TalkerSum[] = [];
    const other = { ...this.rest };
    for (let r = 0; r < idx.length; r++) {
      const i = idx[r] as number;
      const s = { bytes: this.bytes[i] ?? 0, packets: this.packets[i] ?? 0, flows: this.flows[i] ?? 0 };
      if (r < n) top.push({ talker: this.keys[i] as string, ...s });
      else {
        other.bytes += s.bytes;
        other.packets += s.packets;
        other.flows += s.flows;
      }
    }
    return { top, other };
  }

  /** Empties the table for the next interval, keeping the arrays. */
  reset(): void {
    this.bytes.fill(0, 0, this.keys.length);
    this.packets.fill(0, 0, this.keys.length);
    this.flows.fill(0, 0, this.keys.length);
    this.keys = [];
    this.slots.clear();
    this.rest.bytes = this.rest.packets = this.rest.flows = 0;
  }
}
