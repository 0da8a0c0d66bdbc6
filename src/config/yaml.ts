/**
 * YAML loading with positions: every problem (YAML syntax, missing secret, schema violation, unknown
 * key) is reported at once with file, line, column and key path. Used for the main config and for
 * any file it references (device inventory, profiles).
 */
import { readFileSync } from 'node:fs';
import { isMap, isNode, isPair, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigProblem } from '../errors.js';
import { resolveRefs } from './refs.js';
import { keysAt, nearestKey } from './suggest.js';
import { fromConfigText } from './units.js';

type Path = readonly PropertyKey[];

export function formatPath(path: Path): string {
  let s = '';
  for (const p of path) {
    if (typeof p === 'number') s += `[${p}]`;
    else s += (s ? '.' : '') + String(p);
  }
  return s;
}

/**
 * Source position of the node at `path` (or of the key `key` inside it). With `parent`, a path the
 * file lacks (a required key left out) points at the nearest existing parent; without it, no
 * position (the value came from a flag, the environment or a default).
 */
function locate(doc: Document, lc: LineCounter, path: Path, key?: string, parent = false): { line: number; column: number } | undefined {
  let node: unknown = doc.getIn(path as unknown[], true);
  if (node === undefined && !parent) return undefined;
  let p = path.slice();
  while (node === undefined && p.length > 0) {
    p = p.slice(0, -1);
    node = p.length ? doc.getIn(p as unknown[], true) : doc.contents;
  }
  if (node === undefined || node === null) node = doc.contents;
  if (key !== undefined && isMap(node)) {
    const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === key);
    if (pair && isNode(pair.key)) node = pair.key;
  }
  if (isNode(node) && node.range) {
    const pos = lc.linePos(node.range[0]);
    return { line: pos.line, column: pos.col };
  }
  return undefined;
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Apply overrides (flags, environment) to the plain object before validation. */
  transform?: (raw: Record<string, unknown>) => void;
  /** Key paths whose value `transform` set, and from where ("flag --shard"): their problems are reported there. */
  origins?: ReadonlyMap<string, string>;
}

export function parseYaml<S extends z.ZodType>(text: string, file: string, schema: S, opts: LoadOptions = {}): z.output<S> {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const problems: ConfigProblem[] = [];
  for (const e of doc.errors) {
    const pos = lc.linePos(e.pos[0]);
    problems.push({ file, line: pos.line, column: pos.col, path: '', message: `YAML syntax: ${e.message.split('\n')[0]}` });
  }
  if (problems.length) throw new ConfigError(problems);

  const js: unknown = doc.toJS() ?? {};
  if (typeof js !== 'object' || js === null || Array.isArray(js)) {
    throw new ConfigError([{ file, line: 1, column: 1, path: '', message: 'expected a mapping of keys at the top level' }]);
  }
  const raw = js as Record<string, unknown>;
  for (const r of resolveRefs(raw, opts.env ?? process.env)) {
    problems.push({ file, ...locate(doc, lc, r.path), path: formatPath(r.path), message: r.message });
  }
  opts.transform?.(raw);

  const parsed = fromConfigText(() => schema.safeParse(raw));
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const k of issue.keys) {
          const path = [...issue.path, k];
          problems.push({ file, ...locate(doc, lc, issue.path, k), path: formatPath(path), message: unknownKey(k, keysAt(schema, issue.path)) });
        }
        continue;
      }
      const origin = opts.origins?.get(formatPath(issue.path));
      if (origin !== undefined) {
        problems.push({ file: origin, path: formatPath(issue.path), message: describeIssue(issue) });
        continue;
      }
      const missing = issue.code === 'invalid_type' && issue.input === undefined;
      problems.push({ file, ...locate(doc, lc, issue.path, undefined, missing), path: formatPath(issue.path), message: describeIssue(issue) });
    }
  }
  // In file order, as an editor walks them; flag and environment problems after.
  const at = (p: ConfigProblem) => (p.line === undefined ? Number.MAX_SAFE_INTEGER : p.line * 1e4 + (p.column ?? 0));
  if (problems.length) throw new ConfigError(problems.slice().sort((a, b) => at(a) - at(b)));
  return deepFreeze((parsed as { data: z.output<S> }).data);
}

function unknownKey(key: string, valid: readonly string[]): string {
  const near = nearestKey(key, valid);
  if (near !== undefined) return `unknown key; did you mean "${near}"?`;
  if (valid.length === 0 || valid.length > 16) return 'unknown key (check the spelling; see config/collector.schema.json)';
  return `unknown key; expected one of ${valid.join(', ')}`;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') {
    return `expected ${issue.expected}${issue.message.includes('received') ? `, ${issue.message.slice(issue.message.indexOf('received'))}` : ''}`;
  }
  if (issue.code === 'invalid_value') return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  return issue.message;
}

export function loadYamlFile<S extends z.ZodType>(file: string, schema: S, opts: LoadOptions = {}): z.output<S> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError([{ file, path: '', message: `cannot read file: ${(e as Error).message}` }]);
  }
  return parseYaml(text, file, schema, opts);
}

export function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}
