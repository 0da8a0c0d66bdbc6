/**
 * The collector's state in its data directory: templates (so data decodes right after a restart)
 * and what options data taught (so flows are scaled by the right sampling rate before the exporter
 * resends its options). Written with an atomic rename, so a crash mid-write keeps the last file.
 */
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { OptionsState } from '../netflow/options.js';
import type { TemplateStore } from '../netflow/templates.js';

export const TEMPLATE_FILE = 'templates.json';
export const OPTIONS_FILE = 'options.json';

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Loads both files; a missing file is not an error, a corrupt one throws (the caller reports it). */
export function loadState(dir: string, store: TemplateStore, options: OptionsState, now: number): { templates: number; options: number } {
  const t = readJson(join(dir, TEMPLATE_FILE));
  const o = readJson(join(dir, OPTIONS_FILE));
  return { templates: t === undefined ? 0 : store.load(t, now), options: o === undefined ? 0 : options.load(o) };
}

async function writeAtomic(file: string, data: unknown): Promise<void> {
  await writeFile(`${file}.tmp`, JSON.stringify(data));
  await rename(`${file}.tmp`, file);
}

/** Writes whichever of the two changed since the last save. */
export async function saveState(dir: string, store: TemplateStore, options: OptionsState): Promise<void> {
  if (store.dirty) await writeAtomic(join(dir, TEMPLATE_FILE), store.serialize());
  if (options.dirty) await writeAtomic(join(dir, OPTIONS_FILE), options.serialize());
}
