/**
 * Build step: web-llm's prebuilt model list as a small module, `virtual:webllm-models`.
 *
 * The page needs the list to show the GPU catalog, but web-llm itself is a 6 MB bundle that only
 * the worker should load, and only when a web-llm model is loaded. So at build (and dev) time
 * this plugin imports the installed `@mlc-ai/web-llm` in Node, keeps the records of the families
 * the catalog offers (model type 0, a known quantisation suffix) and only the fields the app
 * reads, and emits them as a JSON literal. Nothing is copied by hand: upgrading web-llm changes
 * the list at the next build. The records keep web-llm's own field names (`ModelRecordLike`).
 */
import { createRequire } from 'node:module';
import type { Plugin } from 'vite';
import { COMPRESSOR_FAMILIES, parseModelId, type ModelRecordLike } from '../src/lib/webgpu/catalog.ts';

export const WEBLLM_MODELS_ID = 'virtual:webllm-models';
const RESOLVED_ID = `\0${WEBLLM_MODELS_ID}`;

/** The records the catalog and the cache listing use, trimmed to the fields they read. */
export function pickModelRecords(list: readonly ModelRecordLike[]): ModelRecordLike[] {
  const families = new Set(COMPRESSOR_FAMILIES.map((f) => f.family));
  const out: ModelRecordLike[] = [];
  for (const r of list) {
    const parsed = parseModelId(r.model_id);
    if (!parsed || !families.has(parsed.family) || (r.model_type ?? 0) !== 0) continue;
    const rec: ModelRecordLike = { model: r.model, model_id: r.model_id, model_lib: r.model_lib };
    if (typeof r.vram_required_MB === 'number') rec.vram_required_MB = r.vram_required_MB;
    if (typeof r.low_resource_required === 'boolean') rec.low_resource_required = r.low_resource_required;
    if (Array.isArray(r.required_features)) rec.required_features = r.required_features;
    if (typeof r.model_type === 'number') rec.model_type = r.model_type;
    if (typeof r.model_manifest === 'string') rec.model_manifest = r.model_manifest;
    if (typeof r.overrides?.context_window_size === 'number') rec.overrides = { context_window_size: r.overrides.context_window_size };
    out.push(rec);
  }
  return out;
}

/** The installed web-llm's version (from its package.json). */
function installedVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('@mlc-ai/web-llm/package.json') as { version: string }).version;
}

export async function webllmModelsModuleSource(): Promise<string> {
  const webllm = await import('@mlc-ai/web-llm');
  const records = pickModelRecords(webllm.prebuiltAppConfig.model_list);
  if (records.length === 0) throw new Error('web-llm prebuilt model list has none of the catalog families: check COMPRESSOR_FAMILIES against the installed web-llm.');
  return [
    `export const webllmVersion = ${JSON.stringify(installedVersion())};`,
    `export const webllmModelList = ${JSON.stringify(records)};`,
    '',
  ].join('\n');
}

export function webllmModels(): Plugin {
  let source: Promise<string> | null = null;
  return {
    name: 'precis-webllm-models',
    resolveId(id) {
      return id === WEBLLM_MODELS_ID ? RESOLVED_ID : null;
    },
    load(id) {
      if (id !== RESOLVED_ID) return null;
      source ??= webllmModelsModuleSource();
      return source;
    },
  };
}
