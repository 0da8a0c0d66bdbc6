import type { HostSignals } from '../collector.js';
import type { UdpFamily } from './sampler.js';

interface Offset {
  sum: number;
  count: number;
  min: number;
  max: number;
}

/** What collectors reported during one interval. */
export interface InboxInterval {
  offsets: ReadonlyMap<string, Readonly<Offset>>;
  snmpRequests: number;
  snmpTimeouts: number;
  /** Exporters whose data path crossed a threshold, with what crossed (collectors/flow/path.ts). */
  paths: ReadonlyMap<string, readonly string[]>;
}

/**
 * The HostSignals side of the monitor: collectors call these on their own paths (exporterClockOffset
 * per export packet), so each call is a map update and nothing more; the monitor drains the
 * interval's totals with take() when it samples.
 */
export class SignalInbox implements HostSignals {
  /** Registered sockets, family -> port -> collector name. */
  readonly ports = new Map<UdpFamily, Map<number, string>>([
    ['udp4', new Map()],
    ['udp6', new Map()],
  ]);
  /** The same ports as sets, the shape the sampler filters /proc/net/udp with. */
  readonly portSets = new Map<UdpFamily, Set<number>>([
    ['udp4', new Set()],
    ['udp6', new Set()],
  ]);
  private offsets = new Map<string, Offset>();
  private paths = new Map<string, readonly string[]>();
  private snmpRequests = 0;
  private snmpTimeouts = 0;
  /** Exporters ignored because `maxExporters` were already tracked in the interval. */
  refused = 0;

  constructor(private readonly maxExporters: number) {}

  udpSocket(collector: string, family: UdpFamily, port: number): void {
    this.ports.get(family)?.set(port, collector);
    this.portSets.get(family)?.add(port);
  }

  udpSocketClosed(family: UdpFamily, port: number): void {
    this.ports.get(family)?.delete(port);
    this.portSets.get(family)?.delete(port);
  }

  collectorOf(family: UdpFamily, port: number): string {
    return this.ports.get(family)?.get(port) ?? 'unknown';
  }

  exporterClockOffset(exporter: string, offsetMs: number): void {
    if (!Number.isFinite(offsetMs)) return;
    const o = this.offsets.get(exporter);
    if (o) {
      o.sum += offsetMs;
      o.count++;
      if (offsetMs < o.min) o.min = offsetMs;
      if (offsetMs > o.max) o.max = offsetMs;
    } else if (this.offsets.size < this.maxExporters) {
      // Bounded: source addresses of UDP exports can be spoofed, so the map must not grow freely.
      this.offsets.set(exporter, { sum: offsetMs, count: 1, min: offsetMs, max: offsetMs });
    } else {
      this.refused++;
    }
  }

  exporterPath(exporter: string, crossed: readonly string[]): void {
    if (this.paths.has(exporter) || this.paths.size < this.maxExporters) this.paths.set(exporter, crossed);
    else this.refused++;
  }

  snmpRequest(outcome: 'ok' | 'timeout' | 'error'): void {
    this.snmpRequests++;
    if (outcome === 'timeout') this.snmpTimeouts++;
  }

  take(): InboxInterval {
    const out: InboxInterval = { offsets: this.offsets, snmpRequests: this.snmpRequests, snmpTimeouts: this.snmpTimeouts, paths: this.paths };
    this.offsets = new Map();
    this.paths = new Map();
    this.snmpRequests = 0;
    this.snmpTimeouts = 0;
    return out;
  }
}
