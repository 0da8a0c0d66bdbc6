import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'collectors/**/*.test.ts', 'src/**/*.test.ts'],
    // Real daemons (influxd, snmpd, softflowd) start per file: keep files in parallel but bounded
    // for a 2-core machine.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
