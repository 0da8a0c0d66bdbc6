import type { HostFs } from './hostfs.js';
import { locateCgroup, readCgroup } from './cgroup.js';
import { countCpus, parsePressure, parseProcStat } from './procfs.js';
import type { SyncState } from './timesync.js';
import { readClockSource } from './timesync.js';
import { detectVirtualization, type Virtualization } from './virt.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do about a warn or fail. */
  advice?: string;
}

/** What the short live sample measured (steal and stalls over `--sample`). */
export interface SampleResult {
  ms: number;
  stealPct?: number;
  loopMaxMs: number;
  timerLateMs: number;
}

export interface DoctorInput {
  fs: HostFs;
  env: Readonly<Record<string, string | undefined>>;
  wantRcvbuf: number;
  sync: SyncState;
  sample?: SampleResult;
  /** Same levels as the monitor's thresholds so doctor and verdict agree. */
  steal: { warn: number; fail: number };
  stall: { warn: number; fail: number };
}

const MiB = 1024 * 1024;
const fmtBytes = (n: number): string => (n >= MiB ? `${+(n / MiB).toFixed(1)} MiB` : `${+(n / 1024).toFixed(1)} KiB`);
const level = (v: number, l: { warn: number; fail: number }): CheckStatus => (v > l.fail ? 'fail' : v > l.warn ? 'warn' : 'ok');

const GOOD_CLOCKS = new Set(['tsc', 'kvm-clock', 'arch_sys_counter', 'hyperv_clocksource_tsc_page', 'xen', 'timebase']);
const PARAVIRT_NICS = new Set(['virtio_net', 'virtio-pci', 'vmxnet3', 'hv_netvsc', 'ena', 'gve', 'xen-netfront', 'vif']);
const EMULATED_NICS = new Set(['e1000', 'e1000e', '8139cp', '8139too', 'ne2k-pci', 'pcnet32', 'tulip']);
const VF_NICS = new Set(['ixgbevf', 'iavf', 'i40evf', 'mlx5_core', 'mlx4_core', 'bnxt_en', 'ice', 'igbvf']);

function virtualization(v: Virtualization): Check[] {
  const out: Check[] = [];
  out.push(
    v.vm
      ? { name: 'virtualization', status: 'ok', detail: `${v.vm.kind.replace(/^kvm/, 'KVM')} guest (${v.vm.evidence.join(', ')})`, advice: 'keep the monitor on: every record carries vm_verdict' }
      : { name: 'virtualization', status: 'ok', detail: `no hypervisor detected (bare metal${v.machine ? `: ${v.machine}` : ''})` },
  );
  if (v.container) {
    out.push({ name: 'container', status: 'ok', detail: `${v.container.kind} (${v.container.evidence.join(', ')})`, advice: 'sysctls and NIC below may be the host\'s: check them there too' });
  }
  return out;
}

function cpus(i: DoctorInput): Check {
  const n = countCpus(i.fs.read('/proc/stat') ?? '');
  if (n === 0) return { name: 'vcpus', status: 'warn', detail: '/proc/stat unreadable', advice: 'mount /proc' };
  if (n === 1) return { name: 'vcpus', status: 'warn', detail: '1 vCPU', advice: 'give the VM 2+ vCPUs: with one, kernel packet processing and the collector take turns and bursts are dropped' };
  return { name: 'vcpus', status: 'ok', detail: `${n} vCPUs` };
}

