/**
 * Dimensions derived from a flow's own keys through the enrichment tables, so flows can be summed
 * by them without their source dimension (by site without a series per address): the networks
 * file's name, site, role and tenant of src_addr and dst_addr, and the role of in_if and out_if
 * (enrich.interface_roles, via the interface directory). They fill FlowView dimension slots after the built-in
 * and mapped ones, so the aggregator treats them like mapped dimensions; only configured ones cost.
 */
import type { InterfaceDirectory, NetworkDirectory, NetworkInfo } from '../../src/collector.js';
import { setDim, type FlowView, type Key } from './view.js';

export const DERIVED_DIMENSIONS = ['src_net', 'src_site', 'src_role', 'src_tenant', 'dst_net', 'dst_site', 'dst_role', 'dst_tenant', 'in_role', 'out_role'] as const;
export type DerivedDimension = (typeof DERIVED_DIMENSIONS)[number];

const NET_ATTR: Readonly<Record<string, keyof NetworkInfo>> = { net: 'name', site: 'site', role: 'role', tenant: 'tenant' };

export const isDerived = (d: string): d is DerivedDimension => (DERIVED_DIMENSIONS as readonly string[]).includes(d);

/**
 * Fills the derived dimensions `dimensions` names into `k`, at slot `base` + their DERIVED_DIMENSIONS
 * index (`base`: after the built-in and mapped slots). Returns `k`; without derived dimensions, `k` as is.
 */
export function deriver(dimensions: readonly string[], base: number, ctx: { networks?: NetworkDirectory | undefined; interfaces: InterfaceDirectory }): (k: FlowView) => FlowView {
  const wanted = DERIVED_DIMENSIONS.map((d, i) => ({ d, slot: base + i })).filter(({ d }) => dimensions.includes(d));
  if (wanted.length === 0) return (k) => k;
  const nets = ctx.networks;
  const src = wanted.filter(({ d }) => d.startsWith('src_')).map(({ d, slot }) => ({ attr: NET_ATTR[d.slice(4)] as keyof NetworkInfo, slot }));
  const dst = wanted.filter(({ d }) => d.startsWith('dst_')).map(({ d, slot }) => ({ attr: NET_ATTR[d.slice(4)] as keyof NetworkInfo, slot }));
  const inSlot = wanted.find(({ d }) => d === 'in_role')?.slot ?? -1;
  const outSlot = wanted.find(({ d }) => d === 'out_role')?.slot ?? -1;
  const dirs = ctx.interfaces;
  const fill = (k: FlowView, at: readonly { attr: keyof NetworkInfo; slot: number }[], addr: Key): void => {
    const n = nets?.active ? nets.find(addr) : undefined;
    for (let j = 0; j < at.length; j++) {
      const a = at[j] as { attr: keyof NetworkInfo; slot: number };
      setDim(k, a.slot, n?.[a.attr] ?? '');
    }
  };
  const role = (exporter: Key, ifIndex: Key): string => (typeof ifIndex === 'number' ? (dirs.lookup(String(exporter), ifIndex)?.role ?? '') : '');
  return (k) => {
    if (src.length) fill(k, src, k.src);
    if (dst.length) fill(k, dst, k.dst);
    if (inSlot >= 0) setDim(k, inSlot, role(k.exporter, k.inIf));
    if (outSlot >= 0) setDim(k, outSlot, role(k.exporter, k.outIf));
    return k;
  };
}
