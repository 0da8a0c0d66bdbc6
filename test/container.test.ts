/**
 * The image as users run it: built from the repo's Dockerfile with buildah (no Docker engine here),
 * run by podman with a read-only root filesystem, our config mounted at /etc/netvigil, a data volume
 * and NETVIGIL_INFLUX_URL pointing at a real influxd on loopback. A NetFlow v5 datagram sent to the
 * container must reach InfluxDB; the HEALTHCHECK must pass; the process must run as uid 10001 and
 * exit 0 on `podman stop`. Skipped only where the tools cannot run at all (not root, buildah or
 * podman missing); everything else it needs is in the repository (scripts/containers/).
 */
import { createSocket } from 'node:dgram';
import { chown, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildV5 } from './helpers/flow-build.js';
import { baseImage, buildImage, committedContext, containerTools, ensureBaseImage, inspect, missingTools, podman, removeAll, runCmd } from './helpers/container.js';
import { startInfluxd, type Influxd } from './helpers/influxd.js';
import { freeTcpPort, freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';

const UID = 10001;
const TAG = `localhost/netvigil:test-${process.pid}`;
const NAME = `netvigil-test-${process.pid}`;
const tools = containerTools();
const cannotRun = await missingTools();
if (cannotRun) console.warn(`container test skipped: ${cannotRun}`);
const timings: Record<string, number> = {};
let influx: Influxd | undefined;
let tmp: { dir: string; cleanup: () => Promise<void> } | undefined;
let flowPort = 0;
let started = false;

async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const t = performance.now();
  try {
    return await fn();
  } finally {
    timings[what] = Math.round(performance.now() - t);
  }
}

const logs = async () => {
  const r = await runCmd('podman', ['logs', NAME], { env: tools.env });
  return (r.stdout + r.stderr).slice(-3000);
};

