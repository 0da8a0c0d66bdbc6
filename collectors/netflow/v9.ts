/**
 * NetFlow v9 (RFC 3954) message decoder: pure, over a bounds-checked Reader, with the template store
 * injected. Structure errors throw a DecodeError naming offset and field; the caller counts and drops.
 */
import { Reader } from '../../src/wire/reader.js';
import type { DataRecord, FieldSpec, FlowMessage, MessageHeader, TemplateDef } from './compile.js';
import { forEachSet, installTemplate, readData } from './sets.js';
import type { TemplateStore } from './templates.js';

const P = 'netflow9';
const FLOWSET = { id: 'flowset_id', length: 'flowset_length', set: 'flowset' };
/** More fields than this in one template is not a real exporter (and bounds compile cost). */
export const MAX_TEMPLATE_FIELDS = 1024;

/**
 * `spare`: record objects the previous message's records may be reused as (compile.ts
 * decodeDataSet); only for a caller done with that message's records.
 */
export function decodeV9(buf: Uint8Array, exporter: string, store: TemplateStore, now: number, spare?: DataRecord[]): FlowMessage {
  const r = new Reader(buf, P);
  const version = r.u16('version');
  if (version !== 9) r.fail('version', 'bad_version', `got ${version}`);
  r.u16('count'); // RFC 3954 §5.1: includes template records; not trusted for anything
  const hdr: MessageHeader = {
    version: 9,
    sysUptimeMs: r.u32('sys_uptime'),
    exportTimeSec: r.u32('unix_secs'),
    sequence: r.u32('sequence'),
    domain: r.u32('source_id'),
  };
  const msg: FlowMessage = { hdr, records: [], dataRecords: 0, optionRecords: 0, templates: 0, withdrawn: 0, parked: 0, parkDropped: 0, fromPending: 0, errors: [] };
  if (spare) msg.spare = spare;
  forEachSet(r, FLOWSET, msg, (id, set) => {
    if (id === 0) readTemplates(set, exporter, hdr, store, now, msg, false);
    else if (id === 1) readTemplates(set, exporter, hdr, store, now, msg, true);
    else if (id >= 256) readData(set, id, exporter, hdr, store, now, msg, P);
    // 2..255 are reserved (RFC 3954 §5.2): skipped by length
  });
  return msg;
}

function readFields(set: Reader, count: number, field: string): FieldSpec[] {
  if (count > MAX_TEMPLATE_FIELDS) set.fail(field, 'too_many_fields', `${count} fields`);
  set.need(count * 4, field);
  const fields: FieldSpec[] = new Array<FieldSpec>(count);
  for (let i = 0; i < count; i++) fields[i] = { id: set.u16('field_type'), pen: 0, length: set.u16('field_length') };
  return fields;
}

function readTemplates(set: Reader, exporter: string, hdr: MessageHeader, store: TemplateStore, now: number, msg: FlowMessage, options: boolean): void {
  // RFC 3954 §5.2/§6.1: records until the set ends; trailing bytes too short for a header are padding
  while (set.remaining >= (options ? 6 : 4)) {
    const id = set.u16('template_id');
    let def: TemplateDef;
    if (options) {
      // §6.1: scope and option lengths are in bytes, four per field specifier
      const scopeLen = set.u16('option_scope_length');
      const optLen = set.u16('option_length');
      if (id === 0 && scopeLen === 0 && optLen === 0) break;
      if (scopeLen % 4 !== 0 || optLen % 4 !== 0) set.fail('option_scope_length', 'bad_template', `scope ${scopeLen} option ${optLen}`);
      const scope = readFields(set, scopeLen / 4, 'scope_fields');
      const opts = readFields(set, optLen / 4, 'option_fields');
      def = { version: 9, id, scopeCount: scope.length, options: true, fields: scope.concat(opts) };
    } else {
      const count = set.u16('field_count');
      if (id === 0 && count === 0) break;
      def = { version: 9, id, scopeCount: 0, options: false, fields: readFields(set, count, 'template_fields') };
    }
    if (id < 256) set.fail('template_id', 'bad_template', `template id ${id} < 256`);
    if (def.fields.length === 0) set.fail('field_count', 'bad_template', 'template without fields');
    if (def.fields.every((f) => f.length === 0)) set.fail('field_length', 'bad_template', 'every field has length 0');
    installTemplate(def, exporter, hdr, store, now, msg, P);
  }
}
