/**
 * One process per data directory. Two collectors sharing one would replay the same spool files,
 * overwrite each other's aggregation checkpoint and templates, and their aggregates (without an
 * `instance` tag) would overwrite each other in InfluxDB. The lock is a file holding the owner's
 * pid, created exclusively; a lock whose pid is gone (a crash, SIGKILL) is taken over.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';

export const LOCK_FILE = 'netvigil.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/** Takes the lock or throws naming the process that holds it. Returns the release function. */
export function lockDataDir(dir: string): () => void {
  const file = join(dir, LOCK_FILE);
  const me = `${process.pid} ${hostname()}\n`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      try {
        writeSync(fd, me);
      } finally {
        closeSync(fd);
      }
      return () => {
        try {
          if (readFileSync(file, 'utf8') === me) unlinkSync(file);
        } catch {
          /* gone already */
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let holder = '';
    try {
      holder = readFileSync(file, 'utf8');
    } catch {
      continue; // released between our attempts
    }
    const [pidText = '', host = ''] = holder.trim().split(' ');
    const pid = Number(pidText);
    // a pid on another host (a data dir on shared storage) cannot be checked: treat it as alive
    if (Number.isInteger(pid) && pid > 0 && (host !== hostname() || alive(pid)) && pid !== process.pid) {
      throw new Error(`data_dir ${dir} is in use by netvigil pid ${pid} on ${host || 'this host'} (${file}); give every instance its own data_dir`);
    }
    try {
      unlinkSync(file); // stale: its process is gone
    } catch {
      /* someone else removed it */
    }
  }
  throw new Error(`cannot lock data_dir ${dir} (${file})`);
}