describe.skipIf(cannotRun !== undefined)('container image', () => {
  beforeAll(async () => {
    await timed('base image', () => ensureBaseImage(tools));
    const ctx = await committedContext();
    console.log(`building ${TAG} from commit ${ctx.commit}`);
    try {
      await timed('image build', () => buildImage(TAG, ctx.dir, tools.env));
    } finally {
      await ctx.cleanup();
    }
    influx = await startInfluxd();
    tmp = await makeTmpDir('netvigil-ctr-');
    flowPort = await freeUdpPort();
    const conf = join(tmp.dir, 'etc');
    const data = join(tmp.dir, 'data');
    await mkdir(conf);
    await mkdir(data);
    // The image's user must own its volume; nothing else in the container is writable (--read-only).
    await chown(data, UID, UID);
    await writeFile(
      join(conf, 'collector.yaml'),
      [
        'log_level: info',
        'telemetry_interval: 2s',
        `http: { listen: "127.0.0.1:${await freeTcpPort()}" }`,
        'pipeline: { flush_interval: 200ms }',
        // Records wait for the monitor's verdict on their window (up to one monitor interval): keep it short.
        'monitor: { interval: 1s }',
        'collectors:',
        `  flow: { listen: [{ address: 127.0.0.1, port: ${flowPort} }], interval: 2s, raw: true }`,
      ].join('\n') + '\n',
    );
    await timed('container start', async () => {
      await podman(tools.env, 'run', '-d', '--name', NAME, '--network', 'host', '--read-only',
        '-v', `${conf}:/etc/netvigil:ro`, '-v', `${data}:/var/lib/netvigil`,
        '-e', `NETVIGIL_INFLUX_URL=${influx!.url}`, TAG);
      started = true;
      // The flow collector logs each bound socket (or that the buffer was capped, which also means bound).
      await waitFor('the container to bind its flow port', async () => /flow listener bound|receive buffer capped/.test(await logs()) || undefined, 30_000, 250);
    });
  }, 900_000);

  afterAll(async () => {
    console.log(`container test timings (ms): ${JSON.stringify(timings)}`);
    await removeAll(tools.env, NAME, TAG);
    await influx?.cleanup();
    await tmp?.cleanup();
  }, 120_000);

  it('runs as uid 10001 with a read-only root filesystem', async () => {
    const pid = await inspect(tools.env, NAME, '{{.State.Pid}}');
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    expect(status).toMatch(new RegExp(`^Uid:\\s+${UID}\\s+${UID}\\s+${UID}\\s+${UID}$`, 'm'));
    expect(await inspect(tools.env, NAME, '{{.HostConfig.ReadonlyRootfs}}')).toBe('true');
    const write = await runCmd('podman', ['exec', NAME, 'node', '-e', 'require("fs").writeFileSync("/app/x", "")'], { env: tools.env });
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/EROFS|read-only/i);
    // ... and writes its heartbeat to the volume as that user.
    const hb = await waitFor('the heartbeat file on the volume', () => stat(join(tmp!.dir, 'data', 'health.json')).catch(() => undefined), 10_000, 200);
    expect(hb.uid).toBe(UID);
  });

  it('ships the compiled code and production dependencies only', async () => {
    const probe = `const fs = require('fs'); console.log(JSON.stringify(['pino', 'net-snmp', 'vitest', 'typescript', 'eslint'].map((m) => fs.existsSync('/app/node_modules/' + m)).concat(fs.existsSync('/app/src'), fs.existsSync('/app/dist/src/cli.js'))))`;
    const r = await runCmd('podman', ['exec', NAME, 'node', '-e', probe], { env: tools.env });
    expect(JSON.parse(r.stdout)).toEqual([true, true, false, false, false, false, true]);
    // ... on the Node.js major the Dockerfile names.
    const major = /node:(\d+)-/.exec(baseImage())?.[1];
    const v = await runCmd('podman', ['exec', NAME, 'node', '--version'], { env: tools.env });
    expect(v.stdout.trim()).toMatch(new RegExp(`^v${major}\\.`));
  });

  it('delivers a NetFlow v5 datagram sent to its port into InfluxDB', async () => {
    const secs = Math.floor(Date.now() / 1000);
    const datagram = buildV5({ uptime: 60_000, secs, seq: 1 }, [
      { src: '10.9.8.7', dst: '192.0.2.44', input: 3, output: 5, packets: 7, bytes: 4242, first: 59_000, last: 59_900, srcPort: 40123, dstPort: 443, proto: 6 },
    ]);
    const s = createSocket('udp4');
    await new Promise<void>((res, rej) => s.send(datagram, flowPort, '127.0.0.1', (e) => (e ? rej(e) : res())));
    s.close();
    const raw = await waitFor('the raw flow in InfluxDB', async () => {
      const rows = await influx!.query('netvigil', `SELECT * FROM flow WHERE src_addr = '10.9.8.7'`).catch(() => []);
      return rows[0];
    }, 30_000, 250).catch(async (e: unknown) => { throw new Error(`${String(e)}\n${await logs()}`); });
    const row = Object.fromEntries(raw.columns.map((c, i) => [c, raw.values[0]?.[i]]));
    expect(row).toMatchObject({ dst_addr: '192.0.2.44', bytes: 4242, packets: 7, dst_port: 443, src_port: 40123, proto: 6 });
    const agg = await waitFor('flow_agg in InfluxDB', async () => {
      const rows = await influx!.query('netvigil', `SELECT sum(bytes) AS bytes, sum(packets) AS packets FROM flow_agg WHERE in_if = '3' AND out_if = '5'`).catch(() => []);
      return rows[0];
    }, 30_000, 250);
    expect(agg.values[0]?.slice(1)).toEqual([4242, 7]);
  });

  it('passes its HEALTHCHECK', async () => {
    expect(await inspect(tools.env, NAME, '{{json .Config.Healthcheck.Test}}')).toContain('health');
    const r = await waitFor('netvigil health to report healthy', async () => {
      const h = await runCmd('podman', ['healthcheck', 'run', NAME], { env: tools.env });
      return h.code === 0 ? h : undefined;
    }, 20_000, 500);
    expect(r.code).toBe(0);
    const direct = await runCmd('podman', ['exec', NAME, 'node', '/app/dist/src/cli.js', 'health'], { env: tools.env });
    expect(direct.stdout).toMatch(/^healthy/);
  });

  it('exits 0 on podman stop (SIGTERM: flush and leave)', async () => {
    expect(started).toBe(true);
    await timed('container stop', () => podman(tools.env, 'stop', '-t', '20', NAME));
    expect(await inspect(tools.env, NAME, '{{.State.Status}}')).toBe('exited');
    expect(await inspect(tools.env, NAME, '{{.State.ExitCode}}')).toBe('0');
  }, 60_000);
});
