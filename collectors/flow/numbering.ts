/**
 * What a NetFlow v9 / IPFIX sequence number counts, learned per stream. RFC 3954 §5.1 numbers v9
 * export packets; RFC 7011 §3.1 numbers the data records sent *before* an IPFIX message. Exporters
 * in the field also number messages in IPFIX, flows without their options records, or records
 * *including* the message's own (softflowd 1.1.0, measured: sequences 20, 46, 60 for messages of
 * 20 flows + 1 options record, 26 and 14 flows). Read by the RFC rule, such a clean stream shows
 * steady loss. So the first WINDOW messages of a stream are held back, each numbering is scored by
 * how many consecutive messages it explains, and the best one (the RFC's on a tie) is used for
 * the stream from then on; the held messages are replayed under it, so nothing is counted twice.
 */

/** The units one message carried: -1 when not known (a set parked for lack of its template, or bad). */
export interface MessageUnits {
  seq: number;
  /** Data records of the message's own sets, options records included. */
  records: number;
  /** Data records without options records. */
  flows: number;
  uptimeMs: number;
}

export enum Numbering {
  /** RFC 7011 §3.1: data records before this message. */
  Records = 0,
  /** RFC 3954 §5.1: export packets. */
  Messages = 1,
  /** Flow records before this message (options records not numbered). */
  Flows = 2,
  /** Data records up to and including this message. */
  RecordsAfter = 3,
  /** Flow records up to and including this message (softflowd 1.1.0 IPFIX). */
  FlowsAfter = 4,
}

export const NUMBERING_NAMES: Readonly<Record<Numbering, string>> = {
  [Numbering.Records]: 'records',
  [Numbering.Messages]: 'messages',
  [Numbering.Flows]: 'flows',
  [Numbering.RecordsAfter]: 'records_after',
  [Numbering.FlowsAfter]: 'flows_after',
};

/** Messages held back to learn from: enough to outvote a loss or a reordering among them. */
export const WINDOW = 8;
/**
 * Tie order after the protocol's own rule: a window without options records cannot tell flows from
 * records; flows first, as the exporters seen leave options records out of their numbering.
 */
const CANDIDATES = [Numbering.Messages, Numbering.FlowsAfter, Numbering.RecordsAfter, Numbering.Flows, Numbering.Records];

/** A message as (sequence of its first unit, units it carries) under numbering `n`; count -1 = unknown. */
export function asUnits(m: MessageUnits, n: Numbering): { seq: number; count: number } {
  switch (n) {
    case Numbering.Messages:
      return { seq: m.seq, count: 1 };
    case Numbering.Records:
      return { seq: m.seq, count: m.records };
    case Numbering.Flows:
      return { seq: m.seq, count: m.flows };
    case Numbering.RecordsAfter:
      return { seq: m.records < 0 ? m.seq : (m.seq - m.records) >>> 0, count: m.records };
    case Numbering.FlowsAfter:
      return { seq: m.flows < 0 ? m.seq : (m.seq - m.flows) >>> 0, count: m.flows };
  }
}

/**
 * The numbering that explains the most consecutive pairs of `held` (arrival order); `preferred`
 * (the protocol's own rule) wins ties, so an exporter that follows the RFC is read by the RFC.
 */
export function bestNumbering(held: readonly MessageUnits[], preferred: Numbering): Numbering {
  let best = preferred;
  let bestScore = -1;
  for (const n of [preferred, ...CANDIDATES.filter((c) => c !== preferred)]) {
    let score = 0;
    for (let i = 1; i < held.length; i++) {
      const a = asUnits(held[i - 1] as MessageUnits, n);
      const b = asUnits(held[i] as MessageUnits, n);
      if (a.count >= 0 && b.count >= 0 && ((a.seq + a.count) >>> 0) === b.seq) score++;
    }
    if (score > bestScore) {
      best = n;
      bestScore = score;
    }
  }
  return best;
}
