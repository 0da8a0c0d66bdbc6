/**
 * The flow-vs-SNMP cross-check on a bus, end to end on real parts (issue 15): the SNMP counters
 * are polled by one `netvigil run` (a poller) and the flows decoded by another (a receiver and
 * processor with no SNMP of its own), over a 3-node nats-server cluster (R3 stream and buckets).
 *
 * Everything runs in network namespace A of a veth pair (helpers/netns.ts), so the veth's kernel
 * counters hold the test's traffic only: a bounded UDP exchange with namespace B (generated: 1,000-byte
 * datagrams, ~400/s each way, stops by itself); snmpd reporting those counters; pmacctd capturing
 * the veth (every packet: no sampling noise in a short run), one per direction, each exporting NetFlow v9 to both the bus
 * receiver and a third `netvigil run` that does it all in one process (no bus), the reference.
 *
 * Checked: the processor writes `xcheck` records for the veth although it never polls SNMP; each
 * window's SNMP octets are what the poller's own `interface` points give when interpolated at the
 * window's edges (the poller's samples, not a copy of the reference's); over the run, the bus
 * processor's flow/SNMP ratio is within a few percent of 1 and within 1 % of the single process's,
 * and the processor raises no finding.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI } from './helpers/cli.js';
import { startNatsIn, type NatsInNs } from './helpers/nats-netns.js';
import { makeTmpDir, waitFor } from './helpers/net.js';
import { makeVethPair, netnsUnavailable, type VethPair } from './helpers/netns.js';
import type { Daemon } from './helpers/proc.js';
import { ECHO, points, SENDER, type Point } from './helpers/veth-traffic.js';

const why = netnsUnavailable();
/**
 * Timing, so that the run's flow/SNMP ratio holds all the traffic on both sides instead of depending
 * on where the edges fall (12 s of traffic: one second misplaced is 8 %): flow intervals of 8 s
 * (multiples of 8 s on every process's clock, one machine here), SNMP polls every 2 s, traffic from
 * 4 s into an interval for 12 s, so it ends at the second interval's end and its last flows are
 * exported (~1 s) in the third. The counters are then flat at the first window's start (2 s of slack
 * for a late poll) and at the third one's end: snmpd serves interface counters up to ~2 s stale
 * (its cache: two polls 2 s apart read the same value), so a poll 2 s + 2 s after the end reads the
 * final count, 4 s of slack before the window closes 8 s after the end (net-snmp reloads its
 * interface data when a request finds it older than its cache timeout, not at every request). Traffic starting near a
 * window's end instead leaves that window without flows, unjudged, its SNMP octets out of the sum
 * while their flows count in the next window.
 */
const INTERVAL_S = 8;
const START_S = 4;
const TRAFFIC_S = 12;

let net: VethPair | undefined;
let tmp: { dir: string; cleanup: () => Promise<void> };
let nats: NatsInNs | undefined;
const daemons: Daemon[] = [];

const int = (v: string | undefined): number => Number((v ?? 'NaN').replace(/i$/, ''));

function pmacctConf(dir: string, ifName: string, ifIndex: number, direction: 'in' | 'out', engine: number, ports: number[]): string {
  const file = join(dir, `pmacctd-${direction}.conf`);
  const plugins = ports.map((p) => `p${p}`);
  writeFileSync(
    file,
    [
      'daemonize: false',
      `pcap_interface: ${ifName}`,
      `pcap_direction: ${direction}`,
      'pcap_ifindex: sys',
      `plugins: ${plugins.map((n) => `nfprobe[${n}]`).join(', ')}`,
      ...ports.flatMap((port, i) => [`nfprobe_receiver[${plugins[i]}]: 127.0.0.1:${port}`, `nfprobe_source_ip[${plugins[i]}]: 127.0.0.1`, `nfprobe_version[${plugins[i]}]: 9`]),
      `nfprobe_direction: ${direction}`,
      `nfprobe_ifindex: ${ifIndex}`,
      'nfprobe_ifindex_override: true',
      `nfprobe_engine: ${engine}`,
      // flows expire within ~1 s, so an interval holds the traffic of about its own time
      'nfprobe_timeouts: udp=1:maxlife=1:expint=1:general=1',
      '',
    ].join('\n'),
  );
  return file;
}

