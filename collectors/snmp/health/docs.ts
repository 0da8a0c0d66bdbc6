/**
 * The README's health-profile tables, generated from the profiles' own statements (types.ts) so
 * the documentation cannot drift from the code: collectors/snmp/health/docs.test.ts checks that
 * the README embeds exactly this text, and test/snmp-health.test.ts that every tag and field a
 * profile wrote from a recorded device is stated here.
 */
import { HEALTH_PROFILES } from './index.js';
import { PROFILE_GROUPS, STANDARD_HEALTH, VENDORS } from './select.js';

const cell = (s: string) => s.replace(/\|/g, '\\|');

/** Documented tag and field names per measurement (besides device, agent and inventory tags). */
export function documentedNames(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const p of Object.values(HEALTH_PROFILES)) {
    for (const d of p.doc) {
      const set = out.get(d.measurement) ?? new Set<string>();
      for (const x of [...d.tags, ...d.fields]) set.add(x.name);
      out.set(d.measurement, set);
    }
  }
  return out;
}

export function healthDocs(): string {
  const lines: string[] = [];
  lines.push('| profile | writes | what | needs from the device |', '|---|---|---|---|');
  for (const p of Object.values(HEALTH_PROFILES)) {
    const ms = [...new Set(p.doc.map((d) => `\`${d.measurement}\``))].join(', ');
    lines.push(`| \`${p.name}\` | ${ms} | ${cell(p.summary)} | ${cell(p.needs)} |`);
  }
  lines.push('', '`health` = ' + STANDARD_HEALTH.map((s) => `\`${s}\``).join(', ') + ' + the vendor\'s profiles:', '');
  lines.push('| vendor | sysObjectID prefix | profiles |', '|---|---|---|');
  for (const v of VENDORS) lines.push(`| \`${v.name}\` | ${v.prefixes.join(', ')} | ${v.profiles.map((n) => `\`${n}\``).join(', ')} |`);
  for (const [g, members] of Object.entries(PROFILE_GROUPS)) lines.push('', `\`${g}\` = ${members.map((m) => `\`${m}\``).join(', ')}.`);
  const byMeasurement = new Map<string, string[]>();
  for (const p of Object.values(HEALTH_PROFILES)) {
    for (const d of p.doc) {
      const rows = byMeasurement.get(d.measurement) ?? [];
      for (const t of d.tags) rows.push(`| tag \`${t.name}\` | \`${p.name}\` | ${cell(t.source)} | |`);
      for (const f of d.fields) rows.push(`| \`${f.name}\` | \`${p.name}\` | ${cell(f.source)} | ${cell(f.unit)} |`);
      byMeasurement.set(d.measurement, rows);
    }
  }
  for (const [m, rows] of byMeasurement) {
    lines.push('', `#### \`${m}\``, '', '| tag / field | profile | source (OID) | unit |', '|---|---|---|---|', ...rows);
  }
  return lines.join('\n') + '\n';
}
