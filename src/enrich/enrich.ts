/**
 * The enrichment stage, run on every record between the emitter and the queue:
 * - every record gets `vm_verdict`, the VM monitor's verdict for the time it was collected, as a
 *   string field (a tag would multiply series cardinality by up to three for every measurement);
 * - flow records get interface names and speeds for in_if/out_if, and the inventory's device name.
 * Both are Map lookups; nothing here allocates per record beyond the added properties.
 */
import type { InterfaceDirectory } from '../collector.js';
import type { NetRecord, Verdict } from '../record/record.js';

export interface VerdictSource {
  verdictFor(fromMs: number, toMs: number): { verdict: Verdict };
}

/** Records whose own timestamp is older than this were not "collected" at that time (exporter clocks). */
const MAX_WINDOW_MS = 10 * 60_000;

export function createEnricher(interfaces: InterfaceDirectory, verdicts: VerdictSource | undefined, now: () => number = Date.now) {
  function names(r: NetRecord, exporter: string, key: 'in_if' | 'out_if'): void {
    const tagVal = r.tags[key];
    const raw = tagVal ?? r.fields[key];
    if (raw === undefined) return;
    const info = interfaces.lookup(exporter, Number(raw));
    if (!info) return;
    if (info.name !== undefined) {
      if (tagVal !== undefined) r.tags[`${key}_name`] = info.name;
      else r.fields[`${key}_name`] = info.name;
    }
    if (info.speed !== undefined) r.fields[`${key}_speed`] = BigInt(Math.trunc(info.speed));
  }

  return function enrich(r: NetRecord): void {
    if (verdicts) {
      const t = now();
      const from = r.timeSource === 'collector' && r.time <= t && t - r.time < MAX_WINDOW_MS ? r.time : t;
      r.fields.vm_verdict = verdicts.verdictFor(from, t).verdict;
    }
    if (r.kind === 'flow' || r.kind === 'interface') {
      const exporter = r.tags.exporter ?? r.tags.agent;
      if (exporter === undefined) return;
      if (r.kind === 'flow') {
        names(r, exporter, 'in_if');
        names(r, exporter, 'out_if');
      } else if (r.tags.if_name === undefined && r.tags.if_index !== undefined) {
        const info = interfaces.lookup(exporter, Number(r.tags.if_index));
        if (info?.name) r.tags.if_name = info.name;
      }
      const device = interfaces.deviceName(exporter);
      if (device !== undefined && (r.kind === 'flow' || r.tags.source !== 'snmp')) r.tags.device = device;
    }
  };
}
