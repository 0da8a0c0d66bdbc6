/**
 * The one normalized record every collector emits. Sinks only ever see these.
 *
 * Field typing is carried by the JavaScript type so it survives to the wire without a side schema:
 *   bigint  -> integer field (InfluxDB `i`); 64-bit counters stay exact
 *   number  -> float field
 *   string  -> string field
 *   boolean -> boolean field
 * A collector that means "integer" must hand over a bigint (see `int()`); this is what keeps counters
 * from turning into floats in InfluxDB.
 */
export type FieldValue = number | bigint | string | boolean;
export type Fields = { [name: string]: FieldValue | undefined };
export type Tags = { [name: string]: string | undefined };

/** Where the timestamp came from: the exporter's/device's clock or ours at receive/poll time. */
export type TimeSource = 'exporter' | 'device' | 'collector';

/** Trust verdict of the VM while a record was collected (see src/monitor). */
export type Verdict = 'ok' | 'degraded' | 'untrusted';

interface RecordBase {
  measurement: string;
  tags: Tags;
  fields: Fields;
  /** Milliseconds since the Unix epoch (may carry a fraction). */
  time: number;
  timeSource: TimeSource;
  /**
   * Wall-clock ms at which the pipeline received the record; set by the pipeline, not by collectors.
   * With `time` (when it is our own clock) it bounds the window the VM verdict is judged over.
   */
  collectedAt?: number;
}

/** One flow or flow sample (or an aggregate of them). Measurement `flow` / `flow_agg` / `flow_top`. */
export interface FlowRecord extends RecordBase {
  kind: 'flow';
}
/** Interface counters from SNMP ifTable/ifXTable or sFlow counter samples. Measurement `interface`. */
export interface InterfaceRecord extends RecordBase {
  kind: 'interface';
}
/** Any other device-level value: system, host resources, user SNMP profiles, per-poll stats. */
export interface DeviceMetricRecord extends RecordBase {
  kind: 'device';
}
/** One received SNMP trap or inform. Measurement `snmp_trap`. */
export interface TrapRecord extends RecordBase {
  kind: 'trap';
}
/** The collector about itself and its host: self-telemetry, loss accounting, VM monitor, events. */
export interface HealthRecord extends RecordBase {
  kind: 'health';
}

export type NetRecord = FlowRecord | InterfaceRecord | DeviceMetricRecord | TrapRecord | HealthRecord;
export type RecordKind = NetRecord['kind'];

/** Integer field value. Accepts a number (truncated) or a bigint. */
export function int(v: number | bigint): bigint {
  return typeof v === 'bigint' ? v : BigInt(Math.trunc(v));
}

/** Convenience constructor; `time` defaults to now on the collector's clock. */
export function makeRecord<K extends RecordKind>(
  kind: K,
  measurement: string,
  tags: Tags,
  fields: Fields,
  time: number = Date.now(),
  timeSource: TimeSource = 'collector',
): Extract<NetRecord, { kind: K }> {
  return { kind, measurement, tags, fields, time, timeSource } as Extract<NetRecord, { kind: K }>;
}
