import { PassThrough } from 'node:stream';
import { runDecode } from '../../collectors/index.js';

/** Runs `netvigil decode` in-process and captures what it writes. */
export async function decodeCaptured(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await runDecode(args, { stdout, stderr });
  return { code, out, err };
}
