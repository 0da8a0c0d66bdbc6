import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runDoctor, type Check } from '../src/monitor/doctor.js';
import { HostFs } from '../src/monitor/hostfs.js';
import { kernelSyncState, readSyncState, runningSyncDaemons } from '../src/monitor/timesync.js';

const FIXTURES = join(import.meta.dirname, 'fixtures/monitor');

async function doctor(args: string[], root?: string, env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const sink = (add: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        add(chunk.toString());
        cb();
      },
    });
  const out = sink((s) => (stdout += s));
  const err = sink((s) => (stderr += s));
  const code = await runDoctor(args, { stdout: out, stderr: err }, root === undefined ? undefined : { root, env });
  return { code, stdout, stderr };
}

async function checks(fixture: string, extra: string[] = []) {
  const r = await doctor(['--json', '--sample', '0', ...extra], join(FIXTURES, fixture));
  const report = JSON.parse(r.stdout) as { checks: Check[]; summary: Record<string, number> };
  const by = (name: string): Check => {
    const c = report.checks.find((x) => x.name === name);
    if (!c) throw new Error(`no check ${name} in ${r.stdout}`);
    return c;
  };
  return { ...r, report, by };
}

describe('netvigil doctor on fixture trees', () => {
  it('KVM guest (this machine\'s files): kvm detected, virtio NIC, small rmem_max is a warning', async () => {
    const r = await checks('kvm');
    expect(r.code).toBe(0);
    expect(r.by('virtualization')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^KVM guest .*hypervisor.*kvm-clock.*no DMI tables/) });
    expect(r.report.checks.find((c) => c.name === 'container')).toBeUndefined();
    expect(r.by('vcpus').detail).toBe('2 vCPUs');
    expect(r.by('clocksource')).toMatchObject({ status: 'ok', detail: expect.stringContaining('tsc') });
    expect(r.by('nic eth0')).toMatchObject({ status: 'ok', detail: 'virtio_net (paravirtual)' });
    expect(r.by('rcvbuf')).toMatchObject({ status: 'warn', advice: expect.stringContaining('net.core.rmem_max=33554432') });
    expect(r.by('swap').status).toBe('ok');
    expect(r.by('pressure (PSI)').status).toBe('ok');
    // No daemon to ask in a snapshot tree: sync is unknown, which is a warning, not a failure.
    expect(r.by('time sync').status).toBe('warn');
    expect(r.report.summary).toEqual({
      ok: r.report.checks.filter((c) => c.status === 'ok').length,
      warn: r.report.checks.filter((c) => c.status === 'warn').length,
      fail: 0,
    });
    // The wanted buffer is a flag: ask for less than rmem_max and the warning goes away.
    expect((await checks('kvm', ['--want-rcvbuf', '2MiB'])).by('rcvbuf').status).toBe('ok');
  });

  it('bare-metal host: no hypervisor, hpet clock and swap warned, physical NICs fine', async () => {
    const r = await checks('baremetal');
    expect(r.code).toBe(0);
    expect(r.by('virtualization').detail).toBe('no hypervisor detected (bare metal: Dell Inc. PowerEdge R640)');
    expect(r.by('clocksource')).toMatchObject({ status: 'warn', advice: expect.stringContaining('tsc') });
    expect(r.by('swap')).toMatchObject({ status: 'warn', detail: expect.stringContaining('/dev/sda3') });
    expect(r.by('rcvbuf').status).toBe('ok');
    // On bare metal an e1000e is the real NIC, not an emulated one.
    expect(r.by('nic eno1')).toMatchObject({ status: 'ok', detail: expect.stringContaining('e1000e') });
    expect(r.by('nic enp3s0f0').detail).toContain('ixgbe');
    expect(r.by('cpu steal')).toMatchObject({ status: 'ok', detail: '0.00% since boot' });
  });

  it('container on an overcommitted VM: kubernetes seen, limits warned, 25 % steal fails the run', async () => {
    const r = await checks('container');
    expect(r.code).toBe(1);
    expect(r.by('container').detail).toMatch(/^docker .*\.dockerenv.*kubepods/);
    expect(r.by('cpu steal')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/^25\.\d\d% since boot/) });
    expect(r.by('time sync')).toMatchObject({ status: 'ok', detail: expect.stringContaining('timesyncd') });
    const cg = r.by('cgroup limits');
    expect(cg.status).toBe('warn');
    expect(cg.detail).toContain('cgroup v2');
    expect(cg.detail).toContain('cpu quota 0.5 CPU');
    expect(cg.detail).toContain('throttled in 3000/12000 periods');
    expect(cg.detail).toContain('memory limit 128 MiB');
    expect(r.by('nic').detail).toMatch(/only virtual interfaces/);
    expect(r.report.summary.fail).toBe(1);
  });

  it('Firecracker microVM (this machine\'s files, ACPI headers included): named by its ACPI OEM ID, a stale /.dockerenv is not a container', async () => {
    const r = await checks('firecracker');
    expect(r.by('virtualization')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^firecracker guest .*acpi DSDT oem "FIRECK".*no DMI tables/) });
    // the image the disk was built from left /.dockerenv; root is ext4 on a block device, pid 1 is in no engine's cgroup
    expect(r.by('container').detail).toMatch(/^none \(ignored \/\.dockerenv without any other container sign \(root filesystem ext4/);
  });

  it('believes /.dockerenv when the root filesystem is overlay, and says why', async () => {
    const { mkdtempSync, cpSync, writeFileSync, rmSync } = await import('node:fs');
    const root = mkdtempSync(join((await import('node:os')).tmpdir(), 'netvigil-docker-'));
    try {
      cpSync(join(FIXTURES, 'firecracker'), root, { recursive: true });
      // generated: the /proc/mounts line docker's overlay2 driver produces
      writeFileSync(join(root, 'proc', 'mounts'), 'overlay / overlay rw,relatime,lowerdir=/var/lib/docker/overlay2/l/A:/var/lib/docker/overlay2/l/B,upperdir=/var/lib/docker/overlay2/x/diff,workdir=/var/lib/docker/overlay2/x/work 0 0\n');
      const r = await doctor(['--json', '--sample', '0'], root);
      const report = JSON.parse(r.stdout) as { checks: Check[] };
      expect(report.checks.find((c) => c.name === 'container')?.detail).toBe('docker (/.dockerenv, root filesystem overlay)');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('prints a readable report with what to do, and rejects bad arguments', async () => {
    const r = await doctor(['--sample', '0'], join(FIXTURES, 'container'));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/\[FAIL\] cpu steal/);
    expect(r.stdout).toMatch(/-> the hypervisor is overcommitted/);
    expect(r.stdout).toMatch(/\d+ ok, \d+ warn, 1 fail\n$/);
    const bad = await doctor(['--frobnicate'], join(FIXTURES, 'kvm'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown argument');
    expect((await doctor(['--want-rcvbuf', 'lots'], join(FIXTURES, 'kvm'))).code).toBe(2);
  });
});

describe('netvigil doctor on this machine', () => {
  it('samples steal and stalls live and agrees with the kernel about virtualization', async () => {
    const r = await doctor(['--json', '--sample', '500ms']);
    const report = JSON.parse(r.stdout) as { checks: Check[] };
    const flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
    const virt = report.checks.find((c) => c.name === 'virtualization')!;
    if (/\bhypervisor\b/.test(flags)) expect(virt.detail).toMatch(/guest/);
    else expect(virt.detail).toMatch(/no hypervisor/);
    expect(report.checks.find((c) => c.name === 'stalls')?.detail).toMatch(/over 500 ms/);
    expect(report.checks.find((c) => c.name === 'cpu steal')?.detail).toMatch(/over 500 ms/);
    expect(r.code).toBe(report.checks.some((c) => c.status === 'fail') ? 1 : 0);
    for (const c of report.checks) expect(['ok', 'warn', 'fail']).toContain(c.status);
  });

  it('says "unsynced", not "unknown", when no daemon runs and the kernel (adjtimex) says unsynchronised', async () => {
    const daemons = runningSyncDaemons(new HostFs('/'));
    const kernel = await kernelSyncState(2000);
    const sync = await readSyncState(new HostFs('/'), { timeoutMs: 2000 });
    const r = await doctor(['--json', '--sample', '0']);
    const line = (JSON.parse(r.stdout) as { checks: Check[] }).checks.find((c) => c.name === 'time sync');
    if (sync.source === 'chrony' || sync.source === 'timesyncd') return; // a daemon answered: its own verdict stands
    if (daemons.length === 0 && kernel?.synced === false) {
      expect(sync).toMatchObject({ source: 'none', synced: false });
      expect(line).toMatchObject({ status: 'warn', detail: expect.stringMatching(/^unsynced: no time sync daemon running .*adjtimex/) });
    } else {
      expect(line?.detail).not.toMatch(/^unsynced/);
    }
  });

  it('refuses a --sample without a unit (2 would sample 2 ms), takes 0 and a unit', async () => {
    const bare = await doctor(['--json', '--sample', '2'], join(FIXTURES, 'container'));
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(/--sample needs a duration with a unit like 2s or 500ms .*got "2"/);
    expect((await doctor(['--json', '--sample', '0'], join(FIXTURES, 'container'))).code).not.toBe(2);
  });
});
