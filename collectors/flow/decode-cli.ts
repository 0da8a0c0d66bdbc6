/**
 * `netvigil decode [--format jsonl|lp] FILE...`: offline decoding of pcap/pcapng captures (UDP
 * payloads; the exporter is the packet's source address and port) and raw payload files (one UDP
 * datagram each, decoded in the given order as one exporter session; they carry no address, so their
 * records have no `exporter`).
 * Malformed input: a message on stderr naming file, packet, offset and field; exit 0 when some
 * records decoded, 1 when an input could not be read or nothing decoded, 2 on a usage error.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';
import { DecodeError } from '../../src/errors.js';
import { toLine } from '../../src/record/lineprotocol.js';
import { perFlow, RawSeq } from './rawseq.js';
import type { Fields, FlowRecord, NetRecord } from '../../src/record/record.js';
import type { DataRecord, FlowMessage } from '../netflow/compile.js';
import { decodeIpfix } from '../netflow/ipfix.js';
import { OptionsState, optionsFields, recordOfData, recordOfV5 } from '../netflow/normalize.js';
import { commonFields, fieldEntrySchema, fieldMap, type FieldEntry } from '../netflow/fields.js';
import { TemplateStore } from '../netflow/templates.js';
import { decodeV5 } from '../netflow/v5.js';
import { decodeV9 } from '../netflow/v9.js';
import { decodeSflow, recordOfSflow, sampleRecords, toJsonl, type FlowSample } from '../sflow/index.js';
import { isPcap, isPcapng, readPcap, readPcapng, type UdpDatagram } from './pcap.js';
import { detect } from './processor.js';
import { Producer } from './producer.js';

type Json = { [k: string]: number | string | boolean };
type Format = 'jsonl' | 'lp';

const USAGE = 'usage: netvigil decode [--format jsonl|lp] [--fields common|MAPPING.yaml]... FILE...\n';

function jsonValue(v: Fields[string]): number | string | boolean | undefined {
  if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  return v;
}

function toJson(head: Json, fields: Fields): Json {
  const o: Json = { ...head };
  if (o['exporter'] === '') delete o['exporter'];
  for (const k in fields) {
    const v = jsonValue(fields[k]);
    if (v !== undefined) o[k] = v;
  }
  return o;
}

/** A raw sFlow flow Record's fields as a jsonl line holds them: agent, uptime and source are its header; a sample has no flow times. */
function sflowJson(f: Fields): Fields {
  const { agent_addr: _a, uptime_ms: _u, source_id_type: _t, source_id_index: _i, start_ms: _s, end_ms: _e, ...rest } = f;
  return rest;
}

/** Decoding state of one run: templates and options learned carry across packets and files. */
class Session {
  readonly store: TemplateStore;

  constructor(fields: FieldEntry[]) {
    this.store = new TemplateStore({ ttlMs: Number.MAX_SAFE_INTEGER, pendingTtlMs: Number.MAX_SAFE_INTEGER, fields: fieldMap(fields) });
  }

  readonly options = new OptionsState();
  /** Flows are read through the collector's producer view, so decode prints what it aggregates. */
  private readonly producer = new Producer(this.options);
  records = 0;
  /** Record objects reused from datagram to datagram (each datagram's lines are made before the next). */
  private readonly spare: DataRecord[] = [];
  /** Line protocol is meant for InfluxDB: flows ending in the same ms stay distinct points (rawseq.ts). */
  private readonly seq = new RawSeq(0);

  /** Sets of the last datagram that could not be decoded (its other records were kept). */
  setErrors: DecodeError[] = [];

  /** Lines (jsonl objects or line protocol) for one datagram; throws DecodeError. */
  decode(buf: Uint8Array, exporter: string, session: string, timeMs: number, format: Format): string[] {
    this.setErrors = [];
    const version = detect(buf);
    const out: string[] = [];
    const emit = (r: NetRecord, json: Json): void => {
      this.records++;
      if (format === 'jsonl') out.push(JSON.stringify(json));
      else {
        if (perFlow(r)) this.seq.stamp(r);
        const l = toLine(r);
        if (l !== undefined) out.push(l);
      }
    };
    if (version === '5') {
      const p = decodeV5(buf);
      for (const f of p.flows) {
        const r = recordOfV5(this.producer.v5(p.header, f, exporter), f);
        emit(r, toJson({ version: 5, type: 'flow', exporter, domain: r.tags['domain'] ?? '' }, r.fields));
      }
    } else if (version === '9' || version === '10') {
      const m: FlowMessage = version === '9' ? decodeV9(buf, session, this.store, 0, this.spare) : decodeIpfix(buf, session, this.store, 0, this.spare);
      this.setErrors = m.errors;
      for (const r of m.records) if (r.tpl.def.options) this.options.apply(r, exporter);
      this.producer.message(m.hdr, exporter);
      for (const r of m.records) {
        const head: Json = { version: Number(version), type: r.tpl.def.options ? 'options' : 'flow', exporter, domain: String(r.hdr.domain) };
        if (r.tpl.def.options) {
          this.records++;
          if (format === 'jsonl') out.push(JSON.stringify(toJson(head, optionsFields(r))));
        } else {
          const rec = recordOfData(this.producer.data(r), r, timeMs);
          // tags a field mapping added (`as: tag`) print beside the record's own keys
          for (const k in rec.tags) if (k !== 'exporter' && k !== 'version' && k !== 'domain') head[k] = rec.tags[k] as string;
          emit(rec, toJson(head, rec.fields));
        }
      }
    } else if (version === 'sflow5') {
      const d = decodeSflow(buf);
      const flow = (s: FlowSample): FlowRecord => recordOfSflow(this.producer.sflow(s, exporter, d.subAgentId, timeMs), s, d);
      if (format === 'jsonl') {
        for (const o of toJsonl(d, (s) => sflowJson(flow(s).fields))) {
          this.records++;
          out.push(JSON.stringify(exporter ? { ...o, exporter } : o));
        }
      } else {
        const others = { push: (r: NetRecord) => emit(r, {}) };
        for (const s of d.samples) {
          if (s.kind === 'flow') emit(flow(s), {});
          else sampleRecords(d, s, exporter, timeMs, others);
        }
      }
    } else {
      throw new DecodeError('flow', 0, 'version', 'unsupported', 'not NetFlow v5/v9, IPFIX or sFlow v5');
    }
    return out;
  }
}

