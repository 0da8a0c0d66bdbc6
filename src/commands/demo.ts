/**
 * `netvigil run --demo`: a first look in one minute. The collector runs as configured, except that
 * the flow collector listens on one free loopback port with a 5 s interval and raw records on, the
 * HTTP status page is on, and the process sends itself a short, bounded burst of generated NetFlow
 * v9 and sFlow v5 (demo-traffic.ts): records appear in the line-protocol file within seconds and
 * the status page lists the exporter. Nothing leaves 127.0.0.1.
 */
import { createSocket } from 'node:dgram';
import { join, resolve } from 'node:path';
import type { AppConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { CONVERSATIONS, netflowV9, SflowAgentState, sflowV5 } from './demo-traffic.js';

export const DEMO_HELP = `      --demo            first look: listen for flows on a free 127.0.0.1 port only, aggregate every 5s,
                        and send this collector 20 rounds of generated NetFlow v9 and sFlow v5 over 10 s`;

export const DEMO_ROUNDS = 20;
const ROUND_MS = 500;
const DEMO_INTERVAL = '5s';

export interface Demo {
  port: number;
  /** Applied to the raw config after flags and environment, before validation. */
  apply: (raw: Record<string, unknown>) => void;
}

function obj(parent: Record<string, unknown>, key: string): Record<string, unknown> {
  const v = parent[key];
  if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  return (parent[key] = {});
}

/** A free UDP port on loopback, so the demo never clashes with a collector already on 2055. */
async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((res, rej) => s.once('error', rej).bind(0, '127.0.0.1', () => res()));
  const port = s.address().port;
  await new Promise<void>((res) => s.close(() => res()));
  return port;
}

export async function demoOverlay(): Promise<Demo> {
  const port = await freeUdpPort();
  return {
    port,
    apply(raw) {
      const collectors = obj(raw, 'collectors');
      const flow = obj(collectors, 'flow');
      Object.assign(flow, { enabled: true, listen: [{ address: '127.0.0.1', port }], allow: [], interval: DEMO_INTERVAL, raw: true });
      if (raw.http === undefined) raw.http = { listen: '127.0.0.1:9108' };
      else obj(raw, 'http').enabled = true;
      const sinks = obj(raw, 'sinks');
      if (sinks.file === undefined && sinks.influx === undefined) sinks.file = {};
    },
  };
}

/** Sends the burst; the collector keeps running afterwards until stopped. */
export function startDemo(cfg: AppConfig, demo: Demo, log: Logger): { stop: () => void } {
  const sock = createSocket('udp4');
  sock.bind(0, '127.0.0.1');
  const file = cfg.sinks.file?.enabled ? join(resolve(cfg.sinks.file.dir ?? join(cfg.data_dir, 'lp')), 'netvigil.lp') : undefined;
  log.info(
    { to: `127.0.0.1:${demo.port}`, status_page: cfg.http.enabled ? `http://${cfg.http.listen}/` : undefined, records: file ?? 'sinks.influx' },
    `demo: sending ${DEMO_ROUNDS} NetFlow v9 and ${DEMO_ROUNDS} sFlow v5 datagrams (generated) over ${(DEMO_ROUNDS * ROUND_MS) / 1000} s`,
  );
  const bootMs = Date.now() - 3_600_000;
  let round = 0;
  let sent = 0;
  const agent = new SflowAgentState();
  const timer = setInterval(() => {
    if (round >= DEMO_ROUNDS) {
      clearInterval(timer);
      sock.close();
      log.info({ datagrams: sent, interval: DEMO_INTERVAL }, 'demo: burst sent; aggregates (flow_agg, flow_top) follow at the end of each interval; Ctrl-C to stop');
      return;
    }
    const now = Date.now();
    const v9 = netflowV9({ uptimeMs: now - bootMs, unixSecs: Math.floor(now / 1000), seq: round, sourceId: 1, withTemplate: round % 5 === 0 }, CONVERSATIONS, round);
    const sf = sflowV5({ agent: '127.0.0.1', seq: round + 1, uptimeMs: now - bootMs, withCounters: round % 4 === 0 }, agent, CONVERSATIONS, round);
    for (const d of [v9, sf]) sock.send(d, demo.port, '127.0.0.1', (e) => (e ? log.warn({ err: e.message }, 'demo: send failed') : sent++));
    round++;
  }, ROUND_MS);
  return {
    stop() {
      if (round < DEMO_ROUNDS) {
        clearInterval(timer);
        sock.close();
      }
    },
  };
}
