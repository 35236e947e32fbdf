import { describe, expect, it } from 'vitest';
import { validateChatSweep, validateServerSweep } from './plan';

const base = { engine: 'vllm', baseURL: 'http://127.0.0.1:8000', servedModel: 'qwen7b', budgets: [16] };
const noDirs = () => false;

describe('validateServerSweep', () => {
  it('reads the server, the served models and the kind of scorer', () => {
    expect(validateServerSweep({ engine: 'reference', models: ['dir'] }, noDirs)).toBeNull();
    const one = validateServerSweep({ ...base, concurrency: 32, batchSize: 8, vllmScoring: 'prompt_logprobs', apiKeyEnv: 'KEY' }, noDirs)!;
    expect(one).toEqual({
      server: { kind: 'vllm', baseURL: 'http://127.0.0.1:8000', promptStyle: 'plain', concurrency: 32, batchSize: 8, vllmScoring: 'prompt_logprobs', apiKeyEnv: 'KEY' },
      models: ['qwen7b'],
      scorer: 'self',
      scorerKind: 'self',
    });
    const two = validateServerSweep({ engine: 'sglang', baseURL: 'https://gpu.example:30000/', models: ['a', 'b'], scorer: 'b' }, noDirs)!;
    expect(two.models).toEqual(['a', 'b']);
    expect(two.scorerKind).toBe('server');
    expect(validateServerSweep({ ...base, scorer: 'models/x' }, (r) => r === 'models/x')!.scorerKind).toBe('local');
  });

  it('servers score at temperature 1 (0 is greedy, scored at 1); a local scorer takes any temperature', () => {
    expect(validateServerSweep({ ...base, temperatures: [0, 1] }, noDirs)).not.toBeNull();
    expect(() => validateServerSweep({ ...base, temperatures: [1, 0.7] }, noDirs)).toThrow(/temperatures 0\.7 cannot be scored by a server/);
    expect(() => validateServerSweep({ ...base, scorer: 'other', temperatures: [1.3] }, noDirs)).toThrow(/temperatures 1\.3 cannot be scored by a server/);
    expect(validateServerSweep({ ...base, scorer: 'dir', temperatures: [0.7] }, () => true)!.scorerKind).toBe('local');
  });

  it('refuses bad combinations by name', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ ...base, engine: 'tgi' }, /"engine" must be "reference", "vllm", "sglang" or a generate-only kind \("ollama", "lmstudio", "llama-server", "openai-chat"\)/],
      [{ ...base, confirmHost: 'x:1' }, /"confirmHost" apply to generate-only compressors only/],
      [{ engine: 'reference', models: ['d'], servedModel: 'x', concurrency: 4 }, /"servedModel", "concurrency" apply to "engine": "vllm" or "sglang" only/],
      [{ ...base, baseURL: 'ftp://h' }, /http:\/\/ or https:\/\//],
      [{ ...base, models: ['a'] }, /not both/],
      [{ engine: 'vllm', baseURL: 'http://h:1' }, /needs "servedModel"/],
      [{ ...base, engine: 'sglang', promptStyle: 'chat' }, /SGLang's \/tokenize takes no chat messages/],
      [{ ...base, promptStyle: 'fancy' }, /"promptStyle" must be "plain" or "chat"/],
      [{ ...base, engine: 'sglang', vllmScoring: 'echo' }, /"vllmScoring" applies to "engine": "vllm" only/],
      [{ ...base, concurrency: 0 }, /"concurrency" must be a whole number >= 1/],
      [{ ...base, batchSize: 2.5 }, /"batchSize" must be a whole number >= 1/],
      [{ ...base, apiKeyEnv: 'sk-live-123' }, /must name an environment variable/],
    ];
    for (const [raw, pattern] of bad) {
      let err: unknown;
      try {
        validateServerSweep(raw, noDirs);
      } catch (e) {
        err = e;
      }
      expect((err as Error)?.name).toBe('SweepConfigError');
      expect((err as Error).message).toMatch(pattern);
    }
  });
});

describe('validateChatSweep (generate-only compressors)', () => {
  const chat = { engine: 'ollama', models: ['llama3.1:8b', 'qwen2.5:7b'], budgets: [16], scorer: 'models/stories' };
  const isDir = (r: string) => r === 'models/stories';

  it('reads the compressor, its models and a local or served scorer', () => {
    expect(validateChatSweep({ engine: 'vllm', servedModel: 'x' }, isDir)).toBeNull();
    expect(validateServerSweep(chat, isDir)).toBeNull();
    expect(validateChatSweep({ ...chat, concurrency: 3, stream: false, confirmHost: 'box:11434', baseURL: 'http://box:11434', apiKeyEnv: 'K' }, isDir)).toEqual({
      compressor: { kind: 'ollama', baseURL: 'http://box:11434', concurrency: 3, stream: false, confirmHost: 'box:11434', apiKeyEnv: 'K' },
      models: ['llama3.1:8b', 'qwen2.5:7b'],
      scorer: 'models/stories',
      scorerKind: 'local',
    });
    const served = validateChatSweep({ ...chat, scorer: 'qwen7b', scorerServer: { engine: 'sglang', baseURL: 'http://127.0.0.1:30000', batchSize: 4 } }, isDir)!;
    expect(served.scorerKind).toBe('server');
    expect(served.scorerServer).toEqual({ kind: 'sglang', baseURL: 'http://127.0.0.1:30000', promptStyle: 'plain', concurrency: undefined, batchSize: 4 });
    expect(served.compressor).toEqual({ kind: 'ollama', concurrency: undefined, stream: true });
  });

  it('refuses what a generate-only sweep cannot do, by name', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ ...chat, scorer: undefined }, /cannot score text, so "scorer" is required/],
      [{ ...chat, scorer: 'self' }, /cannot score text, so "scorer" is required/],
      [{ ...chat, scorer: 'qwen7b' }, /is not a local model folder; a served scorer needs "scorerServer"/],
      [{ ...chat, scorer: 'q', scorerServer: { engine: 'ollama', baseURL: 'http://h:1' } }, /"scorerServer.engine" must be "vllm" or "sglang"/],
      [{ ...chat, scorer: 'q', scorerServer: { engine: 'vllm', baseURL: 'http://h:1', servedModel: 'q' } }, /"scorerServer.servedModel" is not used/],
      [{ ...chat, scorer: 'q', scorerServer: { engine: 'vllm', baseURL: 'http://h:1' }, temperatures: [0.7] }, /temperatures 0\.7 cannot be scored by a server/],
      [{ ...chat, servedModel: 'x' }, /"servedModel" does not apply to a generate-only compressor/],
      [{ ...chat, batchSize: 4 }, /"batchSize" does not apply to a generate-only compressor \(give it in "scorerServer"\)/],
      [{ ...chat, models: [] }, /needs "models"/],
      [{ ...chat, baseURL: 'localhost:11434' }, /http:\/\/ or https:\/\//],
      [{ ...chat, stream: 'yes' }, /"stream" must be true or false/],
      [{ ...chat, confirmHost: '' }, /"confirmHost" must be the host/],
    ];
    for (const [raw, pattern] of bad) {
      let err: unknown;
      try {
        validateChatSweep(raw, isDir);
      } catch (e) {
        err = e;
      }
      expect((err as Error)?.name).toBe('SweepConfigError');
      expect((err as Error).message).toMatch(pattern);
    }
  });
});
