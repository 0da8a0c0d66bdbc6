/**
 * Line-protocol file sink: the embedded default, so the collector runs with nothing else installed.
 * Writes to `<dir>/netvigil.lp` and rotates it to `netvigil-<UTC time>.lp` by size or age, keeping the
 * newest `keep` rotated files.
 *
 * Every file starts with the header `influx -import` needs (`# DML`, `# CONTEXT-DATABASE: <db>`): that
 * importer runs every line before `# DML` as a query. Line protocol treats `#` lines as comments, so the
 * same file POSTs to /write?precision=ms unchanged. String fields never hold a raw line feed
 * (lineprotocol.ts), so one line is one point for the importer and every line-based tool.
 */
import { mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log.js';
import type { NetRecord } from '../record/record.js';
import { toLines } from '../record/lineprotocol.js';
import { emptyStats, type Sink, type SinkStats } from './sink.js';

export interface FileSinkOptions {
  dir: string;
  rotateBytes: number;
  rotateIntervalMs: number;
  keep: number;
  /** Database named in each file's `# CONTEXT-DATABASE` header (for `influx -import`). */
  database?: string | undefined;
}

const CURRENT = 'netvigil.lp';
const ROTATED_RE = /^netvigil-\d{8}T\d{6}(?:\d{3})?Z(?:-\d+)?\.lp$/;

export class FileSink implements Sink {
  readonly name = 'file';
  private readonly opts: FileSinkOptions;
  private readonly log: Logger;
  private fh: FileHandle | undefined;
  private size = 0;
  private openedAt = 0;
  private readonly s: SinkStats = emptyStats();
  private chain: Promise<void> = Promise.resolve();
  private healthy = true;

  constructor(opts: FileSinkOptions, log: Logger) {
    this.opts = opts;
    this.log = log.child({ sink: 'file' });
  }

  get currentFile(): string {
    return join(this.opts.dir, CURRENT);
  }

  async start(): Promise<void> {
    await mkdir(this.opts.dir, { recursive: true });
    await this.openCurrent();
  }

  private async openCurrent(): Promise<void> {
    this.fh = await open(this.currentFile, 'a');
    this.size = (await this.fh.stat()).size;
    // age on the monotonic clock: a wall-clock step must not rotate the file early or late
    this.openedAt = performance.now();
    if (this.size === 0) {
      const header = Buffer.from(`# DML\n# CONTEXT-DATABASE: ${this.opts.database ?? 'netvigil'}\n# netvigil line protocol, precision ms: influx -import -path FILE -precision ms\n`);
      await this.fh.write(header);
      this.size = header.length;
    }
  }

  write(batch: readonly NetRecord[]): Promise<void> {
    // Serialize writes: rotation must not interleave with an append.
    const p = this.chain.then(() => this.append(batch));
    this.chain = p.catch(() => undefined);
    return p;
  }

  private async append(batch: readonly NetRecord[]): Promise<void> {
    const { text, lines, skipped } = toLines(batch);
    this.s.rejectedPoints += skipped;
    if (!lines) return;
    if (!this.fh) await this.openCurrent();
    const t0 = performance.now();
    try {
      const data = Buffer.from(text, 'utf8');
      await this.fh!.write(data);
      this.size += data.length;
      this.healthy = true;
    } catch (e) {
      this.s.writeErrors++;
      this.s.lostPoints += lines;
      if (this.healthy) this.log.error({ err: (e as Error).message }, 'line-protocol file write failed');
      this.healthy = false;
      throw e;
    }
    const ms = performance.now() - t0;
    this.s.batches++;
    this.s.points += lines;
    this.s.latencySumMs += ms;
    this.s.latencyCount++;
    if (ms > this.s.windowMaxLatencyMs) this.s.windowMaxLatencyMs = ms;
    if (this.size >= this.opts.rotateBytes || performance.now() - this.openedAt >= this.opts.rotateIntervalMs) await this.rotate();
  }

  private async rotate(): Promise<void> {
    if (!this.fh) return;
    await this.fh.datasync();
    await this.fh.close();
    this.fh = undefined;
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('.', '');
    let target = join(this.opts.dir, `netvigil-${stamp}.lp`);
    for (let i = 1; await exists(target); i++) target = join(this.opts.dir, `netvigil-${stamp}-${i}.lp`);
    await rename(this.currentFile, target);
    const rotated = (await readdir(this.opts.dir)).filter((n) => ROTATED_RE.test(n)).sort();
    for (const old of rotated.slice(0, Math.max(0, rotated.length - this.opts.keep))) await unlink(join(this.opts.dir, old)).catch(() => undefined);
    await this.openCurrent();
  }

  async stop(): Promise<void> {
    await this.chain;
    if (this.fh) {
      await this.fh.datasync().catch(() => undefined);
      await this.fh.close();
      this.fh = undefined;
    }
  }

  stats(resetWindow = false): SinkStats {
    const out = { ...this.s };
    if (resetWindow) this.s.windowMaxLatencyMs = 0;
    return out;
  }

  ready(): boolean {
    return this.healthy;
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}
