/**
 * web-llm's prebuilt model list, as emitted at build time (`virtual:webllm-models`, see
 * scripts/webllm-models-plugin.ts). A few kB in the page's own bundle instead of importing
 * web-llm (6 MB) on the main thread; importable from the worker too.
 */
import { webllmModelList, webllmVersion } from 'virtual:webllm-models';
import type { ModelRecordLike } from './catalog';

export { webllmVersion };

export function modelRecords(): readonly ModelRecordLike[] {
  return webllmModelList;
}

export function findModelRecord(modelId: string): ModelRecordLike | undefined {
  return webllmModelList.find((r) => r.model_id === modelId);
}
