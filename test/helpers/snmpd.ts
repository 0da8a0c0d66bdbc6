/**
 * Debian's Net-SNMP daemon and command-line tools for tests: snmpd on a free loopback port with a
 * temporary config and persistent dir (SNMP_PERSISTENT_DIR, so nothing touches /var/lib/snmp),
 * v2c community `public` and three v3 users covering the USM variants we support.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CollectorContext, InterfaceInfo } from '../../src/collector.js';
import { createLogger } from '../../src/log.js';
import type { NetRecord } from '../../src/record/record.js';
import { freeUdpPort, makeTmpDir, waitFor } from './net.js';
import { startDaemon, type Daemon } from './proc.js';

export const AUTH_KEY = 'authpass123';
export const PRIV_KEY = 'privpass123';
/** Net-SNMP createUser spellings -> our inventory spellings. AES-256 in Net-SNMP is the Blumenthal variant. */
export const V3_USERS = [
  { user: 'shaaes', netsnmp: ['SHA', 'AES'], auth_protocol: 'sha', priv_protocol: 'aes' },
  { user: 'sha256aes256', netsnmp: ['SHA-256', 'AES-256'], auth_protocol: 'sha256', priv_protocol: 'aes256b' },
  { user: 'md5des', netsnmp: ['MD5', 'DES'], auth_protocol: 'md5', priv_protocol: 'des' },
] as const;

export interface Snmpd {
  port: number;
  dir: string;
  daemon: Daemon;
  stop(): Promise<void>;
}

/** Environment for Net-SNMP tools: own state dir, no MIB loading (we compare numeric OIDs). */
export function toolEnv(dir: string): NodeJS.ProcessEnv {
  return { ...process.env, SNMP_PERSISTENT_DIR: join(dir, 'tools'), MIBS: '', MIBDIRS: '/nonexistent' };
}

export function runTool(cmd: string, args: readonly string[], dir: string, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, [...args], { env: toolEnv(dir), timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${String(err)} ${stderr}`));
      else resolve(stdout);
    });
  });
}

export async function startSnmpd(extraConf = ''): Promise<Snmpd> {
  const { dir, cleanup } = await makeTmpDir('netvigil-snmpd-');
  const port = await freeUdpPort();
  const conf = [
    'rocommunity public 127.0.0.1',
    ...V3_USERS.map((u) => `createUser ${u.user} ${u.netsnmp[0]} "${AUTH_KEY}" ${u.netsnmp[1]} "${PRIV_KEY}"`),
    ...V3_USERS.map((u) => `rouser ${u.user} priv`),
    extraConf,
  ].join('\n');
  await writeFile(join(dir, 'snmpd.conf'), conf + '\n');
  const daemon = startDaemon('snmpd', ['-f', '-Lo', '-C', '-c', join(dir, 'snmpd.conf'), `udp:127.0.0.1:${port}`], {
    env: { ...process.env, SNMP_PERSISTENT_DIR: join(dir, 'state'), MIBS: '', MIBDIRS: '/nonexistent' },
  });
  await agentAnswers(daemon, 'snmpd', port, 'public', dir, 10_000, 100);
  return {
    port,
    dir,
    daemon,
    async stop() {
      await daemon.stop();
      await cleanup();
    },
  };
}

/** Waits until the agent answers a sysUpTime get; otherwise kills it and fails with its output. */
export async function agentAnswers(daemon: Daemon, what: string, port: number, community: string, dir: string, timeoutMs: number, everyMs: number): Promise<void> {
  try {
    await waitFor(`${what} to answer`, () => runTool('snmpget', ['-v2c', '-c', community, '-t', '0.5', '-r', '0', `127.0.0.1:${port}`, '1.3.6.1.2.1.1.3.0'], dir, 3000), timeoutMs, everyMs);
  } catch (e) {
    await daemon.stop('SIGKILL');
    throw new Error(`${String(e)}\n${daemon.output()}`);
  }
}

export interface WalkedValue {
  oid: string;
  type: string;
  value: string;
}

/**
 * Parses `snmpbulkwalk -On -Oe -Ot -OU` output: `.1.3.6... = TYPE: value`. Strings lose their
 * quotes; multi-line strings (sysDescr with CR/LF) are joined back.
 */
export function parseWalk(text: string): WalkedValue[] {
  const out: WalkedValue[] = [];
  for (const line of text.split('\n')) {
    const m = /^\.?(\d+(?:\.\d+)+) = (?:([A-Za-z0-9-]+): )?(.*)$/.exec(line);
    if (m) {
      // "No Such Object available on this agent at this OID" and friends are not values
      if (!m[2] && /^No (Such|more)/.test(m[3] ?? '')) continue;
      out.push({ oid: m[1] ?? '', type: m[2] ?? '', value: m[3] ?? '' });
      continue;
    }
    const last = out[out.length - 1];
    if (last && line.length) last.value += '\n' + line;
  }
  for (const v of out) {
    if (v.type === 'STRING' && v.value.startsWith('"') && v.value.endsWith('"')) v.value = v.value.slice(1, -1).replace(/\\"/g, '"');
    if (v.value === '""') v.value = '';
  }
  return out;
}

/** snmpbulkwalk of `oid` with v2c community, numeric everything. */
export async function bulkwalk(port: number, community: string, oid: string, dir: string, extra: readonly string[] = []): Promise<WalkedValue[]> {
  const out = await runTool('snmpbulkwalk', ['-v2c', '-c', community, '-On', '-Oe', '-Ot', '-OU', '-Cr25', ...extra, `127.0.0.1:${port}`, oid], dir);
  return parseWalk(out);
}

/**
 * A CollectorContext built the way the contract describes, for driving a collector without the
 * pipeline: records into an array, a silent logger, an in-memory interface directory and signals
 * that record calls. (The contract itself, not a mock of a real part.)
 */
export interface Harness {
  ctx: CollectorContext;
  records: NetRecord[];
  errors: { err: unknown; context?: { exporter?: string; device?: string } }[];
  requests: string[];
  interfaces: Map<string, { addresses: readonly string[]; infos: InterfaceInfo[] }>;
}

export function harness(dataDir: string, configDir: string): Harness {
  const records: NetRecord[] = [];
  const errors: Harness['errors'] = [];
  const requests: string[] = [];
  const interfaces: Harness['interfaces'] = new Map();
  const ctx: CollectorContext = {
    emitter: { emit: (r) => void records.push(r), error: (err, context) => void errors.push(context ? { err, context } : { err }) },
    log: createLogger('silent'),
    dataDir,
    configDir,
    shard: { index: 0, count: 1 },
    interfaces: {
      update: (device, addresses, _source, infos) => void interfaces.set(device, { addresses, infos: [...infos] }),
      lookup: (addr, ifIndex) => [...interfaces.values()].find((d) => d.addresses.includes(addr))?.infos.find((i) => i.ifIndex === ifIndex),
      deviceName: (addr) => [...interfaces.entries()].find(([, d]) => d.addresses.includes(addr))?.[0],
    },
    signals: {
      udpSocket: () => {},
      udpSocketClosed: () => {},
      exporterClockOffset: () => {},
      snmpRequest: (o) => void requests.push(o),
    },
  };
  return { ctx, records, errors, requests, interfaces };
}
