import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'collectors/**/*.test.ts', 'src/**/*.test.ts'],
    // Real daemons (influxd, snmpd, softflowd) start per file: keep files in parallel but bounded
    // for a 2-core machine.
    maxWorkers: 2,
    // CI asks for a machine-readable report too (.ci/run prints "N passed, N failed" from it)
    reporters: process.env.NETVIGIL_TEST_REPORT ? ['default', 'json'] : ['default'],
    ...(process.env.NETVIGIL_TEST_REPORT ? { outputFile: { json: process.env.NETVIGIL_TEST_REPORT } } : {}),
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
