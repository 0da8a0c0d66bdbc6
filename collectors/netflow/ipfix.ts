/**
 * IPFIX (RFC 7011) message decoder: pure, over a bounds-checked Reader, with the template store
 * injected. Handles templates and options templates, withdrawal (§8.1), enterprise elements (§3.2),
 * variable-length fields (§7), reduced-size encoding (§6.2) and set padding (§3.3.1).
 */
import { DecodeError } from '../../src/errors.js';
import { Reader } from '../../src/wire/reader.js';
import type { DataRecord, FieldSpec, FlowMessage, MessageHeader, TemplateDef } from './compile.js';
import { forEachSet, installTemplate, readData } from './sets.js';
import type { TemplateStore } from './templates.js';
import { MAX_TEMPLATE_FIELDS } from './v9.js';

const P = 'ipfix';
const SET = { id: 'set_id', length: 'set_length', set: 'set' };
const TEMPLATE_SET = 2;
const OPTIONS_TEMPLATE_SET = 3;

/**
 * `spare`: record objects the previous message's records may be reused as (compile.ts
 * decodeDataSet); only for a caller done with that message's records.
 */
export function decodeIpfix(buf: Uint8Array, exporter: string, store: TemplateStore, now: number, spare?: DataRecord[]): FlowMessage {
  const outer = new Reader(buf, P);
  const version = outer.u16('version');
  if (version !== 10) outer.fail('version', 'bad_version', `got ${version}`);
  const length = outer.u16('length');
  // §3.1: the Length field is authoritative; a datagram shorter than it is truncated: the sets it
  // does hold are decoded and the one cut short is reported
  if (length < 16) outer.fail('length', 'bad_length', `message length ${length}`);
  const cut = length > buf.byteLength ? new DecodeError(P, 2, 'length', 'truncated', `message length ${length}, datagram ${buf.byteLength}`) : undefined;
  const r = new Reader(buf, P, 4, length);
  const hdr: MessageHeader = {
    version: 10,
    exportTimeSec: r.u32('export_time'),
    sequence: r.u32('sequence'),
    domain: r.u32('observation_domain_id'),
    sysUptimeMs: 0,
  };
  const msg: FlowMessage = { hdr, records: [], dataRecords: 0, optionRecords: 0, templates: 0, withdrawn: 0, parked: 0, parkDropped: 0, fromPending: 0, errors: [] };
  if (spare) msg.spare = spare;
  forEachSet(r, SET, msg, (id, set) => {
    if (id === TEMPLATE_SET || id === OPTIONS_TEMPLATE_SET) readTemplates(set, exporter, hdr, store, now, msg, id === OPTIONS_TEMPLATE_SET);
    else if (id >= 256) readData(set, id, exporter, hdr, store, now, msg, P);
    else if (id < 2) set.fail('set_id', 'bad_set_id', `set id ${id} is NetFlow v9's, not IPFIX's`);
    // 4..255 are reserved (§3.3.2): skipped by length
  });
  if (cut && !msg.errors.length) {
    msg.errors.push(cut);
    msg.dataRecords = -1;
  }
  return msg;
}

function readFields(set: Reader, count: number): FieldSpec[] {
  if (count > MAX_TEMPLATE_FIELDS) set.fail('field_count', 'too_many_fields', `${count} fields`);
  const fields = new Array<FieldSpec>(count);
  for (let i = 0; i < count; i++) {
    const raw = set.u16('ie_id');
    const length = set.u16('field_length');
    // §3.2: the enterprise bit means a 4-byte Private Enterprise Number follows
    const pen = raw & 0x8000 ? set.u32('enterprise_number') : 0;
    fields[i] = { id: raw & 0x7fff, pen, length };
  }
  return fields;
}

function readTemplates(set: Reader, exporter: string, hdr: MessageHeader, store: TemplateStore, now: number, msg: FlowMessage, options: boolean): void {
  while (set.remaining >= 4) {
    const id = set.u16('template_id');
    const count = set.u16('field_count');
    if (id === 0 && count === 0) break; // padding (§3.3.1)
    if (count === 0) {
      // §8.1: a record with no fields withdraws template `id`; id = set id withdraws them all
      if (id === TEMPLATE_SET || id === OPTIONS_TEMPLATE_SET) msg.withdrawn += store.withdrawAll(10, exporter, hdr.domain, options);
      else if (id >= 256) msg.withdrawn += store.withdraw(10, exporter, hdr.domain, id);
      else set.fail('template_id', 'bad_template', `withdrawal of template id ${id}`);
      continue;
    }
    if (id < 256) set.fail('template_id', 'bad_template', `template id ${id} < 256`);
    let scopeCount = 0;
    if (options) {
      scopeCount = set.u16('scope_field_count');
      // §3.4.2.2: the scope field count must not be zero and cannot exceed the field count
      if (scopeCount === 0 || scopeCount > count) set.fail('scope_field_count', 'bad_template', `scope ${scopeCount} of ${count}`);
    }
    const def: TemplateDef = { version: 10, id, scopeCount, options, fields: readFields(set, count) };
    if (def.fields.every((f) => f.length === 0)) set.fail('field_length', 'bad_template', 'every field has length 0');
    installTemplate(def, exporter, hdr, store, now, msg, P);
  }
}