/** Mapping entries from `common` (the shipped fields.yaml) or a YAML list in fields.yaml's format; else the problems. */
function readFields(v: string): FieldEntry[] | string {
  if (v === 'common') return commonFields();
  let doc: unknown;
  try {
    doc = parse(readFileSync(v, 'utf8'));
  } catch (e) {
    return (e as Error).message;
  }
  const r = z.array(fieldEntrySchema).safeParse(doc);
  if (r.success) return r.data;
  return r.error.issues.map((x) => `${x.path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('')}: ${x.message}`).join('; ');
}

export async function runDecode(args: string[], io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): Promise<number> {
  let format: Format = 'jsonl';
  const files: string[] = [];
  const fields: FieldEntry[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--format' || a.startsWith('--format=')) {
      const v = a.includes('=') ? a.slice(9) : args[++i];
      if (v !== 'jsonl' && v !== 'lp') {
        io.stderr.write(`decode: unknown format ${JSON.stringify(v)}\n${USAGE}`);
        return 2;
      }
      format = v;
    } else if (a === '--fields' || a.startsWith('--fields=')) {
      const v = a.includes('=') ? a.slice(9) : args[++i];
      const entries = v === undefined ? 'expected "common" or a mapping file' : readFields(v);
      if (typeof entries === 'string') {
        io.stderr.write(`decode: --fields ${v ?? ''}: ${entries}\n`);
        return 2;
      }
      fields.push(...entries);
    } else if (a === '-h' || a === '--help') {
      io.stdout.write(USAGE);
      return 0;
    } else if (a.startsWith('-') && a !== '-') {
      io.stderr.write(`decode: unknown option ${a}\n${USAGE}`);
      return 2;
    } else files.push(a);
  }
  if (!files.length) {
    io.stderr.write(USAGE);
    return 2;
  }
  const s = new Session(fields);
  let unreadable = false;
  // `netvigil decode ... | head`: a reader that closes the pipe early is a normal end, not a crash
  // (Node ignores SIGPIPE, so the write fails with EPIPE, reported on a later tick)
  let closed = false;
  io.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') closed = true;
    else io.stderr.write(`decode: cannot write output: ${e.message}\n`);
  });
  const gone = (): boolean => closed || (io.stdout as { destroyed?: boolean }).destroyed === true;
  for (const file of files) {
    if (gone()) break;
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(file));
    } catch (e) {
      io.stderr.write(`${file}: cannot read: ${(e as Error).message}\n`);
      unreadable = true;
      continue;
    }
    let datagrams: UdpDatagram[];
    if (isPcap(bytes) || isPcapng(bytes)) {
      let cap: ReturnType<typeof readPcap>;
      try {
        cap = isPcapng(bytes) ? readPcapng(bytes) : readPcap(bytes);
      } catch (e) {
        io.stderr.write(`${file}: cannot parse capture: ${(e as Error).message}\n`);
        unreadable = true;
        continue;
      }
      for (const k of cap.skipped) io.stderr.write(`${file}: packet ${k.packet}: skipped: ${k.reason}\n`);
      datagrams = cap.datagrams;
    } else {
      datagrams = [{ packet: 1, timeMs: 0, src: '', srcPort: 0, dst: '', dstPort: 0, payload: bytes }];
    }
    for (const d of datagrams) {
      if (gone()) break;
      try {
        const lines = s.decode(d.payload, d.src, `${d.src}:${d.srcPort}`, d.timeMs, format);
        if (lines.length) io.stdout.write(lines.join('\n') + '\n');
        for (const e of s.setErrors) io.stderr.write(`${file}: packet ${d.packet}: ${e.message}\n`);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        io.stderr.write(`${file}: packet ${d.packet}: ${e.message}\n`);
      }
    }
  }
  if (gone()) return 0;
  return !unreadable && s.records > 0 ? 0 : 1;
}
