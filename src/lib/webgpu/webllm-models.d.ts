/** Emitted at build time by scripts/webllm-models-plugin.ts from the installed web-llm. */
declare module 'virtual:webllm-models' {
  export const webllmVersion: string;
  export const webllmModelList: import('./catalog').ModelRecordLike[];
}
