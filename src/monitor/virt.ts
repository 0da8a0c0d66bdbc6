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
  /** Container markers that were present but not believed, with why (a stale /.dockerenv). */
  ignored?: string[];
}

/**
 * OEM IDs (bytes 10-15 of every ACPI table header, ACPI 6.5 §5.2.6) hypervisors write. Firecracker
 * has no DMI tables at all, but its ACPI tables say FIRECK (table IDs FCVM....).
 */
const ACPI_OEMS: ReadonlyArray<[RegExp, string]> = [
  [/^FIRECK/, 'firecracker'],
  [/^CLOUDH/, 'cloud-hypervisor'],
  [/^BOCHS/, 'kvm (QEMU)'],
  [/^AMAZON/, 'kvm (AWS Nitro)'],
  [/^Google/, 'kvm (Google Compute Engine)'],
  [/^VRTUAL/, 'hyper-v'],
  [/^VMWARE/, 'vmware'],
  [/^VBOX/, 'virtualbox'],
  [/^Xen/, 'xen'],
];

/** Root filesystems container engines mount (overlay2, aufs, rootless podman). */
const CONTAINER_ROOT_FS = new Set(['overlay', 'aufs', 'fuse-overlayfs']);
/** Engines bind-mount these files from their own state directories into every container. */
const ENGINE_BIND = /^\S+ \S+ \S+ (\S*(?:docker|containers|kubelet|libpod|lxc)\S*) \/etc\/(?:hostname|hosts|resolv\.conf) /m;

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
  for (const table of ['DSDT', 'FACP', 'APIC']) {
    const head = fs.read(`/sys/firmware/acpi/tables/${table}`, 'latin1')?.slice(10, 16);
    if (!head) continue;
    const hit = ACPI_OEMS.find(([re]) => re.test(head));
    if (hit) {
      vmKind ??= hit[1];
      vmEvidence.push(`acpi ${table} oem "${head.trim()}"`);
    }
    break;
  }
  if (/\bvirtio_mmio\.device=/.test(fs.read('/proc/cmdline') ?? '')) vmEvidence.push('virtio-mmio devices on the kernel command line');
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
  // /.dockerenv stays behind in images turned into VM disks (this is how a Firecracker rootfs is
  // often built): only believed when something else says container too
  const dockerenv = fs.exists('/.dockerenv');
  const corroborating: string[] = [];
  const mounts = fs.read('/proc/mounts') ?? '';
  const rootFs = [...mounts.matchAll(/^\S+ \/ (\S+) /gm)].at(-1)?.[1];
  if (rootFs && CONTAINER_ROOT_FS.has(rootFs)) corroborating.push(`root filesystem ${rootFs}`);
  const bind = ENGINE_BIND.exec(fs.read('/proc/self/mountinfo') ?? '');
  if (bind) corroborating.push(`/etc files bind-mounted from ${bind[1]}`);
  const pid1Env = /(?:^|\0)container=([^\0]+)/.exec(fs.read('/proc/1/environ') ?? '');
  if (pid1Env) corroborating.push(`pid 1 env container=${pid1Env[1]}`);
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
  if (dockerenv) {
    if (cEvidence.length > 0 || corroborating.length > 0) {
      cKind = env.KUBERNETES_SERVICE_HOST ? 'kubernetes' : 'docker';
      cEvidence.unshift('/.dockerenv');
    } else {
      out.ignored = [`/.dockerenv without any other container sign (root filesystem ${rootFs ?? 'unknown'}, /proc/1/cgroup ${pid1 ? 'without an engine path' : 'unreadable'})`];
    }
  }
  if (cEvidence.length > 0 || (dockerenv && corroborating.length > 0)) {
    cEvidence.push(...corroborating);
    out.container = { kind: cKind ?? pid1Env?.[1] ?? 'container', evidence: cEvidence };
  }
  return out;
}
