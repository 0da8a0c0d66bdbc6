/**
 * NetFlow v5 decoder (Cisco's fixed format: 24-byte header, 48-byte records, at most 30 per
 * datagram). Pure; a length that does not match the header's count is a DecodeError.
 */
import { Reader } from '../../src/wire/reader.js';

const P = 'netflow5';
export const V5_HEADER = 24;
export const V5_RECORD = 48;

export interface V5Header {
  count: number;
  sysUptimeMs: number;
  unixSecs: number;
  unixNsecs: number;
  /** Sequence number of the first flow in this datagram: v5 counts flows, not datagrams. */
  flowSequence: number;
  engineType: number;
  engineId: number;
  /** Top 2 bits of the sampling word: 0 none, 1 deterministic, 2 random. */
  samplingMode: number;
  /** Low 14 bits: "1 of N" packets. */
  samplingInterval: number;
}

/** IPv4 addresses stay 32-bit numbers here; normalization makes their text. */
export interface V5Flow {
  srcAddr: number;
  dstAddr: number;
  nextHop: number;
  input: number;
  output: number;
  packets: number;
  bytes: number;
  /** sysUptime (ms) at the first and last packet of the flow. */
  first: number;
  last: number;
  srcPort: number;
  dstPort: number;
  tcpFlags: number;
  proto: number;
  tos: number;
  srcAs: number;
  dstAs: number;
  srcMask: number;
  dstMask: number;
}

export interface V5Packet {
  header: V5Header;
  flows: V5Flow[];
}

export function decodeV5(buf: Uint8Array): V5Packet {
  const r = new Reader(buf, P);
  const version = r.u16('version');
  if (version !== 5) r.fail('version', 'bad_version', `got ${version}`);
  const count = r.u16('count');
  const sysUptimeMs = r.u32('sys_uptime');
  const unixSecs = r.u32('unix_secs');
  const unixNsecs = r.u32('unix_nsecs');
  const flowSequence = r.u32('flow_sequence');
  const engineType = r.u8('engine_type');
  const engineId = r.u8('engine_id');
  const sampling = r.u16('sampling_interval');
  if (count === 0) r.fail('count', 'bad_count', 'zero flows');
  // the count decides how much we read; a datagram shorter than it claims is truncated
  r.need(count * V5_RECORD, 'records');
  const header: V5Header = {
    count,
    sysUptimeMs,
    unixSecs,
    unixNsecs,
    flowSequence,
    engineType,
    engineId,
    samplingMode: sampling >>> 14,
    samplingInterval: sampling & 0x3fff,
  };
  const flows = new Array<V5Flow>(count);
  const v = r.view;
  let p = r.pos;
  for (let i = 0; i < count; i++, p += V5_RECORD) {
    flows[i] = {
      srcAddr: v.getUint32(p),
      dstAddr: v.getUint32(p + 4),
      nextHop: v.getUint32(p + 8),
      input: v.getUint16(p + 12),
      output: v.getUint16(p + 14),
      packets: v.getUint32(p + 16),
      bytes: v.getUint32(p + 20),
      first: v.getUint32(p + 24),
      last: v.getUint32(p + 28),
      srcPort: v.getUint16(p + 32),
      dstPort: v.getUint16(p + 34),
      // p + 36 is pad1
      tcpFlags: v.getUint8(p + 37),
      proto: v.getUint8(p + 38),
      tos: v.getUint8(p + 39),
      srcAs: v.getUint16(p + 40),
      dstAs: v.getUint16(p + 42),
      srcMask: v.getUint8(p + 44),
      dstMask: v.getUint8(p + 45),
    };
  }
  return { header, flows };
}
