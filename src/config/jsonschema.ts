/**
 * Writes config/collector.schema.json from the zod schema, so editors (yaml-language-server) complete
 * and check the config. `netvigil schema` prints it, `npm run schema` rewrites the file, and a test fails
 * when the committed file is stale.
 */
import { z } from 'zod';
import { configSchema } from '../commands/common.js';

export function configJsonSchema(): string {
  const schema = z.toJSONSchema(configSchema(), { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  schema.title = 'netvigil collector configuration';
  return JSON.stringify(schema, null, 2) + '\n';
}
