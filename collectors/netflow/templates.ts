/**
 * Template store for NetFlow v9 and IPFIX, injected into the pure decoders (GoFlow2's shape).
 *
 * Keyed by protocol version + exporter (address and source port) + source id / observation domain +
 * template id: RFC 7011 §8 scopes templates to the Transport Session and Observation Domain, and
 * RFC 3954 §5.1 to the exporter and Source ID. Capped (oldest evicted), expiring (RFC 7011 §8.4: over
 * UDP templates are resent periodically, a silent one is stale) and serializable, so the collector can
 * persist it in its data directory and decode data sets after a restart without waiting for a resend.
 *
 * Data sets that arrive before their template are parked in a small pending buffer per exporter
 * session, bounded in sets and bytes and time-limited; they are decoded when the template arrives and
 * counted when they expire or do not fit.
 */
import { CompiledTemplate, type FieldSpec, type MessageHeader, type TemplateDef } from './compile.js';
import type { FieldMap } from './fields.js';

export interface TemplateStoreOptions {
  maxTemplates: number;
  /**
   * Templates one exporter session (address, port) may hold: without it one noisy or spoofed source
   * could evict every other exporter's templates from the shared cap.
   */
  maxPerSession: number;
  /** A template not refreshed for this long is dropped. */
  ttlMs: number;
  /** Pending data sets per exporter session (exporter + domain). */
  pendingMaxSets: number;
  pendingMaxBytes: number;
  pendingTtlMs: number;
  /** Across all sessions: spoofed or noisy sources can open any number of sessions. */
  pendingMaxTotalSets: number;
  pendingMaxTotalBytes: number;
  /** User field mapping applied when a template is compiled (fields.ts). */
  fields?: FieldMap;
}

export const DEFAULT_STORE_OPTIONS: TemplateStoreOptions = {
  maxTemplates: 4096,
  maxPerSession: 1024,
  ttlMs: 3_600_000,
  pendingMaxSets: 32,
  pendingMaxBytes: 256 * 1024,
  pendingTtlMs: 30_000,
  pendingMaxTotalSets: 1024,
  pendingMaxTotalBytes: 8 * 1024 * 1024,
};

interface Entry {
  tpl: CompiledTemplate;
  exporter: string;
  domain: number;
  updatedAt: number;
}

export interface PendingSet {
  templateId: number;
  /** A copy: the datagram's buffer is not ours to keep. */
  bytes: Uint8Array;
  hdr: MessageHeader;
  receivedAt: number;
}

interface PendingQueue {
  sets: PendingSet[];
  bytes: number;
}

/** On-disk form (JSON) of the store; only definitions are kept, compiled forms are rebuilt. */
export interface TemplateFile {
  format: 'netvigil-templates-1';
  templates: { exporter: string; domain: number; updatedAt: number; def: TemplateDef }[];
}

export interface StoreStats {
  templates: number;
  pendingSets: number;
  /** Pending sets that expired before their template came (their records are lost to us). */
  pendingExpired: number;
  /** Pending sets refused because the per-session buffer was full. */
  pendingDropped: number;
  evicted: number;
  expired: number;
  /** New templates refused because their session already held `maxPerSession`. */
  refused: number;
}

export type SetResult = 'added' | 'updated' | 'unchanged' | 'refused';

export class TemplateStore {
  private readonly opts: TemplateStoreOptions;
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, PendingQueue>();
  private readonly counters = { pendingExpired: 0, pendingDropped: 0, evicted: 0, expired: 0, refused: 0 };
  private pendingSets = 0;
  private pendingBytes = 0;
  /** Set when the definitions changed since the last `serialize()`. */
  dirty = false;

  constructor(opts: Partial<TemplateStoreOptions> = {}) {
    this.opts = { ...DEFAULT_STORE_OPTIONS, ...opts };
  }

  private static key(version: number, exporter: string, domain: number, id: number): string {
    return `${version}|${exporter}|${domain}|${id}`;
  }

