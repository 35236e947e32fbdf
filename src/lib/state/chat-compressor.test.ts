import { describe, expect, it } from 'vitest';
import type { ModelInfo } from '../core/engine';
import { ChatCompressorStore } from './chat-compressor.svelte';

const scorer = (over: Partial<ModelInfo> = {}): ModelInfo => ({
  id: 'reference:stories260K',
  engine: 'reference',
  promptStyle: 'plain',
  contextWindowTokens: 512,
  vocabSize: 512,
  bosId: 1,
  stopIds: [2],
  ...over,
});

describe('ChatCompressorStore', () => {
  it('follows each kind\'s default address and concurrency until the person changes them', () => {
    const s = new ChatCompressorStore();
    expect(s.baseURL).toBe('http://127.0.0.1:11434');
    s.setKind('llama-server');
    expect([s.baseURL, s.concurrency]).toEqual(['http://127.0.0.1:8080', 4]);
    expect(s.modelMissing).toBe(false); // llama-server serves one model: the name may stay empty
    s.baseURL = 'http://127.0.0.1:9999';
    s.setKind('lmstudio');
    expect(s.baseURL).toBe('http://127.0.0.1:9999');
    expect(s.modelMissing).toBe(true);
  });

  it('a host that is not this device needs its own confirmation; changing the address asks again', () => {
    const s = new ChatCompressorStore();
    expect(s.needsConfirmation).toBe(false);
    s.baseURL = 'https://gpu-box.example:11434';
    expect(s.needsConfirmation).toBe(true);
    s.confirm(true);
    expect(s.needsConfirmation).toBe(false);
    s.baseURL = 'https://other.example:11434';
    expect(s.needsConfirmation).toBe(true);
  });

  it('names the scorer problem: none loaded, or the very same server', () => {
    const s = new ChatCompressorStore();
    expect(s.scorerProblem(null)).toMatch(/Load a scorer first/);
    expect(s.scorerProblem(scorer())).toBeNull();
    expect(s.scorerProblem(scorer({ engine: 'server', serverHost: '127.0.0.1:11434', id: 'vllm:x' }))).toMatch(/same server \(127\.0\.0\.1:11434\)/);
    expect(s.scorerProblem(scorer({ engine: 'server', serverHost: '127.0.0.1:8000', id: 'vllm:x' }))).toBeNull();
  });

  it('names each server\'s own CORS switch', () => {
    const s = new ChatCompressorStore();
    expect(s.corsHint('https://precis.example')).toMatch(/OLLAMA_ORIGINS=https:\/\/precis\.example/);
    s.setKind('lmstudio');
    expect(s.corsHint('x')).toMatch(/Enable CORS.*lms server start --cors/);
    s.setKind('llama-server');
    expect(s.corsHint('x')).toMatch(/allows every origin/);
  });
});
