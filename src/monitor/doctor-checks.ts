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

/** One report line; advice is only for warn/fail lines that have something to do. */
function c(name: string, status: CheckStatus, detail: string, advice?: string): Check {
  return advice ? { name, status, detail, advice } : { name, status, detail };
}

function virtualization(v: Virtualization): Check[] {
  const out: Check[] = [];
  if (v.vm) {
    const kind = v.vm.kind.replace(/^kvm/, 'KVM');
    out.push(c('virtualization', 'ok', `${kind} guest (${v.vm.evidence.join(', ')})`, 'keep the monitor on: every record carries vm_verdict'));
  } else {
    out.push(c('virtualization', 'ok', `no hypervisor detected (bare metal${v.machine ? `: ${v.machine}` : ''})`));
  }
  if (v.container) {
    const what = `${v.container.kind} (${v.container.evidence.join(', ')})`;
    out.push(c('container', 'ok', what, "sysctls and NIC below may be the host's: check them there too"));
  } else if (v.ignored) {
    out.push(c('container', 'ok', `none (ignored ${v.ignored.join('; ')})`));
  }
  return out;
}

function cpus(i: DoctorInput): Check {
  const n = countCpus(i.fs.read('/proc/stat') ?? '');
  if (n === 0) return c('vcpus', 'warn', '/proc/stat unreadable', 'mount /proc');
  if (n > 1) return c('vcpus', 'ok', `${n} vCPUs`);
  return c('vcpus', 'warn', '1 vCPU', 'give the VM 2+ vCPUs: with one, kernel packet processing and the collector take turns and bursts are dropped');
}

function clock(i: DoctorInput, inVm: boolean): Check[] {
  const cs = readClockSource(i.fs);
  const better = cs.available.find((x) => GOOD_CLOCKS.has(x));
  const out: Check[] = [];
  if (!cs.current) {
    out.push(c('clocksource', 'warn', 'clock source unknown (/sys/devices/system/clocksource missing)'));
  } else if (cs.current.includes('jiffies')) {
    out.push(c('clocksource', 'fail', `${cs.current}: tick-resolution clock`, `boot with clocksource=${better ?? 'tsc'}`));
  } else if (GOOD_CLOCKS.has(cs.current)) {
    out.push(c('clocksource', 'ok', `${cs.current} (available: ${cs.available.join(' ')})`));
  } else {
    const fix = better
      ? `echo ${better} > /sys/devices/system/clocksource/clocksource0/current_clocksource (and clocksource=${better} on the kernel command line)`
      : 'enable kvm-clock or a stable tsc on the hypervisor';
    out.push(c('clocksource', 'warn', `${cs.current}: slow to read and prone to drift`, fix));
  }
  const s = i.sync;
  if (s.synced === true) out.push(c('time sync', 'ok', s.detail));
  else if (s.source === 'none') {
    // a guest clock fed by the hypervisor (kvm-clock) may be close, but nothing here checks it
    const fix = inVm ? 'run chrony (with the hypervisor PTP clock /dev/ptp_kvm as a refclock if offered, else NTP servers)' : 'run chrony or systemd-timesyncd';
    out.push(c('time sync', 'warn', `unsynced: ${s.detail}`, fix));
  } else if (s.synced === false && (s.source === 'kernel' || s.source === 'ptp')) {
    out.push(c('time sync', 'warn', s.detail, 'check what should discipline this clock: the kernel still calls it unsynchronised'));
  } else if (s.synced === false) out.push(c('time sync', 'fail', s.detail, 'fix NTP (chronyc sources -v): every timestamp this host writes is off'));
  else {
    const fix = inVm
      ? 'run chrony (with the hypervisor PTP clock /dev/ptp_kvm as a refclock if offered) or make sure the host syncs this guest'
      : 'run chrony or systemd-timesyncd';
    out.push(c('time sync', 'warn', `unknown: ${s.detail}`, fix));
  }
  return out;
}

