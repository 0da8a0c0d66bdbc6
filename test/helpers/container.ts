/**
 * Builds and runs the repo's Dockerfile with Debian's buildah/podman (our machines have no Docker
 * engine; see scripts/containers/README.md). Everything comes from the repository itself, so a lone
 * fresh clone works: the container confs, the local base image (made by scripts/containers/make-base.sh
 * when missing) and a build context holding only the committed files.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makeTmpDir } from './net.js';

export const REPO = resolve(import.meta.dirname, '..', '..');
/** The base image the Dockerfile names (its first FROM), as podman spells it. */
export function baseImage(): string {
  const from = /^FROM\s+(\S+)/m.exec(readFileSync(join(REPO, 'Dockerfile'), 'utf8'))?.[1];
  if (!from) throw new Error('Dockerfile has no FROM line');
  return from.includes('/') ? from : `docker.io/library/${from}`;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion and returns its exit code and output; never throws on a non-zero exit. */
export function runCmd(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((res) => {
    execFile(cmd, [...args], { env: opts.env ?? process.env, cwd: opts.cwd, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      res({ code, stdout, stderr: stderr + (err && code === -1 ? `\n${String(err)}` : '') });
    });
  });
}

async function must(cmd: string, args: readonly string[], opts: Parameters<typeof runCmd>[2] = {}): Promise<string> {
  const r = await runCmd(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`);
  return r.stdout;
}

/**
 * The podman/buildah toolbox in scripts/containers: its confs select runc, overlay storage and
 * ulimits that work on our VMs; every podman/buildah call of the test goes through `env`.
 */
export function containerTools(): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = join(REPO, 'scripts', 'containers');
  return { dir, env: { ...process.env, CONTAINERS_CONF: join(dir, 'containers.conf'), CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf') } };
}

/**
 * Why the image test cannot run here, or undefined when it can. Only a machine that truly lacks
 * the means skips: not root (buildah --isolation chroot, runc and debootstrap need it) or a tool
 * missing (`bash scripts/test-deps.sh` installs them all). Anything else that goes wrong fails.
 */
export async function missingTools(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'the image test needs root (buildah/podman run rootful)';
  for (const tool of ['buildah', 'podman', 'runc', 'debootstrap', 'git']) {
    const r = await runCmd('sh', ['-c', `command -v ${tool}`]);
    if (r.code !== 0) return `${tool} is not installed (bash scripts/test-deps.sh installs it)`;
  }
  if ((await runCmd('git', ['rev-parse', 'HEAD'], { cwd: REPO })).code !== 0) return 'not a git checkout (the build context is the committed tree)';
  return undefined;
}

/**
 * The base image the Dockerfile names, made locally when absent (we cannot pull). make-base.sh is
 * idempotent and takes about a minute the first time.
 */
export async function ensureBaseImage(tools: { dir: string; env: NodeJS.ProcessEnv }): Promise<'present' | 'built'> {
  if ((await runCmd('podman', ['image', 'exists', baseImage()], { env: tools.env })).code === 0) return 'present';
  await must('bash', [join(tools.dir, 'make-base.sh')], { env: tools.env, timeoutMs: 900_000 });
  return 'built';
}

/**
 * A build context of the committed tree (`git archive HEAD`), as a fresh clone sees it: node_modules,
 * dist and data of a work tree never leak into the image (the .dockerignore covers `docker build .`),
 * and neither do other people's half-done edits in a shared work tree. Commit before testing an image change.
 */
export async function committedContext(): Promise<{ dir: string; cleanup: () => Promise<void>; commit: string }> {
  const ctx = await makeTmpDir('netvigil-imgctx-');
  const commit = (await must('git', ['rev-parse', 'HEAD'], { cwd: REPO })).trim();
  await must('bash', ['-c', 'set -o pipefail; git archive --format=tar "$1" | tar -x -C "$2"', 'archive', commit, ctx.dir], { cwd: REPO });
  return { ...ctx, commit };
}

/** `buildah bud` of the repo's Dockerfile as documented; returns the build log. */
export async function buildImage(tag: string, contextDir: string, env: NodeJS.ProcessEnv): Promise<string> {
  return must('buildah', ['bud', '--isolation', 'chroot', '--pull=never', '--format', 'docker', '-t', tag, contextDir], { env, timeoutMs: 600_000 });
}

export async function podman(env: NodeJS.ProcessEnv, ...args: string[]): Promise<string> {
  return (await must('podman', args, { env, timeoutMs: 120_000 })).trim();
}

/** `podman inspect --format` of one field of a container. */
export async function inspect(env: NodeJS.ProcessEnv, name: string, format: string): Promise<string> {
  return podman(env, 'inspect', '--format', format, name);
}

/** Removes a container and an image by name, ignoring ones that are already gone. */
export async function removeAll(env: NodeJS.ProcessEnv, container: string, image: string): Promise<void> {
  await runCmd('podman', ['rm', '-f', '-t', '5', container], { env, timeoutMs: 60_000 });
  await runCmd('podman', ['rmi', '-f', image], { env, timeoutMs: 60_000 });
}
