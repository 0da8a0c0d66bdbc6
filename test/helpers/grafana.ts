/**
 * What Grafana does with our provisioned dashboards, minus the browser: reads the dashboard JSON
 * into typed pieces (panels, InfluxQL targets, template variables, annotations) and performs the
 * InfluxDB data source's template substitution, so a test can run every query against a real influxd.
 * There is no Grafana binary on our machines; this mirrors its documented InfluxQL behaviour:
 * `$timeFilter`, `$__interval`, `$__interval_ms`, and `$var` / `${var}` / `[[var]]` where a
 * multi-value or include-all variable is regex-escaped and joined as `(a|b)`.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

export interface DsRef {
  type?: string;
  uid?: string;
}

export interface Target {
  refId?: string;
  datasource?: DsRef;
  query?: string;
  rawQuery?: boolean;
  alias?: string;
  resultFormat?: string;
}

export interface Panel {
  id?: number;
  type: string;
  title?: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: DsRef;
  targets?: Target[];
  panels?: Panel[];
}

export interface Variable {
  type: string;
  name: string;
  query?: string;
  datasource?: DsRef;
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string | null;
}

export interface Annotation {
  name: string;
  builtIn?: number;
  datasource?: DsRef;
  target?: Target & { textColumn?: string; tagsColumn?: string; titleColumn?: string };
}

export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
  annotations: { list: Annotation[] };
}

export const DASHBOARD_DIR = join(import.meta.dirname, '..', '..', 'deploy', 'grafana', 'dashboards');

/** Every dashboard file in deploy/grafana/dashboards, parsed. */
export function loadDashboards(dir = DASHBOARD_DIR): { file: string; dash: Dashboard }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, dash: JSON.parse(readFileSync(join(dir, file), 'utf8')) as Dashboard }));
}

/** Panels in layout order, rows' nested panels included (collapsed rows keep theirs inside). */
export function allPanels(d: Dashboard): Panel[] {
  const out: Panel[] = [];
  const walk = (ps: readonly Panel[]): void => {
    for (const p of ps) {
      out.push(p);
      if (p.panels) walk(p.panels);
    }
  };
  walk(d.panels);
  return out;
}

/** Every InfluxQL query of a dashboard with where it comes from: panel targets, variables, annotations. */
export interface QuerySite {
  where: string;
  query: string;
  alias?: string;
}

export function querySites(d: Dashboard): QuerySite[] {
  const out: QuerySite[] = [];
  for (const p of allPanels(d)) {
    for (const t of p.targets ?? []) out.push({ where: `panel ${p.id} "${p.title}" ${t.refId}`, query: t.query ?? '', alias: t.alias });
  }
  for (const v of d.templating.list) if (v.type === 'query') out.push({ where: `variable $${v.name}`, query: v.query ?? '' });
  for (const a of d.annotations.list) if (!a.builtIn) out.push({ where: `annotation "${a.name}"`, query: a.target?.query ?? '' });
  return out;
}

/** Names a query refers to as template variables (built-ins `$__*` and `$timeFilter` excluded). */
export function referencedVariables(query: string): string[] {
  const names = new Set<string>();
  for (const m of query.matchAll(/\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g)) {
    const n = m[1] ?? m[2] ?? m[3];
    if (n && n !== 'timeFilter' && !n.startsWith('__')) names.add(n);
  }
  return [...names];
}

/** Grafana's kbn.regexEscape: what a variable value becomes inside an InfluxQL /regex/. */
export function regexEscape(v: string): string {
  return v.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&');
}

/** A variable's selection as Grafana would hold it: one value, several, or "All". */
export type Selection = { kind: 'values'; values: string[] } | { kind: 'all'; values: string[] };

/** The text Grafana puts in place of a variable in an InfluxQL query. */
export function formatSelection(v: Variable, s: Selection): string {
  if (s.kind === 'all' && v.allValue) return v.allValue;
  const escaped = s.values.map(regexEscape);
  if (!v.multi && !v.includeAll) return s.values[0] ?? '';
  return escaped.length === 1 ? (escaped[0] ?? '') : `(${escaped.join('|')})`;
}

export interface Substitutions {
  /** what `$timeFilter` becomes */
  timeFilter: string;
  /** `$__interval`, e.g. `10s` */
  interval: string;
  intervalMs: number;
  /** variable name -> the text it is replaced with */
  vars: Record<string, string>;
}

/** Grafana's interpolation of one InfluxQL query; an unknown variable is an error, never left in. */
export function substitute(query: string, s: Substitutions): string {
  let q = query
    .replaceAll('$timeFilter', s.timeFilter)
    .replaceAll('$__interval_ms', String(s.intervalMs))
    .replaceAll('${__interval_ms}', String(s.intervalMs))
    .replaceAll('$__interval', s.interval)
    .replaceAll('${__interval}', s.interval);
  q = q.replace(/\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g, (all, a?: string, b?: string, c?: string) => {
    const name = a ?? b ?? c ?? '';
    const val = s.vars[name];
    if (val === undefined) throw new Error(`query uses $${name}, which has no value: ${query}`);
    return val;
  });
  return q;
}

/** The tags a query groups by (`GROUP BY time(..), "a", b`), the only ones an alias `$tag_x` can name. */
export function groupByTags(query: string): string[] {
  const m = /GROUP BY (.*?)(?:\bfill\(|\bORDER\b|\bLIMIT\b|\)\s*$|$)/i.exec(query.replace(/\s+/g, ' '));
  if (!m?.[1]) return [];
  return m[1]
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p && !/^time\(/i.test(p))
    .map((p) => p.replace(/^"|"$/g, ''));
}

export interface AlertRule {
  uid: string;
  title: string;
  /** query A (InfluxQL) and its time range, seconds back from now */
  query: string;
  fromSeconds: number;
  /** threshold C on the last value of each series (reduce B) */
  op: 'gt' | 'lt';
  threshold: number;
}

interface RuleFile {
  groups: { rules: { uid: string; title: string; condition: string; data: { refId: string; datasourceUid: string; relativeTimeRange?: { from: number }; model: Record<string, unknown> }[] }[] }[];
}

/** The provisioned alert rules, read as Grafana does: A the query, B reduce(A), C threshold(B). */
export function loadAlertRules(file = join(DASHBOARD_DIR, '..', 'provisioning', 'alerting', 'netvigil.yaml')): AlertRule[] {
  const doc = parseYaml(readFileSync(file, 'utf8')) as RuleFile;
  return doc.groups.flatMap((g) =>
    g.rules.map((r) => {
      const [a, b, c] = r.data;
      if (r.condition !== 'C' || a?.refId !== 'A' || b?.model.type !== 'reduce' || b.model.expression !== 'A' || c?.model.type !== 'threshold' || c.model.expression !== 'B') {
        throw new Error(`alert rule ${r.uid}: expected A query, B reduce(A), C threshold(B), condition C`);
      }
      const ev = (c.model.conditions as { evaluator: { type: string; params: number[] } }[])[0]?.evaluator;
      if (!ev || (ev.type !== 'gt' && ev.type !== 'lt')) throw new Error(`alert rule ${r.uid}: threshold type ${ev?.type}`);
      return { uid: r.uid, title: r.title, query: String(a.model.query), fromSeconds: a.relativeTimeRange?.from ?? 600, op: ev.type, threshold: ev.params[0] ?? 0 };
    }),
  );
}
