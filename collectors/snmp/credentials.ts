/**
 * SNMP credentials as written in YAML. Secrets use the key names `community`, `auth_key` and
 * `priv_key`, which src/log.ts redacts wherever they are logged. Shared with the trap receiver.
 */
import { z } from 'zod';

export const AUTH_PROTOCOLS = ['md5', 'sha', 'sha224', 'sha256', 'sha384', 'sha512'] as const;
/**
 * `aes` = `aes128` (RFC 3826). AES-256 is not standardised: `aes256b` is Net-SNMP's ("Blumenthal")
 * key localisation, `aes256r` Cisco's ("Reeder"). A wrong variant looks exactly like a timeout.
 */
export const PRIV_PROTOCOLS = ['des', 'aes', 'aes128', 'aes256b', 'aes256r'] as const;

export const v3UserSchema = z
  .strictObject({
    user: z.string().min(1),
    auth_protocol: z.enum(AUTH_PROTOCOLS).optional(),
    // RFC 3414 11.2: passwords shorter than 8 octets are not accepted by USM implementations.
    auth_key: z.string().min(8, 'auth_key must be at least 8 characters (RFC 3414 11.2)').optional(),
    priv_protocol: z.enum(PRIV_PROTOCOLS).optional(),
    priv_key: z.string().min(8, 'priv_key must be at least 8 characters (RFC 3414 11.2)').optional(),
  })
  .superRefine((u, ctx) => {
    if (u.auth_protocol && !u.auth_key) ctx.addIssue({ code: 'custom', path: ['auth_key'], message: 'auth_protocol needs auth_key' });
    if (u.auth_key && !u.auth_protocol) ctx.addIssue({ code: 'custom', path: ['auth_protocol'], message: 'auth_key needs auth_protocol' });
    if (u.priv_protocol && !u.priv_key) ctx.addIssue({ code: 'custom', path: ['priv_key'], message: 'priv_protocol needs priv_key' });
    if (u.priv_protocol && !u.auth_protocol) ctx.addIssue({ code: 'custom', path: ['auth_protocol'], message: 'privacy without authentication is not allowed (RFC 3414 3.1.1)' });
  });
export type V3User = z.output<typeof v3UserSchema>;

/** A credentials block in the inventory: the version decides which keys apply. */
export const credentialsSchema = z.strictObject({
  community: z.string().min(1).optional(),
  user: z.string().min(1).optional(),
  auth_protocol: z.enum(AUTH_PROTOCOLS).optional(),
  auth_key: z.string().optional(),
  priv_protocol: z.enum(PRIV_PROTOCOLS).optional(),
  priv_key: z.string().optional(),
  context: z.string().optional(),
});
export type CredentialsInput = z.output<typeof credentialsSchema>;

export type Credentials =
  | { version: 'v1' | 'v2c'; community: string }
  | ({ version: 'v3'; context?: string } & V3User);

/** Checks a merged credentials block against the effective version; returns problems by key. */
export function resolveCredentials(
  version: 'v1' | 'v2c' | 'v3',
  c: CredentialsInput | undefined,
): { ok: true; value: Credentials } | { ok: false; problems: { key: string; message: string }[] } {
  if (version !== 'v3') {
    if (!c?.community) return { ok: false, problems: [{ key: 'community', message: `SNMP ${version} needs credentials.community` }] };
    const extra = (['user', 'auth_protocol', 'auth_key', 'priv_protocol', 'priv_key'] as const).filter((k) => c[k] !== undefined);
    if (extra.length) return { ok: false, problems: extra.map((k) => ({ key: k, message: `${k} applies to SNMPv3 only` })) };
    return { ok: true, value: { version, community: c.community } };
  }
  const parsed = v3UserSchema.safeParse({
    user: c?.user,
    auth_protocol: c?.auth_protocol,
    auth_key: c?.auth_key,
    priv_protocol: c?.priv_protocol,
    priv_key: c?.priv_key,
  });
  if (!parsed.success) {
    return { ok: false, problems: parsed.error.issues.map((i) => ({ key: String(i.path[0] ?? 'user'), message: i.path.length ? i.message : `SNMPv3 needs credentials.user` })) };
  }
  const value: Credentials = { version: 'v3', ...parsed.data };
  if (c?.context !== undefined) value.context = c.context;
  return { ok: true, value };
}