function contention(i: DoctorInput): Check[] {
  const out: Check[] = [];
  const boot = parseProcStat(i.fs.read('/proc/stat') ?? '');
  const bootSteal = boot && boot.total > 0 ? (boot.steal / boot.total) * 100 : undefined;
  const sampled = i.sample?.stealPct;
  const parts: string[] = [];
  if (bootSteal !== undefined) parts.push(`${bootSteal.toFixed(2)}% since boot`);
  if (sampled !== undefined) parts.push(`${sampled.toFixed(2)}% over ${i.sample?.ms} ms`);
  if (parts.length === 0) out.push(c('cpu steal', 'warn', 'not measurable (/proc/stat unreadable)'));
  else {
    const st = level(Math.max(bootSteal ?? 0, sampled ?? 0), i.steal);
    out.push(c('cpu steal', st, parts.join(', '), st === 'ok' ? undefined : 'the hypervisor is overcommitted: ask for dedicated/pinned vCPUs or move the VM'));
  }
  if (i.sample) {
    const stall = Math.max(i.sample.loopMaxMs, i.sample.timerLateMs);
    const st = level(stall, i.stall);
    const detail = `longest event-loop stall ${stall.toFixed(1)} ms over ${i.sample.ms} ms`;
    out.push(c('stalls', st, detail, st === 'ok' ? undefined : 'the VM was descheduled or paused: check host load, ballooning and live migration'));
  }
  const missing = ['cpu', 'memory', 'io'].filter((r) => parsePressure(i.fs.read(`/proc/pressure/${r}`) ?? '') === undefined);
  if (missing.length === 0) out.push(c('pressure (PSI)', 'ok', 'cpu, memory and io pressure available'));
  else out.push(c('pressure (PSI)', 'warn', `missing: ${missing.join(', ')}`, 'boot a kernel with CONFIG_PSI and psi=1: the monitor loses stall signals without it'));
  return out;
}

function rcvbuf(i: DoctorInput): Check {
  const max = i.fs.readNumber('/proc/sys/net/core/rmem_max');
  const want = fmtBytes(i.wantRcvbuf);
  if (max === undefined) return c('rcvbuf', 'warn', 'net.core.rmem_max unreadable', `make sure sockets can get ${want} of receive buffer`);
  if (max >= i.wantRcvbuf) return c('rcvbuf', 'ok', `net.core.rmem_max ${fmtBytes(max)} >= ${want} wanted`);
  return c(
    'rcvbuf',
    'warn',
    `net.core.rmem_max ${fmtBytes(max)} < ${want} the collectors want: bursts overflow and the kernel drops`,
    `sysctl -w net.core.rmem_max=${i.wantRcvbuf} and persist it in /etc/sysctl.d/90-netvigil.conf`,
  );
}

function swap(i: DoctorInput): Check {
  const text = i.fs.read('/proc/swaps');
  if (text === undefined) return c('swap', 'warn', '/proc/swaps unreadable');
  const devs = text
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter(Boolean);
  if (devs.length === 0) return c('swap', 'ok', 'no swap configured');
  return c('swap', 'warn', `swap on ${devs.join(', ')}: a swapped-out collector stalls and drops`, 'sysctl vm.swappiness=1 (or swapoff) and size memory for the collector');
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
    if (PARAVIRT_NICS.has(drv)) out.push(c(name, 'ok', `${drv} (paravirtual)`));
    else if (inVm && EMULATED_NICS.has(drv)) out.push(c(name, 'warn', `${drv} (emulated NIC: every packet costs a VM exit)`, 'switch the VM to virtio-net (or SR-IOV passthrough)'));
    else if (VF_NICS.has(drv)) out.push(c(name, 'ok', `${drv} (SR-IOV VF or passed-through NIC)`));
    else out.push(c(name, 'ok', `${drv} (physical or passed-through)`));
  }
  if (out.length === 0) out.push(c('nic', 'ok', `only virtual interfaces visible (${virtual.join(', ') || 'none'}): check the host's NIC driver`));
  return out;
}

function cgroups(i: DoctorInput): Check {
  const p = locateCgroup(i.fs);
  if (!p) return c('cgroup limits', 'ok', 'no cgroup information');
  const g = readCgroup(i.fs, p);
  const parts = [`cgroup v${p.version}`];
  const problems: string[] = [];
  if (g.cpuQuota !== undefined) {
    parts.push(`cpu quota ${+g.cpuQuota.toFixed(2)} CPU`);
    if (g.cpuQuota < 1) problems.push('raise the CPU quota to at least 1 CPU: throttling shows up as stalls and drops');
  } else parts.push('no cpu quota');
  if (g.nrThrottled !== undefined && g.nrPeriods) {
    parts.push(`throttled in ${g.nrThrottled}/${g.nrPeriods} periods`);
    if (g.nrThrottled / g.nrPeriods > 0.01) problems.push('the CPU quota is being hit: raise it');
  }
  if (g.memoryLimit !== undefined) {
    parts.push(`memory limit ${fmtBytes(g.memoryLimit)}`);
    if (g.memoryLimit < 256 * MiB) problems.push('raise the memory limit to 256 MiB or more');
  } else parts.push('no memory limit');
  return c('cgroup limits', problems.length ? 'warn' : 'ok', parts.join(', '), problems.join('; '));
}

/** Every check, in report order. Pure over the injected filesystem and the sample. */
export function runChecks(i: DoctorInput): Check[] {
  const v = detectVirtualization(i.fs, i.env);
  const inVm = v.vm !== undefined;
  return [...virtualization(v), cpus(i), ...clock(i, inVm), ...contention(i), rcvbuf(i), swap(i), ...nics(i, inVm), cgroups(i)];
}