function netvigilConf(dir: string, name: string, lines: string[]): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      `data_dir: ${dir}/${name}`,
      'log_format: json',
      'monitor: { enabled: false }',
      'telemetry_interval: 2s',
      'pipeline: { flush_interval: 200ms }',
      `sinks: { file: { dir: ${dir}/${name}/lp } }`,
      'xcheck: { low: 0.7, high: 1.43, intervals: 3, min_octets: 20000 }',
      ...lines,
      '',
    ].join('\n'),
  );
  return file;
}

beforeAll(async () => {
  if (why) return;
  tmp = await makeTmpDir('netvigil-xcheckbus-');
  net = makeVethPair('q');
}, 30_000);

afterAll(async () => {
  // SIGTERM first: pmacctd's core then stops its plugin processes (a SIGKILLed core leaves them behind)
  for (const d of daemons.reverse()) await d.stop('SIGTERM', 5000).catch(() => {});
  await nats?.stop();
  net?.remove();
  if (!process.env.NETVIGIL_KEEP_TMP) await tmp?.cleanup();
});

describe.skipIf(why !== undefined)(`flow vs SNMP across a bus, in a network namespace${why ? ` (skipped: ${why})` : ''}`, () => {
  it('a processor judges its flows with the counters a poller on another process took, as one process does', async () => {
    const n = net as VethPair;
    const dir = tmp.dir;
    writeFileSync(join(dir, 'sender.mjs'), SENDER);
    writeFileSync(join(dir, 'echo.mjs'), ECHO);
    writeFileSync(
      join(dir, 'devices.yaml'),
      'defaults: { version: v2c, port: 1161, interval: 2s, timeout: 1s, retries: 1, profiles: [interfaces], credentials: { community: public } }\ndevices:\n  - { name: probe, address: 127.0.0.1 }\n',
    );
    writeFileSync(join(dir, 'snmpd.conf'), 'rocommunity public\n');
    const started = Date.now();
    const snmpd = n.exec(n.a, 'snmpd', ['-f', '-Lo', '-C', '-c', join(dir, 'snmpd.conf'), 'udp:127.0.0.1:1161'], { env: { ...process.env, SNMP_PERSISTENT_DIR: join(dir, 'snmpstate') } });
    daemons.push(snmpd);
    nats = await startNatsIn(n, n.a, dir, 3);
    const bus = `bus: { nats: { servers: [${nats.urls.join(', ')}], stream: NVXC, replicas: 3, partitions: 4, lease_ttl: 16s, batch_delay: 20ms } }`;
    const flow = (port: number): string => `collectors: { flow: { listen: [{ address: 127.0.0.1, port: ${port} }], interval: ${INTERVAL_S}s, stats_interval: ${INTERVAL_S}s }`;
    const run = (name: string, lines: string[]): Daemon => {
      const d = n.exec(n.a, process.execPath, [CLI, 'run', '-c', netvigilConf(dir, name, lines)]);
      daemons.push(d);
      return d;
    };
    const started_ = (d: Daemon): Promise<unknown> =>
      waitFor('netvigil started', () => d.output().includes('netvigil started'), 30_000).catch((e: unknown) => {
        throw new Error(`${(e as Error).message}\n${d.output()}`);
      });
    const single = run('single', [`${flow(2056)}, snmp: { devices: ${dir}/devices.yaml } }`]);
    // no snmp block: the processor's SNMP side can only come from the poller, over the bus. One bus
    // instance at a time, as helpers/busrig.ts does: a fresh cluster electing leaders for the stream
    // and every bucket at once can time out an instance's start on a loaded machine
    const proc = run('proc', ['instance: proc', 'roles: [receiver, processor]', bus, `${flow(2055)} }`]);
    await started_(proc);
    const poller = run('poller', ['instance: poller', 'roles: [poller]', bus, `collectors: { snmp: { devices: ${dir}/devices.yaml } }`]);
    await started_(poller);
    await started_(single);

    daemons.push(n.exec(n.a, 'pmacctd', ['-f', pmacctConf(dir, n.ifA, n.ifIndexA, 'in', 1, [2055, 2056])], { cwd: dir }));
    daemons.push(n.exec(n.a, 'pmacctd', ['-f', pmacctConf(dir, n.ifA, n.ifIndexA, 'out', 2, [2055, 2056])], { cwd: dir }));
    // pmacctd's start-up (3 s), then the sender starts START_S into a flow interval (see INTERVAL_S)
    // the sender waits for that wall time itself: started on a loaded machine, node takes a second
    // or two to run a script, which would move the traffic against the intervals
    // the processor's first window needs a poll before its start: wait for the poller's counters
    // to reach it (a poller started late on a loaded machine left the first window unjudged in CI)
    const lpOf = (name: string): string => join(dir, name, 'lp', 'netvigil.lp');
    await waitFor('the poller\'s counters at the processor', () => points(lpOf('proc'), 'netvigil_bus').some((p) => p.tags.role === 'counters' && int(p.fields.received) >= 2), 30_000, 250);
    const ready = Date.now() + 3000;
    const period = INTERVAL_S * 1000;
    const startAt = ready + ((period + START_S * 1000 - (ready % period)) % period);
    daemons.push(n.exec(n.b, process.execPath, [join(dir, 'echo.mjs'), n.addrB, String(Math.ceil((startAt - Date.now()) / 1000) + TRAFFIC_S + 5)]));
    const sender = n.exec(n.a, process.execPath, [join(dir, 'sender.mjs'), n.addrB, String(TRAFFIC_S), n.addrA, String(startAt)]);
    daemons.push(sender);
    await waitFor('traffic to end', () => sender.proc.exitCode !== null, startAt - Date.now() + (TRAFFIC_S + 20) * 1000, 500);
    const lp = (name: string): string => join(dir, name, 'lp', 'netvigil.lp');
    const ifIndex = String(n.ifIndexA);
    const checks = (name: string): Point[] => points(lp(name), 'xcheck').filter((p) => p.tags.device === 'probe' && p.tags.if_index === ifIndex);
    // the third interval closes 8 s after the traffic's end and a poll follows within 2 s: about
    // 10 s on a quiet machine. On the bus the poll's counters also cross a KV watch and the flows the
    // stream, which took longer than 13 s once in a CI run with every test file in parallel (2
    // windows of 3 judged by then): wait for the windows, 45 s at most, then 1 s for the file sink
    await waitFor('three windows judged by both', () => checks('proc').length >= 3 && checks('single').length >= 3, 45_000, 500).catch(() => {});
    await new Promise((r) => setTimeout(r, 1000));
    for (const d of [proc, single, poller]) await d.stop('SIGTERM', 15_000);
    const onBus = checks('proc');
    const ref = checks('single');
    const windows = (ps: Point[]): string => ps.map((p) => `${p.time}: flow ${p.fields.flow_in_bytes}/${p.fields.flow_out_bytes} snmp ${p.fields.snmp_in_octets}/${p.fields.snmp_out_octets}`).join('; ');
    const report = `bus ${onBus.length} windows (${windows(onBus)}), single ${ref.length} (${windows(ref)}); traffic from ${startAt}\n${proc.output().slice(-3000)}\n----\n${poller.output().slice(-2000)}`;
    expect(onBus.length, report).toBeGreaterThanOrEqual(3);
    expect(onBus.every((p) => p.tags.instance === 'proc'), report).toBe(true);

    // the SNMP side of every window is the poller's counters, interpolated at the window's edges
    const polled = points(lp('poller'), 'interface').filter((p) => p.tags.device === 'probe' && p.tags.if_index === ifIndex).sort((a, b) => a.time - b.time);
    const at = (t: number, d: 'in' | 'out'): number => {
      const i = polled.findIndex((p, k) => k > 0 && p.time >= t && (polled[k - 1] as Point).time <= t);
      if (i < 1) return NaN;
      const [lo, hi] = [polled[i - 1] as Point, polled[i] as Point];
      const [a, b] = [int(lo.fields[`${d}_octets`]), int(hi.fields[`${d}_octets`])];
      return a + ((t - lo.time) / (hi.time - lo.time)) * (b - a);
    };
    for (const w of onBus) {
      const end = w.time + Number(w.fields.window_s) * 1000;
      for (const d of ['in', 'out'] as const) {
        const mine = at(end, d) - at(w.time, d);
        // the file sink writes poll times rounded to the ms: a window edge moves by up to 0.5 ms of a 2 s poll
        expect(Math.abs(int(w.fields[`snmp_${d}_octets`]) - mine), `${d} at ${w.time}: ${JSON.stringify(w.fields)} vs ${mine}\n${report}`).toBeLessThanOrEqual(Math.max(2, mine * 1e-3));
      }
    }

    // the ratio over the run, against the one-process reference on the same flows and agent
    const total = (ps: Point[], d: 'in' | 'out'): { flow: number; snmp: number } => ({
      flow: ps.reduce((a, p) => a + int(p.fields[`flow_${d}_bytes`]), 0),
      snmp: ps.reduce((a, p) => a + int(p.fields[`snmp_${d}_octets`]), 0),
    });
    const ratios: string[] = [];
    for (const d of ['in', 'out'] as const) {
      const [b, s] = [total(onBus, d), total(ref, d)];
      const [rb, rs] = [b.flow / b.snmp, s.flow / s.snmp];
      ratios.push(`${d}: bus ${b.flow}/${b.snmp} = ${rb.toFixed(3)} over ${onBus.length} windows, single ${s.flow}/${s.snmp} = ${rs.toFixed(3)} over ${ref.length}`);
      expect(b.snmp, ratios.join('\n')).toBeGreaterThan(3_000_000); // 12 s of 400 datagrams/s of 1,042 bytes each way: 5 MB
      // the bound of test/xcheck-netns.test.ts for one process (SNMP counts Ethernet frames: 1.3 % more
      // than the IP bytes flows count), and the one process's ratio to 1 % (the same flows, the same
      // agent; both sides hold the whole traffic, see INTERVAL_S: measured equal to the byte)
      expect(Math.abs(rb - 1), `${ratios.join('\n')}\n${report}`).toBeLessThan(0.06);
      expect(Math.abs(rb - rs), `${ratios.join('\n')}\n${report}`).toBeLessThan(0.01);
    }
    console.log(`xcheck on a bus (${Math.round((Date.now() - started) / 1000)} s):\n${ratios.join('\n')}`); // the README's figures
    expect(points(lp('proc'), 'xcheck_finding').filter((p) => p.fields.active === 'true').map((p) => p.tags), report).toEqual([]);
    // the counters went over the bus: the poller's telemetry says it put them, the processor's that it took them
    const counters = (name: string, field: string): number => Math.max(0, ...points(lp(name), 'netvigil_bus').filter((p) => p.tags.role === 'counters').map((p) => int(p.fields[field])));
    expect(counters('poller', 'published')).toBeGreaterThan(5);
    expect(counters('proc', 'received')).toBeGreaterThan(5);
    expect(counters('proc', 'bad') + counters('poller', 'put_errors')).toBe(0);
  }, 120_000);
});
