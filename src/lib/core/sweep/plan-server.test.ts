import { describe, expect, it } from 'vitest';
import { validateServerSweep } from './plan';

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
      [{ ...base, engine: 'ollama' }, /"engine" must be "reference", "vllm" or "sglang"/],
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
