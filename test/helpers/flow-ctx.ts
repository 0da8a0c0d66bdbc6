/**
 * A CollectorContext built for tests: the contract, filled with an array emitter, a silent pino
 * logger, a temp data directory, an in-memory interface directory and host signals that record calls.
 */
import { pino } from 'pino';
import type { CollectorContext, InterfaceInfo } from '../../src/collector.js';
import type { NetRecord } from '../../src/record/record.js';

export interface TestCtx {
  ctx: CollectorContext;
  records: NetRecord[];
  errors: unknown[];
  interfaceUpdates: { device: string; addresses: readonly string[]; source: string; interfaces: InterfaceInfo[] }[];
  clockOffsets: { exporter: string; offsetMs: number }[];
  sockets: { collector: string; family: string; port: number; open: boolean }[];
}

export function makeTestCtx(dataDir: string): TestCtx {
  const t: TestCtx = { records: [], errors: [], interfaceUpdates: [], clockOffsets: [], sockets: [], ctx: undefined as unknown as CollectorContext };
  const names = new Map<string, InterfaceInfo>();
  t.ctx = {
    emitter: { emit: (r) => void t.records.push(r), error: (e) => void t.errors.push(e) },
    log: pino({ level: 'silent' }),
    dataDir,
    configDir: dataDir,
    shard: { index: 0, count: 1 },
    interfaces: {
      update(device, addresses, source, interfaces) {
        const list = [...interfaces];
        t.interfaceUpdates.push({ device, addresses, source, interfaces: list });
        for (const a of addresses) for (const i of list) names.set(`${a}|${i.ifIndex}`, i);
      },
      lookup: (exporter, ifIndex) => names.get(`${exporter}|${ifIndex}`),
      deviceName: () => undefined,
    },
    signals: {
      udpSocket: (collector, family, port) => void t.sockets.push({ collector, family, port, open: true }),
      udpSocketClosed: (family, port) => {
        const s = t.sockets.find((x) => x.family === family && x.port === port);
        if (s) s.open = false;
      },
      exporterClockOffset: (exporter, offsetMs) => void t.clockOffsets.push({ exporter, offsetMs }),
      snmpRequest: () => undefined,
    },
  };
  return t;
}
