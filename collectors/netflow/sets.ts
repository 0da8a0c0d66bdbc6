/**
 * What NetFlow v9 and IPFIX do alike with a decoded template and a data set: store the template and
 * decode the data sets parked while it was unknown (RFC 3954 §9 and RFC 7011 §8 allow data to arrive
 * before its template, e.g. after a collector restart or over UDP reordering), or park a data set
 * whose template has not arrived yet.
 */
import { DecodeError } from '../../src/errors.js';
import { Reader } from '../../src/wire/reader.js';
import { decodeDataSet, type FlowMessage, type MessageHeader, type TemplateDef } from './compile.js';
import type { TemplateStore } from './templates.js';

/**
 * Reads one set header (RFC 3954 §5.2 flowset, RFC 7011 §3.3.2 set: id, then a length that counts
 * the 4-byte header) and returns a reader confined to the set's body. A length below 4 is refused,
 * naming the length field: it is what makes naive decoders loop forever.
 */
export function nextSet(r: Reader, names: SetNames): { id: number; set: Reader } {
  const setStart = r.pos;
  const id = r.u16(names.id);
  const len = r.u16(names.length);
  if (len < 4) {
    r.pos = setStart + 2; // report the length field itself
    r.fail(names.length, 'bad_set_length', `length ${len} at ${names.set} ${id}`);
  }
  r.pos = setStart;
  const set = r.sub(len, names.set);
  set.pos += 4;
  return { id, set };
}

type SetNames = { id: string; length: string; set: string };

function isZeroFill(r: Reader): boolean {
  for (let i = r.pos; i < r.end; i++) if (r.bytes[i] !== 0) return false;
  return true;
}

/**
 * Walks the sets of one message body. A bad set costs only itself: its error goes to `msg.errors`
 * (counted by exporter and reason) and the walk goes on with the next set when the bad set's
 * length could be trusted, so records already decoded from the same datagram are kept. A header
 * that cannot be read, a length below 4 or one running past the message ends the walk. Trailing
 * bytes too short for a set header, or all zero, are padding (exporters pad the datagram itself;
 * RFC 3954 §5.3 and RFC 7011 §3.3.1 allow padding), not an error.
 */
export function forEachSet(r: Reader, names: SetNames, msg: FlowMessage, onSet: (id: number, set: Reader) => void): void {
  while (r.remaining > 0) {
    if (r.remaining < 4 || isZeroFill(r)) return;
    let s: { id: number; set: Reader };
    try {
      s = nextSet(r, names);
    } catch (e) {
      keepError(e, msg);
      return;
    }
    try {
      onSet(s.id, s.set);
    } catch (e) {
      keepError(e, msg);
    }
  }
}

function keepError(e: unknown, msg: FlowMessage): void {
  if (!(e instanceof DecodeError)) throw e;
  msg.errors.push(e);
  // a bad set hid how many records it held: this message cannot advance the sequence expectation
  msg.dataRecords = -1;
}

export function installTemplate(def: TemplateDef, exporter: string, hdr: MessageHeader, store: TemplateStore, now: number, msg: FlowMessage, protocol: string): void {
  store.set(exporter, hdr.domain, def, now);
  msg.templates++;
  const tpl = store.get(def.version, exporter, hdr.domain, def.id);
  if (!tpl) return;
  for (const p of store.takePending(def.version, exporter, hdr.domain, def.id)) {
    const pr = new Reader(p.bytes, protocol);
    msg.fromPending += decodeDataSet(tpl, pr.view, p.bytes, 0, p.bytes.byteLength, p.hdr, msg.records, protocol, msg.spare);
  }
}

/** Decodes one data set into msg.records; returns the records decoded, or -1 when the set was parked. */
export function readDataSet(set: Reader, id: number, exporter: string, hdr: MessageHeader, store: TemplateStore, now: number, msg: FlowMessage, protocol: string): number {
  const tpl = store.get(hdr.version, exporter, hdr.domain, id);
  if (!tpl) {
    if (store.park(exporter, hdr, id, set.bytes.subarray(set.pos, set.end), now)) msg.parked++;
    else msg.parkDropped++;
    return -1;
  }
  const n = decodeDataSet(tpl, set.view, set.bytes, set.pos, set.end, hdr, msg.records, protocol, msg.spare);
  if (tpl.def.options) msg.optionRecords += n;
  return n;
}

/** One data set of a message: decoded, or parked (then the message's record count is unknown). */
export function readData(set: Reader, id: number, exporter: string, hdr: MessageHeader, store: TemplateStore, now: number, msg: FlowMessage, protocol: string): void {
  const n = readDataSet(set, id, exporter, hdr, store, now, msg, protocol);
  if (n < 0) msg.dataRecords = -1;
  else if (msg.dataRecords >= 0) msg.dataRecords += n;
}
