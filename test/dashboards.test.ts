/**
 * The compose stack's files are consistent with each other and with the code: dashboards refer to
 * the provisioned data source and to variables they define, Grafana mounts what the providers read,
 * netvigil gets the ports, config and InfluxDB URL, and the stack's config is valid with every
 * secret an ${ENV} reference. (test/dashboards-live.test.ts runs every query against real data.)
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { parse } from 'yaml';
import { runValidate } from '../src/commands/validate.js';
import { allPanels, formatSelection, groupByTags, loadAlertRules, loadDashboards, querySites, referencedVariables, substitute } from './helpers/grafana.js';

const DEPLOY = join(import.meta.dirname, '..', 'deploy');
const readYaml = (p: string): unknown => parse(readFileSync(join(DEPLOY, p), 'utf8'));
const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const compose = obj(readYaml('compose.yaml'));
const services = obj(compose.services);
const dsFile = obj(readYaml('grafana/provisioning/datasources/netvigil.yaml'));
const ds = obj(arr(dsFile.datasources)[0]);
const dashboards = loadDashboards();

describe('dashboard JSON', () => {
  it('has the four dashboards with unique uids', () => {
    expect(dashboards.map((d) => d.file)).toEqual(['device-health.json', 'flows.json', 'health.json', 'interfaces.json']);
    expect(new Set(dashboards.map((d) => d.dash.uid)).size).toBe(4);
  });

  for (const { file, dash } of dashboards) {
    describe(file, () => {
      it('panels have unique numeric ids, a type, a title and a grid position', () => {
        const ps = allPanels(dash);
        expect(dash.schemaVersion).toBeGreaterThanOrEqual(36);
        expect(ps.length).toBeGreaterThan(5);
        for (const p of ps) {
          expect(Number.isInteger(p.id), `panel ${p.title}`).toBe(true);
          expect(p.type && p.title).toBeTruthy();
        }
        expect(new Set(ps.map((p) => p.id)).size).toBe(ps.length);
        // inside the 24-column grid and not on top of each other
        const boxes = ps.map((p) => ({ t: p.title, ...p.gridPos }));
        for (const [i, a] of boxes.entries()) {
          expect(a.x + a.w, a.t).toBeLessThanOrEqual(24);
          for (const b of boxes.slice(i + 1)) {
            const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
            expect(overlap, `${a.t} / ${b.t}`).toBe(false);
          }
        }
      });

      it('every data reference resolves to the provisioned InfluxDB data source', () => {
        const refs = [
          ...allPanels(dash).filter((p) => p.type !== 'row').flatMap((p) => [p.datasource, ...(p.targets ?? []).map((t) => t.datasource)]),
          ...dash.templating.list.map((v) => v.datasource),
          ...dash.annotations.list.filter((a) => !a.builtIn).flatMap((a) => [a.datasource, a.target?.datasource]),
        ];
        expect(refs.length).toBeGreaterThan(5);
        for (const r of refs) expect(r).toEqual({ type: ds.type, uid: ds.uid });
      });

      it('every data panel has raw InfluxQL targets with a query, $timeFilter and unique refIds', () => {
        for (const p of allPanels(dash).filter((x) => x.type !== 'row')) {
          const ts = p.targets ?? [];
          expect(ts.length, `panel ${p.title}`).toBeGreaterThan(0);
          expect(new Set(ts.map((t) => t.refId)).size).toBe(ts.length);
          for (const t of ts) {
            expect(t.rawQuery, `${p.title} ${t.refId}`).toBe(true);
            expect(t.query).toMatch(/^SELECT .+ FROM .+\$timeFilter/);
          }
        }
      });

      it('uses only variables it defines (and defines them before use), and aliases name grouped tags', () => {
        const defined: string[] = [];
        for (const v of dash.templating.list) {
          expect(v.type).toBe('query');
          expect(v.query).toMatch(/^SHOW TAG VALUES FROM "\w+" WITH KEY = "\w+"/);
          for (const r of referencedVariables(v.query ?? '')) expect(defined, `$${v.name} uses $${r}`).toContain(r);
          defined.push(v.name);
        }
        for (const s of querySites(dash)) {
          for (const r of referencedVariables(s.query)) expect(defined, `${s.where} uses $${r}`).toContain(r);
          const tags = groupByTags(s.query);
          for (const m of (s.alias ?? '').matchAll(/\$tag_(\w+)/g)) expect(tags, `${s.where} alias`).toContain(m[1]);
        }
        // the substitution itself refuses anything left over
        expect(() => substitute('SELECT a FROM b WHERE c =~ /^$nope$/', { timeFilter: 't', interval: '1s', intervalMs: 1000, vars: {} })).toThrow(/nope/);
      });

      it('shows the vm_verdict events as annotations', () => {
        const a = dash.annotations.list.find((x) => !x.builtIn);
        expect(a?.target?.query).toMatch(/FROM "vm_verdict" WHERE \$timeFilter/);
        expect(a?.target?.textColumn).toBe('reasons');
      });
    });
  }

  it('groups flow_agg only by tags the stack config makes (dimensions + enrichment)', () => {
    const flow = obj(obj(obj(readYaml('netvigil/collector.yaml')).collectors).flow);
    const dims = arr(flow.dimensions).map(String);
    const tags = new Set([...dims, 'collector', 'in_if_name', 'out_if_name', 'device']);
    const flowDash = dashboards.find((d) => d.file === 'flows.json')?.dash;
    const used = querySites(flowDash!).filter((s) => /FROM "flow_agg"/.test(s.query)).flatMap((s) => groupByTags(s.query));
    expect(used).toEqual(expect.arrayContaining(['exporter', 'in_if_name', 'out_if_name', 'proto', 'src_as', 'dst_as']));
    for (const t of used) expect(tags, t).toContain(t);
  });
});

describe('Grafana InfluxQL substitution (what the live test relies on)', () => {
  const v = { type: 'query', name: 'if_name', multi: true, includeAll: true, allValue: '.*' };
  const q = 'SELECT mean("in_bps") FROM "interface" WHERE "if_name" =~ /^$if_name$/ AND "device" =~ /^${device}$/ AND $timeFilter GROUP BY time($__interval) LIMIT $__interval_ms';
  it('regex-escapes values (dots, slashes) and joins several as a group; All becomes allValue', () => {
    expect(formatSelection(v, { kind: 'values', values: ['Gi1/0/1'] })).toBe('Gi1\\/0\\/1');
    expect(formatSelection(v, { kind: 'values', values: ['Vl60', 'Fa0/1'] })).toBe('(Vl60|Fa0\\/1)');
    expect(formatSelection(v, { kind: 'all', values: ['a', 'b'] })).toBe('.*');
    expect(formatSelection({ ...v, allValue: null }, { kind: 'all', values: ['10.0.0.1', 'b'] })).toBe('(10\\.0\\.0\\.1|b)');
  });
  it('replaces the built-ins and both variable spellings', () => {
    const vars = { if_name: formatSelection(v, { kind: 'values', values: ['Gi1/0/1'] }), device: 'sw1' };
    expect(substitute(q, { timeFilter: 'time > now() - 1h', interval: '10s', intervalMs: 10_000, vars })).toBe(
      'SELECT mean("in_bps") FROM "interface" WHERE "if_name" =~ /^Gi1\\/0\\/1$/ AND "device" =~ /^sw1$/ AND time > now() - 1h GROUP BY time(10s) LIMIT 10000',
    );
  });
});

describe('compose stack', () => {
  it('builds netvigil from the repository Dockerfile with its config, data volume and ports', () => {
    const nv = obj(services.netvigil);
    const build = obj(nv.build);
    expect(existsSync(resolve(DEPLOY, String(build.context), String(build.dockerfile)))).toBe(true);
    expect(nv.read_only).toBe(true);
    expect(arr(nv.volumes)).toEqual(expect.arrayContaining(['./netvigil:/etc/netvigil:ro', 'netvigil-data:/var/lib/netvigil']));
    expect(arr(nv.ports)).toEqual(expect.arrayContaining(['2055:2055/udp', '4739:4739/udp', '6343:6343/udp', '162:1162/udp']));
    expect(obj(nv.environment).NETVIGIL_INFLUX_URL).toBe('http://influxdb:8086');
    // the image's HEALTHCHECK is used, not replaced
    expect(nv.healthcheck).toBeUndefined();
  });

  it('runs InfluxDB 1.8 with the database the data source reads, and no reporting', () => {
    const influx = obj(services.influxdb);
    const env = obj(influx.environment);
    expect(influx.image).toBe('influxdb:1.8');
    expect(env.INFLUXDB_DB).toBe(obj(ds.jsonData).dbName);
    expect(ds.database).toBe(env.INFLUXDB_DB);
    expect(env.INFLUXDB_REPORTING_DISABLED).toBe('true');
    expect(ds.url).toBe('http://influxdb:8086');
    expect(obj(services.netvigil).environment).toMatchObject({ NETVIGIL_INFLUX_DB: env.INFLUXDB_DB });
  });

  it('provisions Grafana: data source and dashboards mounted where the provider reads them', () => {
    const g = obj(services.grafana);
    expect(String(g.image)).toMatch(/^grafana\/grafana/);
    expect(obj(g.environment).GF_SECURITY_ADMIN_PASSWORD).toMatch(/^\$\{GRAFANA_ADMIN_PASSWORD/);
    expect(ds).toMatchObject({ type: 'influxdb', uid: 'netvigil-influxdb' });
    const provider = obj(arr(obj(readYaml('grafana/provisioning/dashboards/netvigil.yaml')).providers)[0]);
    const path = String(obj(provider.options).path);
    expect(arr(g.volumes)).toEqual(expect.arrayContaining([`./grafana/dashboards:${path}:ro`, './grafana/provisioning:/etc/grafana/provisioning:ro']));
    expect(obj(g.environment).GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).toBe(`${path}/flows.json`);
  });

  it('has a valid netvigil config whose credentials are all ${ENV} references the compose file passes', async () => {
    const inv = readFileSync(join(DEPLOY, 'netvigil', 'devices.yaml'), 'utf8');
    const secrets = [...inv.matchAll(/^\s*(community|auth_key|priv_key|password):\s*(.*)$/gm)];
    expect(secrets.length).toBeGreaterThan(0);
    const env = obj(obj(services.netvigil).environment);
    for (const [, key, value] of secrets) {
      const ref = /^"\$\{(\w+)\}"$/.exec(value?.trim() ?? '');
      expect(ref, `${key}: ${value}`).not.toBeNull();
      expect(Object.keys(env)).toContain(ref?.[1]);
    }
    // what deploy/.env and compose.yaml give the container; restored afterwards
    const set = { SNMP_COMMUNITY: 'community-x', SNMP_V3_AUTH_KEY: 'auth-key-123', SNMP_V3_PRIV_KEY: 'priv-key-123', NETVIGIL_INFLUX_URL: 'http://influxdb:8086' };
    const saved = Object.fromEntries(Object.keys(set).map((k) => [k, process.env[k]]));
    Object.assign(process.env, set);
    let out = '';
    let err = '';
    const sink = (f: (s: string) => void) => new Writable({ write: (c: Buffer, _e, cb) => (f(String(c)), cb()) });
    try {
      const code = await runValidate(['-c', join(DEPLOY, 'netvigil', 'collector.yaml')], { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) });
      expect(err).toBe('');
      expect(code).toBe(0);
      expect(out).toContain('collectors: flow, snmp, snmptrap; sinks: influx');
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

describe('instances and alert rules', () => {
  it('every query over per-process counters or samples groups by instance', () => {
    const perProcess = /FROM "(vm_\w+|netvigil_\w+|flow_loss|flow_stats|snmptrap_stats)"/;
    const sites = dashboards.flatMap(({ dash }) => querySites(dash)).filter((x) => !x.where.startsWith('variable') && !x.where.startsWith('annotation') && perProcess.test(x.query));
    expect(sites.length).toBeGreaterThan(15);
    for (const x of sites) expect(groupByTags(x.query), `${x.where}: ${x.query}`).toContain('instance');
  });

  it('the alert rules use the provisioned data source, $timeFilter and a severity, in the mounted folder', () => {
    const file = obj(readYaml('grafana/provisioning/alerting/netvigil.yaml'));
    const rules = arr(obj(arr(file.groups)[0]).rules).map(obj);
    expect(rules.length).toBe(loadAlertRules().length);
    for (const r of rules) {
      const [a] = arr(r.data).map(obj);
      expect(a?.datasourceUid, String(r.uid)).toBe(ds.uid);
      expect(String(obj(a?.model).query)).toMatch(/^SELECT .+ FROM .+\$timeFilter GROUP BY "instance"/);
      expect(obj(r.labels).severity).toMatch(/^(critical|warning|info)$/);
      expect(String(obj(r.annotations).summary)).not.toBe('');
    }
    expect(arr(obj(services.grafana).volumes)).toContain('./grafana/provisioning:/etc/grafana/provisioning:ro');
  });
});
