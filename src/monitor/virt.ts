import type { HostFs } from './hostfs.js';

export interface Detected {
  kind: string;
  evidence: string[];
}

export interface Virtualization {
  vm?: Detected;
  /** DMI vendor and product, when the firmware tables exist. */
  machine?: string;
  container?: Detected;
}

/** DMI vendor/product strings hypervisors put in the guest's firmware tables. */
const DMI_PATTERNS: ReadonlyArray<[RegExp, string]> = [
  [/\bKVM\b|QEMU|OpenStack|Standard PC \((i440FX|Q35)/i, 'kvm'],
  [/Amazon EC2/i, 'kvm (AWS Nitro)'],
  [/Google Compute Engine|^Google$/i, 'kvm (Google Compute Engine)'],
  [/VMware/i, 'vmware'],
  [/Microsoft Corporation|Virtual Machine/i, 'hyper-v'],
  [/\bXen\b/i, 'xen'],
  [/innotek|VirtualBox/i, 'virtualbox'],
  [/Parallels/i, 'parallels'],
  [/Bochs/i, 'bochs'],
];

/** Paravirtual clock sources only a given hypervisor offers. */
const CLOCKSOURCE_HINTS: Readonly<Record<string, string>> = {
  'kvm-clock': 'kvm',
  xen: 'xen',
  hyperv_clocksource_tsc_page: 'hyper-v',
  hyperv_clocksource_msr: 'hyper-v',
};

const CONTAINER_CGROUP = /(docker|kubepods|containerd|libpod|lxc|crio|garden)/;

/**
 * Which hypervisor and which container runtime we run under, each with the evidence that said so.
 * Several sources are combined because each can be missing: microVMs (Firecracker) have no DMI
 * tables, and containers with a cgroup namespace show `/` in /proc/1/cgroup.
 */
export function detectVirtualization(fs: HostFs, env: Readonly<Record<string, string | undefined>>): Virtualization {
  const out: Virtualization = {};
  const vmEvidence: string[] = [];
  let vmKind: string | undefined;
  for (const file of ['sys_vendor', 'product_name', 'board_vendor', 'bios_vendor']) {
    const v = fs.readLine(`/sys/class/dmi/id/${file}`);
    if (!v) continue;
    const hit = DMI_PATTERNS.find(([re]) => re.test(v));
    if (hit) {
      vmKind ??= hit[1];
      vmEvidence.push(`dmi ${file}="${v}"`);
    }
  }
  const cpuinfo = fs.read('/proc/cpuinfo') ?? '';
  const flagsLine = /^flags\s*:(.*)$/m.exec(cpuinfo)?.[1] ?? '';
  if (/\bhypervisor\b/.test(flagsLine)) vmEvidence.push('cpu flag "hypervisor"');
  const xenType = fs.readLine('/sys/hypervisor/type');
  if (xenType) {
    vmKind ??= xenType;
    vmEvidence.push(`/sys/hypervisor/type=${xenType}`);
  }
  const clocks = (fs.readLine('/sys/devices/system/clocksource/clocksource0/available_clocksource') ?? '').split(/\s+/);
  for (const c of clocks) {
    const k = CLOCKSOURCE_HINTS[c];
    if (!k) continue;
    vmKind ??= k;
    vmEvidence.push(`clocksource ${c} offered`);
  }
  const dmi = ['sys_vendor', 'product_name'].map((f) => fs.readLine(`/sys/class/dmi/id/${f}`)).filter(Boolean);
  if (dmi.length > 0) out.machine = dmi.join(' ');
  // KVM without firmware tables is a microVM (Firecracker, cloud-hypervisor): worth saying.
  if (vmEvidence.length > 0 && dmi.length === 0 && !fs.exists('/sys/class/dmi/id')) vmEvidence.push('no DMI tables (microVM)');
  if (vmEvidence.length > 0) out.vm = { kind: vmKind ?? 'unknown hypervisor', evidence: vmEvidence };

  const cEvidence: string[] = [];
  let cKind: string | undefined;
  if (fs.exists('/.dockerenv')) {
    cKind = 'docker';
    cEvidence.push('/.dockerenv');
  }
  if (fs.exists('/run/.containerenv')) {
    cKind ??= 'podman';
    cEvidence.push('/run/.containerenv');
  }
  if (env.container) {
    cKind ??= env.container;
    cEvidence.push(`env container=${env.container}`);
  }
  if (env.KUBERNETES_SERVICE_HOST) {
    cKind = 'kubernetes';
    cEvidence.push('env KUBERNETES_SERVICE_HOST');
  }
  const pid1 = fs.read('/proc/1/cgroup') ?? '';
  const m = CONTAINER_CGROUP.exec(pid1);
  if (m) {
    cKind ??= m[1] === 'kubepods' ? 'kubernetes' : m[1];
    cEvidence.push(`/proc/1/cgroup mentions ${m[1]}`);
  }
  if (cEvidence.length > 0) out.container = { kind: cKind ?? 'container', evidence: cEvidence };
  return out;
}
