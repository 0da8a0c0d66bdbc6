/**
 * snmpsim (Debian's snmpsimd 0.4.5) serving the recorded Cisco Catalyst 3750 walk that ships in the
 * package's examples (`cisco_16_switch.snmprec.gz`; community = file name). The walk is decompressed
 * into a temp dir per run and never copied into the repository.
 */
import { execFileSync } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { freeUdpPort, makeTmpDir } from './net.js';
import { startDaemon, type Daemon } from './proc.js';
import { agentAnswers } from './snmpd.js';

export const CISCO_COMMUNITY = 'cisco_16_switch';

export function findCiscoWalk(): string {
  const files = execFileSync('dpkg', ['-L', 'snmpsim'], { encoding: 'utf8' }).split('\n');
  const f = files.find((l) => l.endsWith(`/${CISCO_COMMUNITY}.snmprec.gz`) || l.endsWith(`/${CISCO_COMMUNITY}.snmprec`));
  if (!f) throw new Error('snmpsim recorded walk cisco_16_switch not found (dpkg -L snmpsim)');
  return f;
}

export interface Snmpsim {
  port: number;
  dir: string;
  daemon: Daemon;
  stop(): Promise<void>;
}

/**
 * A v3 user for snmpsimd (pysnmp spellings). Its `AES256` is the Cisco ("Reeder") key extension,
 * Net-SNMP's `AES-256-C`, our `aes256r`; with v3 the context name selects the data file.
 */
export interface SimV3User {
  user: string;
  authProto: 'MD5' | 'SHA' | 'SHA256';
  authKey: string;
  privProto: 'DES' | 'AES' | 'AES256' | 'AES256BLMT';
  privKey: string;
}

/** Starts snmpsimd with the given extra .snmprec files (name -> content) next to the Cisco walk. */
export async function startSnmpsim(extra: Record<string, string> = {}, v3Users: readonly SimV3User[] = []): Promise<Snmpsim> {
  const { dir, cleanup } = await makeTmpDir('netvigil-snmpsim-');
  // snmpsimd drops to nobody:nogroup when run as root: it must be able to read and write here.
  await chmod(dir, 0o777);
  const data = join(dir, 'data');
  const cache = join(dir, 'cache');
  execFileSync('mkdir', ['-m', '777', '-p', data, cache]);
  const src = findCiscoWalk();
  const raw = readFileSync(src);
  await writeFile(join(data, `${CISCO_COMMUNITY}.snmprec`), src.endsWith('.gz') ? gunzipSync(raw) : raw);
  for (const [name, text] of Object.entries(extra)) await writeFile(join(data, `${name}.snmprec`), text);
  const port = await freeUdpPort();
  // snmpsimd options after --v3-engine-id belong to that engine: data dir, endpoint and users go last.
  const args = [`--cache-dir=${cache}`, '--logging-method=null'];
  if (process.getuid?.() === 0) args.push('--process-user=nobody', '--process-group=nogroup');
  if (v3Users.length) args.push('--v3-engine-id=8000000001020304');
  args.push(`--data-dir=${data}`, `--agent-udpv4-endpoint=127.0.0.1:${port}`);
  for (const u of v3Users) {
    args.push(`--v3-user=${u.user}`, `--v3-auth-key=${u.authKey}`, `--v3-auth-proto=${u.authProto}`, `--v3-priv-key=${u.privKey}`, `--v3-priv-proto=${u.privProto}`);
  }
  const daemon = startDaemon('snmpsimd', args);
  await agentAnswers(daemon, 'snmpsimd', port, CISCO_COMMUNITY, dir, 45_000, 200);
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
