/**
 * Secret references in config values, so examples never carry a secret inline:
 *   "${NAME}"        the environment variable NAME (also inside a longer string)
 *   "${NAME:-dflt}"  NAME, or dflt when unset or empty
 *   "file:/path"     the contents of a file (trailing newline trimmed), e.g. a Docker/Kubernetes secret
 */
import { readFileSync } from 'node:fs';

const ENV_RE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface RefProblem {
  path: PropertyKey[];
  message: string;
}

function resolveString(s: string, env: NodeJS.ProcessEnv, path: PropertyKey[], problems: RefProblem[]): string {
  if (s.startsWith('file:')) {
    const p = s.slice(5);
    try {
      return readFileSync(p, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      problems.push({ path, message: `cannot read secret file ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
      return s;
    }
  }
  if (!s.includes('${')) return s;
  return s.replace(ENV_RE, (_m, name: string, dflt: string | undefined) => {
    const v = env[name];
    if (v !== undefined && v !== '') return v;
    if (dflt !== undefined) return dflt;
    problems.push({ path, message: `environment variable ${name} is not set` });
    return '';
  });
}

/** Resolves references in place and returns the problems found (with their key paths). */
export function resolveRefs(root: Record<string, unknown> | unknown[], env: NodeJS.ProcessEnv, base: PropertyKey[] = []): RefProblem[] {
  const problems: RefProblem[] = [];
  const walk = (obj: Record<string, unknown> | unknown[], path: PropertyKey[]): void => {
    const keys: PropertyKey[] = Array.isArray(obj) ? obj.map((_, i) => i) : Object.keys(obj);
    for (const k of keys) {
      const v = (obj as Record<PropertyKey, unknown>)[k];
      const p = [...path, k];
      if (typeof v === 'string') (obj as Record<PropertyKey, unknown>)[k] = resolveString(v, env, p, problems);
      else if (v && typeof v === 'object') walk(v as Record<string, unknown>, p);
    }
  };
  walk(root, base);
  return problems;
}
