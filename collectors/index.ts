/**
 * The explicit list of collectors. src/ reaches collectors/ only through this file; adding a
 * collector means adding it here (no registration by import side effect).
 */
import type { CollectorDefinition } from '../src/collector.js';
import { flowCollector } from './flow/index.js';
import { snmpCollector } from './snmp/index.js';
import { snmptrapCollector } from './snmptrap/index.js';

export const collectors: readonly CollectorDefinition[] = [flowCollector, snmpCollector, snmptrapCollector];

export { runDecode } from './flow/decode-cli.js';
