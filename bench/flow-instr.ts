/**
 * The collector's per-datagram cost as CPU instructions, for before/after comparisons on a shared
 * machine (where time is other work's as much as ours): every datagram of a real exporter's capture
 * (as flow-handle.ts, `flow-real` bench captures) through FlowProcessor.handle, 4 untimed passes
 * (templates, JIT), then `passes` counted passes between two calls of process.cpuUsage(), which
 * callgrind is told to dump at:
 *
 *   npm run build && valgrind --tool=callgrind --dump-before='node::CPUUsage*' \
 *     --callgrind-out-file=/tmp/cg node --single-threaded dist/bench/flow-instr.js CAPTURE PASSES
 *
 * The second dump (/tmp/cg.2, `totals:`) holds the instructions of the counted passes; divide by
 * PASSES x the datagrams printed on stderr.
 */
import { captureRunner } from './flow-e2e/inprocess.js';

const [file, passesArg] = process.argv.slice(2);
if (!file) throw new Error('usage: flow-instr.js CAPTURE [PASSES]');
const passes = Number(passesArg ?? 4);
// a fixed receive time: the same work in every run
const { c, ring, pass } = captureRunner(file, 'flow-instr', 1_700_000_000_000);
for (let k = 0; k < 4; k++) pass();
process.cpuUsage(); // callgrind dump 1: everything before the counted passes
for (let k = 0; k < passes; k++) pass();
process.cpuUsage(); // callgrind dump 2: the counted passes
const st = c.processor.exporterStats('127.0.0.1');
process.stderr.write(`${JSON.stringify({ datagrams: ring.length, passes, errors: st?.errors ?? {} })}\n`);
