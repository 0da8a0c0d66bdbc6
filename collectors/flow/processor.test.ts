import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hexToBytes } from '../../test/helpers/hex.js';
import { TemplateStore } from '../netflow/templates.js';
import { FlowProcessor } from './processor.js';

describe('FlowProcessor with a bad set in a datagram', () => {
  it('aggregates the records of the good sets and counts the bad set by exporter and reason', () => {
    const dir = join(import.meta.dirname, '../netflow/testcases/ipfix-bad-set-keeps-records');
    const bytes: number[] = [];
    const p = new FlowProcessor({ collector: 'flow', store: new TemplateStore(), raw: false, maxExporters: 4 }, {
      emit: () => undefined,
      aggregate: (k) => void bytes.push(k.bytes),
      interfaces: () => undefined,
      clockOffset: () => undefined,
      internalError: (e) => {
        throw e;
      },
    });
    for (const f of ['input-01.hex', 'input-02.hex']) p.handle(hexToBytes(readFileSync(join(dir, f), 'utf8')), '192.0.2.7', 4739, 0);
    expect(bytes).toEqual([76, 80, 60, 61]);
    expect(p.exporterStats('192.0.2.7')).toEqual({ datagrams: 2, records: 4, errors: { ipfix_truncated: 1, ipfix_bad_template: 1 } });
  });
});
