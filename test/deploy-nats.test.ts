/**
 * The scale-out compose override (deploy/compose.nats.yaml) is consistent with compose.yaml and
 * with the code: both role configs pass `netvigil validate` with what compose gives the containers,
 * share one bus, and each processor gets its own instance name and data directory. Docker cannot
 * run here, so the stack itself is not started; the bus path is tested in test/bus-nats.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parse } from 'yaml';
import { runValidate } from '../src/commands/validate.js';

const DEPLOY = join(import.meta.dirname, '..', 'deploy');
type Obj = Record<string, unknown>;
const readYaml = (p: string): Obj => parse(readFileSync(join(DEPLOY, p), 'utf8')) as Obj;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const base = obj(readYaml('compose.yaml').services);
const over = obj(readYaml('compose.nats.yaml').services);

/** `netvigil validate -c FILE` with the environment compose gives the container; restored afterwards. */
async function validate(file: string, env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  let out = '';
  let err = '';
  const sink = (f: (s: string) => void): Writable => new Writable({ write: (c: Buffer, _e, cb) => (f(String(c)), cb()) });
  try {
    const code = await runValidate(['-c', join(DEPLOY, 'netvigil', file)], { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) });
    return { code, out, err };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

const configOf = (service: Obj): string => {
  const cmd = arr(service.command).map(String);
  expect(cmd[0]).toBe('run');
  const file = cmd[cmd.indexOf('-c') + 1] ?? '';
  expect(file.startsWith('/etc/netvigil/')).toBe(true);
  return file.slice('/etc/netvigil/'.length);
};

describe('scale-out compose override (NATS)', () => {
  it('runs one JetStream node with a store volume and a health check the others wait for', () => {
    const nats = obj(over.nats);
    expect(arr(nats.command)).toEqual(expect.arrayContaining(['-js', '-sd', '/data']));
    expect(arr(nats.volumes)).toContain('nats-data:/data');
    expect(arr(obj(nats.healthcheck).test).join(' ')).toMatch(/healthz/);
    for (const s of ['netvigil', 'processor']) expect(obj(obj(over[s]).depends_on).nats).toEqual({ condition: 'service_healthy' });
  });

  it('turns the netvigil service into receiver + poller, keeping its ports', async () => {
    const file = configOf(obj(over.netvigil));
    expect(existsSync(join(DEPLOY, 'netvigil', file))).toBe(true);
    expect(obj(over.netvigil).ports).toBeUndefined(); // the base service's ports stay
    const env = { SNMP_COMMUNITY: 'community-x', SNMP_V3_AUTH_KEY: 'auth-key-123', SNMP_V3_PRIV_KEY: 'priv-key-123', NETVIGIL_INFLUX_URL: 'http://influxdb:8086' };
    const r = await validate(file, env);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('collectors: flow, snmp, snmptrap; sinks: influx');
    expect(readYaml(`netvigil/${file}`).roles).toEqual(['receiver', 'poller']);
  });

  it('runs processors from the same image, each with its own instance name and data directory', async () => {
    const p = obj(over.processor);
    expect(p.image).toBe(obj(base.netvigil).image);
    expect(p.ports).toBeUndefined(); // only receivers take datagrams
    expect(p.read_only).toBe(true);
    // an anonymous volume (no name before ':'): one per scaled container
    expect(arr(p.volumes)).toEqual(expect.arrayContaining(['./netvigil:/etc/netvigil:ro', '/var/lib/netvigil']));
    expect(obj(p.environment)).toMatchObject({ NETVIGIL_INFLUX_URL: 'http://influxdb:8086', NETVIGIL_INFLUX_DB: obj(obj(base.netvigil).environment).NETVIGIL_INFLUX_DB });
    const file = configOf(p);
    const cfg = readYaml(`netvigil/${file}`);
    expect(cfg.roles).toEqual(['processor']);
    expect(cfg.instance).toBe('${HOSTNAME}'); // docker sets HOSTNAME to the container id
    const r = await validate(file, { HOSTNAME: '3f2a9c1d0b7e', NETVIGIL_INFLUX_URL: 'http://influxdb:8086' });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('collectors: flow, snmptrap; sinks: influx');
  });

  it('gives receiver and processors one bus, one flow aggregation and one trap block', () => {
    const rec = readYaml(`netvigil/${configOf(obj(over.netvigil))}`);
    const proc = readYaml(`netvigil/${configOf(obj(over.processor))}`);
    expect(proc.bus).toEqual(rec.bus);
    expect(arr(obj(obj(rec.bus).nats).servers)).toEqual(['nats://nats:4222']);
    const flow = (c: Obj): Obj => obj(obj(c.collectors).flow);
    expect(flow(proc)).toEqual(flow(rec));
    // processors decode the traps the receiver forwards: the same block (v3 users, MIB directories)
    const trap = (c: Obj): Obj => obj(obj(c.collectors).snmptrap);
    expect(trap(proc)).toEqual(trap(rec));
    expect(obj(proc.sinks)).toEqual(obj(rec.sinks));
    // the cross-check on a bus: the poller shares counters and the processors judge, both with the block
    expect(proc.xcheck).toEqual({});
    expect(rec.xcheck).toEqual(proc.xcheck);
  });
});