  /**
   * The last template found, by its lookup values: a session's data sets name a few templates, and
   * comparing four values is cheaper than building and hashing the string key per set. Any change
   * to `entries` forgets it.
   */
  private memo: { version: number; exporter: string; domain: number; id: number; tpl: CompiledTemplate } | undefined;

  get(version: 9 | 10, exporter: string, domain: number, id: number): CompiledTemplate | undefined {
    const m = this.memo;
    if (m !== undefined && m.id === id && m.domain === domain && m.version === version && m.exporter === exporter) return m.tpl;
    const tpl = this.entries.get(TemplateStore.key(version, exporter, domain, id))?.tpl;
    if (tpl) this.memo = { version, exporter, domain, id, tpl };
    return tpl;
  }

  set(exporter: string, domain: number, def: TemplateDef, now: number): SetResult {
    const key = TemplateStore.key(def.version, exporter, domain, def.id);
    const old = this.entries.get(key);
    if (old && sameDef(old.tpl.def, def)) {
      old.updatedAt = now;
      return 'unchanged';
    }
    if (!old) {
      let held = 0;
      for (const e of this.entries.values()) if (e.exporter === exporter) held++;
      if (held >= this.opts.maxPerSession) {
        this.counters.refused++;
        return 'refused';
      }
    }
    // delete first so Map order stays "least recently defined first" for eviction
    this.entries.delete(key);
    this.entries.set(key, { tpl: new CompiledTemplate(def, this.opts.fields), exporter, domain, updatedAt: now });
    this.memo = undefined;
    this.dirty = true;
    while (this.entries.size > this.opts.maxTemplates) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
      this.memo = undefined;
      this.counters.evicted++;
    }
    return old ? 'updated' : 'added';
  }

  /** IPFIX withdrawal (RFC 7011 §8.1). Returns how many templates went away. */
  withdraw(version: 9 | 10, exporter: string, domain: number, id: number): number {
    const ok = this.entries.delete(TemplateStore.key(version, exporter, domain, id));
    this.memo = undefined;
    if (ok) this.dirty = true;
    return ok ? 1 : 0;
  }

  /** "All Template Withdrawal" (RFC 7011 §8.1): every template (or options template) of a domain. */
  withdrawAll(version: 9 | 10, exporter: string, domain: number, options: boolean): number {
    let n = 0;
    for (const [k, e] of this.entries) {
      if (e.exporter === exporter && e.domain === domain && e.tpl.def.version === version && e.tpl.def.options === options) {
        this.entries.delete(k);
        this.memo = undefined;
        n++;
      }
    }
    if (n) this.dirty = true;
    return n;
  }

  /** Parks a data set whose template is unknown; false when the session's buffer is full (counted). */
  park(exporter: string, hdr: MessageHeader, templateId: number, set: Uint8Array, now: number): boolean {
    const key = `${hdr.version}|${exporter}|${hdr.domain}`;
    const q = this.pending.get(key) ?? { sets: [], bytes: 0 };
    if (
      q.sets.length >= this.opts.pendingMaxSets ||
      q.bytes + set.byteLength > this.opts.pendingMaxBytes ||
      this.pendingSets >= this.opts.pendingMaxTotalSets ||
      this.pendingBytes + set.byteLength > this.opts.pendingMaxTotalBytes
    ) {
      this.counters.pendingDropped++;
      return false;
    }
    if (!q.sets.length) this.pending.set(key, q);
    q.sets.push({ templateId, bytes: set.slice(), hdr, receivedAt: now });
    q.bytes += set.byteLength;
    this.pendingSets++;
    this.pendingBytes += set.byteLength;
    return true;
  }

  /** Removes and returns the parked sets a newly learned template can decode, oldest first. */
  takePending(version: 9 | 10, exporter: string, domain: number, templateId: number): PendingSet[] {
    // every template refresh asks: with nothing parked, no key is built
    if (this.pending.size === 0) return [];
    const key = `${version}|${exporter}|${domain}`;
    const q = this.pending.get(key);
    if (!q) return [];
    const out: PendingSet[] = [];
    const keep: PendingSet[] = [];
    for (const s of q.sets) (s.templateId === templateId ? out : keep).push(s);
    if (!out.length) return out;
    this.setQueue(key, q, keep);
    return out;
  }

  /** Drops stale templates and pending sets; call periodically (not per datagram). */
  expire(now: number): { templates: number; pendingSets: number } {
    let t = 0;
    for (const [k, e] of this.entries) {
      if (now - e.updatedAt > this.opts.ttlMs) {
        this.entries.delete(k);
        this.memo = undefined;
        t++;
      }
    }
    if (t) this.dirty = true;
    let p = 0;
    for (const [k, q] of this.pending) {
      const keep = q.sets.filter((s) => now - s.receivedAt <= this.opts.pendingTtlMs);
      p += q.sets.length - keep.length;
      if (keep.length !== q.sets.length) this.setQueue(k, q, keep);
    }
    this.counters.expired += t;
    this.counters.pendingExpired += p;
    return { templates: t, pendingSets: p };
  }

  private setQueue(key: string, q: PendingQueue, keep: PendingSet[]): void {
    const bytes = keep.reduce((a, s) => a + s.bytes.byteLength, 0);
    this.pendingSets -= q.sets.length - keep.length;
    this.pendingBytes -= q.bytes - bytes;
    q.sets = keep;
    q.bytes = bytes;
    if (!keep.length) this.pending.delete(key);
  }

  stats(): StoreStats {
    return { templates: this.entries.size, pendingSets: this.pendingSets, ...this.counters };
  }

  serialize(): TemplateFile {
    this.dirty = false;
    return {
      format: 'netvigil-templates-1',
      templates: [...this.entries.values()].map((e) => ({ exporter: e.exporter, domain: e.domain, updatedAt: e.updatedAt, def: e.tpl.def })),
    };
  }

  /**
   * Loads a file written by `serialize()`. Anything malformed is skipped (a corrupt state file must not
   * stop the collector); returns how many templates were loaded.
   */
  load(file: unknown, now: number): number {
    if (!isObject(file) || file['format'] !== 'netvigil-templates-1' || !Array.isArray(file['templates'])) return 0;
    let n = 0;
    for (const t of file['templates'] as unknown[]) {
      if (!isObject(t) || typeof t['exporter'] !== 'string' || !isUint(t['domain'])) continue;
      const def = parseDef(t['def']);
      if (!def) continue;
      const updatedAt = typeof t['updatedAt'] === 'number' ? t['updatedAt'] : now;
      if (now - updatedAt > this.opts.ttlMs) continue;
      this.set(t['exporter'], t['domain'], def, updatedAt);
      n++;
    }
    this.dirty = false;
    return n;
  }
}