function clock(i: DoctorInput, inVm: boolean): Check[] {
  const cs = readClockSource(i.fs);
  const out: Check[] = [];
  if (!cs.current) out.push({ name: 'clocksource', status: 'warn', detail: 'clock source unknown (/sys/devices/system/clocksource missing)' });
  else if (cs.current.includes('jiffies')) out.push({ name: 'clocksource', status: 'fail', detail: `${cs.current}: tick-resolution clock`, advice: `boot with clocksource=${cs.available.find((c) => GOOD_CLOCKS.has(c)) ?? 'tsc'}` });
  else if (GOOD_CLOCKS.has(cs.current)) out.push({ name: 'clocksource', status: 'ok', detail: `${cs.current} (available: ${cs.available.join(' ')})` });
  else {
    const better = cs.available.find((c) => GOOD_CLOCKS.has(c));
    out.push({ name: 'clocksource', status: 'warn', detail: `${cs.current}: slow to read and prone to drift`, advice: better ? `echo ${better} > /sys/devices/system/clocksource/clocksource0/current_clocksource (and clocksource=${better} on the kernel command line)` : 'enable kvm-clock or a stable tsc on the hypervisor' });
  }
  const s = i.sync;
  if (s.synced === true) out.push({ name: 'time sync', status: 'ok', detail: s.detail });
  else if (s.synced === false) out.push({ name: 'time sync', status: 'fail', detail: s.detail, advice: 'fix NTP (chronyc sources -v): every timestamp this host writes is off' });
  else out.push({ name: 'time sync', status: 'warn', detail: `unknown: ${s.detail}`, advice: inVm ? 'run chrony (with the hypervisor PTP clock /dev/ptp_kvm as a refclock if offered) or make sure the host syncs this guest' : 'run chrony or systemd-timesyncd' });
  return out;
}

function contention(i: DoctorInput): Check[] {
  const out: Check[] = [];
  const boot = parseProcStat(i.fs.read('/proc/stat') ?? '');
  const bootSteal = boot && boot.total > 0 ? (boot.steal / boot.total) * 100 : undefined;
  const sampled = i.sample?.stealPct;
  const worst = Math.max(bootSteal ?? 0, sampled ?? 0);
  const parts = [bootSteal === undefined ? undefined : `${bootSteal.toFixed(2)}% since boot`, sampled === undefined ? undefined : `${sampled.toFixed(2)}% over ${i.sample?.ms} ms`].filter(Boolean);
  out.push(
    parts.length === 0
      ? { name: 'cpu steal', status: 'warn', detail: 'not measurable (/proc/stat unreadable)' }
      : { name: 'cpu steal', status: level(worst, i.steal), detail: parts.join(', '), advice: worst > i.steal.warn ? 'the hypervisor is overcommitted: ask for dedicated/pinned vCPUs or move the VM' : undefined },
  );
  if (i.sample) {
    const stall = Math.max(i.sample.loopMaxMs, i.sample.timerLateMs);
    out.push({ name: 'stalls', status: level(stall, i.stall), detail: `longest event-loop stall ${stall.toFixed(1)} ms over ${i.sample.ms} ms`, advice: stall > i.stall.warn ? 'the VM was descheduled or paused: check host load, ballooning and live migration' : undefined });
  }
  const psi = ['cpu', 'memory', 'io'].map((r) => [r, i.fs.read(`/proc/pressure/${r}`)] as const);
  const missing = psi.filter(([, t]) => t === undefined || parsePressure(t) === undefined).map(([r]) => r);
  out.push(
    missing.length === 0
      ? { name: 'pressure (PSI)', status: 'ok', detail: 'cpu, memory and io pressure available' }
      : { name: 'pressure (PSI)', status: 'warn', detail: `missing: ${missing.join(', ')}`, advice: 'boot a kernel with CONFIG_PSI and psi=1: the monitor loses stall signals without it' },
  );
  return out;
}

function rcvbuf(i: DoctorInput): Check {
  const max = i.fs.readNumber('/proc/sys/net/core/rmem_max');
  if (max === undefined) return { name: 'rcvbuf', status: 'warn', detail: 'net.core.rmem_max unreadable', advice: `make sure sockets can get ${fmtBytes(i.wantRcvbuf)} of receive buffer` };
  if (max >= i.wantRcvbuf) return { name: 'rcvbuf', status: 'ok', detail: `net.core.rmem_max ${fmtBytes(max)} >= ${fmtBytes(i.wantRcvbuf)} wanted` };
  return { name: 'rcvbuf', status: 'warn', detail: `net.core.rmem_max ${fmtBytes(max)} < ${fmtBytes(i.wantRcvbuf)} the collectors want: bursts overflow and the kernel drops`, advice: `sysctl -w net.core.rmem_max=${i.wantRcvbuf} and persist it in /etc/sysctl.d/90-netvigil.conf` };
}

