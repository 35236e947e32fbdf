import { describe, expect, it } from 'vitest';
import type { ModelInfo } from '../core/engine';
import { EngineStore } from './engine.svelte';

describe('EngineStore.noteFailure', () => {
  it('a lost device ends the ready state with the named error; other failures leave it ready', () => {
    const store = new EngineStore();
    store.state = 'ready';
    store.info = { id: 'M', engine: 'webllm', promptStyle: 'chat', contextWindowTokens: 4096, vocabSize: 10, bosId: null, stopIds: [] };
    store.noteFailure(Object.assign(new Error('cancelled'), { name: 'InterruptedError' }));
    expect(store.state).toBe('ready');
    store.noteFailure(Object.assign(new Error('The GPU dropped M: the GPU device was lost.'), { name: 'DeviceLostError' }));
    expect(store.state).toBe('error');
    expect(store.errorName).toBe('DeviceLostError');
    expect(store.message).toMatch(/GPU dropped M/);
    expect(store.info).toBeNull();
  });
});

describe('windowText', () => {
  it('gives the window, or says a server did not report one', async () => {
    const { windowText } = await import('./engine.svelte');
    const info: ModelInfo = { id: 'M', engine: 'server', promptStyle: 'plain', contextWindowTokens: 2048, vocabSize: 0, bosId: null, stopIds: [] };
    expect(windowText(info)).toBe('window 2048 tokens');
    expect(windowText({ ...info, contextWindowTokens: 1 << 30, windowUnknown: true })).toBe('window not reported: the server checks lengths itself');
  });

  it('names a scoring form that is slower or unusual, and nothing for the usual one', async () => {
    const { serverScoringText } = await import('./engine.svelte');
    const info: ModelInfo = { id: 'M', engine: 'server', promptStyle: 'plain', contextWindowTokens: 2048, vocabSize: 0, bosId: null, stopIds: [] };
    expect(serverScoringText(info)).toBe('');
    expect(serverScoringText({ ...info, serverScoring: { mode: 'echo', sequencesPerRequest: 16 } })).toBe('');
    expect(serverScoringText({ ...info, serverScoring: { mode: 'prompt_logprobs', sequencesPerRequest: 1 } })).toBe(
      '; scores with prompt_logprobs (it refused echo); one sequence per request (it takes no list requests, so scoring is slower)',
    );
  });
});