function sameDef(a: TemplateDef, b: TemplateDef): boolean {
  if (a.fields.length !== b.fields.length || a.scopeCount !== b.scopeCount || a.options !== b.options) return false;
  for (let i = 0; i < a.fields.length; i++) {
    const x = a.fields[i] as FieldSpec;
    const y = b.fields[i] as FieldSpec;
    if (x.id !== y.id || x.pen !== y.pen || x.length !== y.length) return false;
  }
  return true;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}
function isUint(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

function parseDef(v: unknown): TemplateDef | undefined {
  if (!isObject(v) || (v['version'] !== 9 && v['version'] !== 10) || !isUint(v['id']) || v['id'] < 256) return undefined;
  if (!isUint(v['scopeCount']) || typeof v['options'] !== 'boolean' || !Array.isArray(v['fields'])) return undefined;
  const fields: FieldSpec[] = [];
  for (const f of v['fields'] as unknown[]) {
    if (!isObject(f) || !isUint(f['id']) || !isUint(f['pen']) || !isUint(f['length']) || f['length'] > 65535) return undefined;
    fields.push({ id: f['id'], pen: f['pen'], length: f['length'] });
  }
  if (!fields.length || fields.length > 1024 || v['scopeCount'] > fields.length || fields.every((f) => f.length === 0)) return undefined;
  return { version: v['version'], id: v['id'], scopeCount: v['scopeCount'], options: v['options'], fields };
}