function swap(i: DoctorInput): Check {
  const text = i.fs.read('/proc/swaps');
  if (text === undefined) return { name: 'swap', status: 'warn', detail: '/proc/swaps unreadable' };
  const devs = text.split('\n').slice(1).map((l) => l.trim()).filter(Boolean).map((l) => l.split(/\s+/)[0]);
  if (devs.length === 0) return { name: 'swap', status: 'ok', detail: 'no swap configured' };
  return { name: 'swap', status: 'warn', detail: `swap on ${devs.join(', ')}: a swapped-out collector stalls and drops`, advice: 'sysctl vm.swappiness=1 (or swapoff) and size memory for the collector' };
}

/** An e1000 in a VM is emulated (a VM exit per packet); on bare metal it is simply the NIC. */
function nics(i: DoctorInput, inVm: boolean): Check[] {
  const out: Check[] = [];
  const virtual: string[] = [];
  for (const ifname of i.fs.list('/sys/class/net')) {
    const link = i.fs.readLink(`/sys/class/net/${ifname}/device/driver`);
    if (!link) {
      virtual.push(ifname);
      continue;
    }
    const drv = link.slice(link.lastIndexOf('/') + 1);
    const name = `nic ${ifname}`;
    if (PARAVIRT_NICS.has(drv)) out.push({ name, status: 'ok', detail: `${drv} (paravirtual)` });
    else if (inVm && EMULATED_NICS.has(drv)) out.push({ name, status: 'warn', detail: `${drv} (emulated NIC: every packet costs a VM exit)`, advice: 'switch the VM to virtio-net (or SR-IOV passthrough)' });
    else if (VF_NICS.has(drv)) out.push({ name, status: 'ok', detail: `${drv} (SR-IOV VF or passed-through NIC)` });
    else out.push({ name, status: 'ok', detail: `${drv} (physical or passed-through)` });
  }
  if (out.length === 0) out.push({ name: 'nic', status: 'ok', detail: `only virtual interfaces visible (${virtual.join(', ') || 'none'}): check the host's NIC driver` });
  return out;
}

function cgroups(i: DoctorInput): Check {
  const p = locateCgroup(i.fs);
  if (!p) return { name: 'cgroup limits', status: 'ok', detail: 'no cgroup information' };
  const c = readCgroup(i.fs, p);
  const parts = [`cgroup v${p.version}`];
  const problems: string[] = [];
  if (c.cpuQuota !== undefined) {
    parts.push(`cpu quota ${+c.cpuQuota.toFixed(2)} CPU`);
    if (c.cpuQuota < 1) problems.push('raise the CPU quota to at least 1 CPU: throttling shows up as stalls and drops');
  } else parts.push('no cpu quota');
  if (c.nrThrottled !== undefined && c.nrPeriods) {
    parts.push(`throttled in ${c.nrThrottled}/${c.nrPeriods} periods`);
    if (c.nrThrottled / c.nrPeriods > 0.01) problems.push('the CPU quota is being hit: raise it');
  }
  if (c.memoryLimit !== undefined) {
    parts.push(`memory limit ${fmtBytes(c.memoryLimit)}`);
    if (c.memoryLimit < 256 * MiB) problems.push('raise the memory limit to 256 MiB or more');
  } else parts.push('no memory limit');
  return { name: 'cgroup limits', status: problems.length ? 'warn' : 'ok', detail: parts.join(', '), advice: problems.join('; ') || undefined };
}

/** Every check, in report order. Pure over the injected filesystem and the sample. */
export function runChecks(i: DoctorInput): Check[] {
  const v = detectVirtualization(i.fs, i.env);
  return [...virtualization(v), cpus(i), ...clock(i, v.vm !== undefined), ...contention(i), rcvbuf(i), swap(i), ...nics(i, v.vm !== undefined), cgroups(i)];
}
