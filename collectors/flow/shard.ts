/**
 * Which worker thread owns an exporter (workers.ts), and the persisted state split by that owner.
 *
 * Everything the processor keeps per exporter is keyed by the exporter's address: its counters, its
 * options (sampling, interfaces), its loss streams (address + version + domain or sFlow agent) and
 * its templates (address + source port + domain, RFC 7011 §8 / RFC 3954 §5.1). Hashing the address
 * alone therefore puts all of one exporter's state in exactly one worker, whichever port or domain
 * a datagram comes from. The state files stay one file each: split by owner at a worker's start,
 * joined from the workers' parts when written (the parts are disjoint).
 */
import type { LossState } from './losspersist.js';

/** FNV-1a over the address text: stable across runs, so a restarted worker owns the same exporters. */
export function shardOf(exporter: string, n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < exporter.length; i++) h = Math.imul(h ^ exporter.charCodeAt(i), 0x01000193);
  return (h >>> 0) % n;
}

/** The exporter address of a template session `${address}:${port}` (IPv6 text has colons too). */
export function sessionAddress(session: string): string {
  const i = session.lastIndexOf(':');
  return i < 0 ? session : session.slice(0, i);
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Options keys are `${exporter}|${domain}|...`; interface lists are keyed by the exporter itself. */
const optionsOwner = (key: unknown): string => (typeof key === 'string' ? key.split('|')[0] ?? '' : '');

/** The part of a templates file (TemplateStore.serialize) that worker `i` of `n` owns. */
export function ownTemplates(file: unknown, n: number, i: number): unknown {
  if (!isObj(file)) return file;
  return { ...file, templates: list(file['templates']).filter((t) => isObj(t) && typeof t['exporter'] === 'string' && shardOf(sessionAddress(t['exporter']), n) === i) };
}

/** The part of an options file (OptionsState.serialize) that worker `i` of `n` owns. */
export function ownOptions(file: unknown, n: number, i: number): unknown {
  if (!isObj(file)) return file;
  const mine = (e: unknown): boolean => Array.isArray(e) && shardOf(optionsOwner(e[0]), n) === i;
  return { ...file, sampling: list(file['sampling']).filter(mine), sysInit: list(file['sysInit']).filter(mine), interfaces: list(file['interfaces']).filter(mine) };
}

export function ownLoss(st: LossState | undefined, n: number, i: number): LossState | undefined {
  return st && { ...st, streams: st.streams.filter((s) => shardOf(s.exporter, n) === i) };
}

/** The workers' parts of one state file as one file again: list fields concatenated. */
export function joinParts(parts: readonly unknown[], fields: readonly string[]): unknown {
  const objs = parts.filter(isObj);
  const first = objs[0];
  if (!first) return undefined;
  const out: Json = { ...first };
  for (const f of fields) out[f] = objs.flatMap((p) => list(p[f]));
  return out;
}

export const TEMPLATE_LISTS = ['templates'] as const;
export const OPTIONS_LISTS = ['sampling', 'sysInit', 'interfaces'] as const;
