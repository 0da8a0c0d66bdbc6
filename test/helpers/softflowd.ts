/**
 * Runs Debian's softflowd over a pcap file (-r), exporting NetFlow v5/v9/IPFIX to one or more
 * destinations on loopback. softflowd exits at the end of the file after flushing every flow.
 * `-c none`: softflowd 1.1.0 hangs after reading the file when its control-socket path is 13 characters
 * or longer (measured here), and the tests never need the control socket.
 */
import { join } from 'node:path';
import { startDaemon } from './proc.js';

export async function runSoftflowd(pcapFile: string, version: '5' | '9' | '10', dests: number[], workDir: string, extra: string[] = []): Promise<string> {
  const args = ['-r', pcapFile, '-v', version, '-d', '-p', join(workDir, `sfd-${version}.pid`), '-c', 'none', ...extra];
  for (const port of dests) args.push('-n', `127.0.0.1:${port}`);
  const d = startDaemon('softflowd', args);
  const deadline = setTimeout(() => void d.stop('SIGTERM', 1000), 20_000);
  await new Promise<void>((resolve) => {
    if (d.proc.exitCode !== null) resolve();
    else d.proc.once('exit', () => resolve());
  });
  clearTimeout(deadline);
  return d.output();
}
