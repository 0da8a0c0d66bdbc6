import { defineCollector } from '../../src/collector.js';
import { FlowCollector } from './collector.js';
import { flowConfigSchema } from './config.js';

export const flowCollector = defineCollector({
  name: 'flow',
  description: 'NetFlow v5/v9, IPFIX and sFlow v5 over UDP: decoded, loss-accounted and aggregated per interval under a series budget',
  configSchema: flowConfigSchema,
  create: (config, ctx) => new FlowCollector(config, ctx),
});
