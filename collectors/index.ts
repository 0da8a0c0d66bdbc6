/**
 * The explicit list of collectors. src/ reaches collectors/ only through this file; adding a
 * collector means adding it here (no registration by import side effect).
 */
import type { CollectorDefinition } from '../src/collector.js';

export const collectors: readonly CollectorDefinition[] = [];
