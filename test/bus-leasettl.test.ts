/**
 * `bus.nats.lease_ttl`'s default follows what the config says of the NATS deployment (src/bus/config.ts
 * defaultLeaseTtl): 6 s on one server, 16 s on a cluster, where a node's loss stops lease renewals
 * for seconds (bench/lease-failover.bench.ts measures how long). `netvigil validate` says which applies.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_LEASE_TTL_MS, SINGLE_LEASE_TTL_MS } from '../src/bus/config.js';
import { configSchema } from '../src/commands/common.js';
import { parseConfigText } from '../src/config/load.js';
import { cli } from './helpers/cli.js';
import { makeTmpDir } from './helpers/net.js';

const ttl = (nats: string): number | undefined => parseConfigText(`instance: p1\nroles: [processor]\nbus:\n  nats: ${nats}\n`, 'nv.yaml', configSchema()).bus?.nats.lease_ttl;

describe('bus.nats.lease_ttl default', () => {
  it('is 6 s for one server with replicas 1, 16 s when servers names several or replicas is above 1', () => {
    expect([SINGLE_LEASE_TTL_MS, CLUSTER_LEASE_TTL_MS]).toEqual([6000, 16_000]);
    expect(ttl('{}')).toBe(6000); // the default server, nats://127.0.0.1:4222
    expect(ttl('{ servers: [nats://10.0.0.1:4222] }')).toBe(6000);
    expect(ttl('{ servers: [nats://10.0.0.1:4222, nats://10.0.0.2:4222] }')).toBe(16_000);
    expect(ttl('{ servers: [nats://10.0.0.1:4222], replicas: 3 }')).toBe(16_000);
  });

  it('keeps a value the config gives, whatever the servers', () => {
    expect(ttl('{ servers: [a:4222, b:4222, c:4222], replicas: 3, lease_ttl: 3s }')).toBe(3000);
    expect(ttl('{ lease_ttl: 20s }')).toBe(20_000);
  });

  describe('netvigil validate', () => {
    let tmp: { dir: string; cleanup: () => Promise<void> };
    beforeAll(async () => (tmp = await makeTmpDir()));
    afterAll(() => tmp.cleanup());

    it('prints the lease_ttl in use', async () => {
      const file = join(tmp.dir, 'nv.yaml');
      await writeFile(file, 'instance: p1\nroles: [processor]\nbus:\n  nats:\n    servers: [nats://10.0.0.1:4222, nats://10.0.0.2:4222, nats://10.0.0.3:4222]\n    replicas: 3\n');
      const r = cli(['validate', '-c', file]);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(r.out).toContain('bus: 3 server(s), replicas 3, lease_ttl 16s');
      await writeFile(file, 'instance: p1\nroles: [processor]\nbus:\n  nats: {}\n');
      expect(cli(['validate', '-c', file]).out).toContain('bus: 1 server(s), replicas 1, lease_ttl 6s');
    });
  });
});
