import { readFileSync, readlinkSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Every /proc and /sys read of the monitor and of `doctor` goes through one of these, so tests can
 * point `root` at a recorded snapshot tree instead of the live kernel.
 *
 * Reads are synchronous on purpose: procfs files are generated in memory by the kernel in
 * microseconds, and a libuv threadpool round trip per file would cost more CPU than the read itself.
 * A file that is missing or unreadable (old kernel, no PSI, no cgroup controller) is `undefined`,
 * never an exception: every signal is optional.
 */
export class HostFs {
  readonly root: string;

  constructor(root = '/') {
    this.root = root;
  }

  path(p: string): string {
    return join(this.root, p);
  }

  /** `latin1` keeps one character per byte, for binary headers (ACPI tables). */
  read(p: string, encoding: 'utf8' | 'latin1' = 'utf8'): string | undefined {
    try {
      return readFileSync(this.path(p), encoding);
    } catch {
      return undefined;
    }
  }

  /** First line, trimmed: for one-value files like `current_clocksource` or `rmem_max`. */
  readLine(p: string): string | undefined {
    const s = this.read(p);
    if (s === undefined) return undefined;
    const nl = s.indexOf('\n');
    return (nl < 0 ? s : s.slice(0, nl)).trim();
  }

  readNumber(p: string): number | undefined {
    const s = this.readLine(p);
    if (s === undefined || s === '') return undefined;
    const n = Number(s);
    return Number.isFinite(n) ? n : undefined;
  }

  /** Target of a symlink (e.g. a NIC's `device/driver`), or undefined if it is not one. */
  readLink(p: string): string | undefined {
    try {
      return readlinkSync(this.path(p));
    } catch {
      return undefined;
    }
  }

  list(p: string): string[] {
    try {
      return readdirSync(this.path(p)).sort();
    } catch {
      return [];
    }
  }

  exists(p: string): boolean {
    return existsSync(this.path(p));
  }
}
