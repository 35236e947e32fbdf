import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePresent, loadFixture, noteIfFixtureMissing } from '../../../cli/fixture';
import { startInferenceFixture, type FixtureOptions, type FixtureServer } from '../../../e2e/fixtures/inference-server';
import { runEstimate } from '../../../src/lib/core/run-estimate';
import { ServerEngine, type ServerEngineConfig } from './engine';

noteIfFixtureMissing('server engine on fixture servers');

const reference = fixturePresent ? loadFixture() : null;

async function withFixture<T>(opts: Omit<FixtureOptions, 'engine'>, fn: (server: FixtureServer) => Promise<T>): Promise<T> {
  const server = await startInferenceFixture({ engine: loadFixture(), ...opts });
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}

const connect = (server: FixtureServer, extra: Partial<ServerEngineConfig> = {}) =>
  ServerEngine.connect({ kind: 'vllm', baseURL: server.url, servedModel: 'stories260K', promptStyle: 'plain', ...extra });

const PROMPT = { kind: 'plain' as const, text: 'Tom had a red kite.\nWho is in the story?' };

describe.skipIf(!fixturePresent)('server engine against fixture servers backed by the reference engine', () => {
  const ref = reference!;
  const refPrompt = ref.promptIds(PROMPT);
  const conts = [ref.tokenize(' He ran to the park.'), ref.tokenize(' Lily was sad.'), [2]];
  let expected: number[][];
  beforeAll(async () => {
    expected = await ref.score(refPrompt, conts, 1);
  });

  const cases: [string, Omit<FixtureOptions, 'engine'>, Partial<ServerEngineConfig>][] = [
    ['vLLM echo, max_tokens 0', { kind: 'vllm' }, {}],
    ['vLLM echo, max_tokens 0 refused (older vLLM): max_tokens 1', { kind: 'vllm', refuseMaxTokens0: true }, {}],
    ['vLLM prompt_logprobs', { kind: 'vllm' }, { vllmScoring: 'prompt_logprobs' }],
    ['SGLang, first entry null', { kind: 'sglang', convention: 'null-first' }, { kind: 'sglang' }],
    ['SGLang, first entry dropped', { kind: 'sglang', convention: 'dropped-first' }, { kind: 'sglang' }],
    ['SGLang, logprob_start_len 0 (the paper\'s), first entry null', { kind: 'sglang', convention: 'null-first' }, { kind: 'sglang', sglangLogprobStart: 'zero' }],
    ['SGLang, logprob_start_len 0 (the paper\'s), first entry dropped', { kind: 'sglang', convention: 'dropped-first' }, { kind: 'sglang', sglangLogprobStart: 'zero' }],
  ];
  for (const [name, fixture, config] of cases) {
    it(`${name}: prompt ids and scores equal the reference engine's`, async () => {
      await withFixture(fixture, async (server) => {
        const engine = await connect(server, { batchSize: 2, ...config });
        expect(engine.info.contextWindowTokens).toBe(ref.info.contextWindowTokens);
        expect(engine.info.bosId).toBe(1);
        expect(engine.info.sampler).toBe('server');
        expect(await engine.promptIds(PROMPT)).toEqual(refPrompt);
        expect(await engine.tokenize(' He ran')).toEqual(ref.tokenize(' He ran'));
        expect(await engine.detokenize(refPrompt)).toBe(ref.detokenize(refPrompt));
        const got = await engine.score(refPrompt, conts, 1);
        got.forEach((row, r) => row.forEach((v, t) => expect(Math.abs(v - expected[r][t])).toBeLessThan(1e-9)));
        expect(got.map((r) => r.length)).toEqual(conts.map((c) => c.length));
        if (config.kind === 'sglang') {
          const stats = engine.serverStats();
          expect(stats.sglangConvention).toBe(fixture.convention);
          const body = JSON.parse(server.requests.filter((r) => r.path === '/generate').at(-1)!.body);
          if (config.sglangLogprobStart === 'zero') {
            // The paper's setting: the cache is reused only up to position 0, so never.
            expect(stats.cachedTokens).toBe(0);
            expect(body.logprob_start_len).toBe(0);
          } else {
            // The context stays in the prefix cache: every sequence after the first reuses it.
            expect(stats.cachedTokens).toBeGreaterThanOrEqual((conts.length - 1) * (refPrompt.length - 1));
            expect(body.logprob_start_len).toBe(refPrompt.length - 1);
          }
        }
      });
    });
  }

  it('samples on the server with the given seed: the reference sampler\'s ids, texts that add up', async () => {
    for (const kind of ['vllm', 'sglang'] as const) {
      await withFixture({ kind }, async (server) => {
        const engine = await connect(server, { kind });
        const settings = { temperature: 0.8, topP: 1, maxTokens: 12, seed: 5 };
        const texts: string[] = [];
        const got = await engine.generate(refPrompt, settings, (e) => texts.push(e.text));
        const want = await ref.generate(refPrompt, settings);
        expect(got.ids).toEqual(want.ids);
        expect(texts.join('')).toBe(ref.tokenizer.decode(want.ids, refPrompt.at(-1)!));
        // Sampled log-probs come back as the server reports them (raw logits, temperature 1).
        const raw = (await ref.score(refPrompt, [want.ids], 1))[0];
        got.logprobsNats.forEach((v, i) => expect(v).toBeCloseTo(raw[i], 9));
        const body = JSON.parse(server.requests.find((r) => r.path === (kind === 'vllm' ? '/v1/completions' : '/generate') && r.body.includes('"seed') || r.body.includes('sampling_seed'))!.body);
        expect(JSON.stringify(body)).toMatch(/"top_k":-1/);
      });
    }
  });

  it('vLLM generation reads ids from whichever field this version gives, and names a server that gives none', async () => {
    const settings = { temperature: 0.8, topP: 1, maxTokens: 10, seed: 7 };
    const want = await ref.generate(refPrompt, settings);
    for (const tokenIds of ['no-token-ids', 'refuse-token-ids'] as const) {
      await withFixture({ kind: 'vllm', tokenIds }, async (server) => {
        const engine = await connect(server);
        expect((await engine.generate(refPrompt, settings)).ids).toEqual(want.ids);
        // The mode is remembered: the second generation asks once.
        const before = server.requests.length;
        expect((await engine.generate(refPrompt, settings)).ids).toEqual(want.ids);
        expect(server.requests.length - before).toBe(1);
      });
    }
    await withFixture({ kind: 'vllm', tokenIds: 'text-tokens' }, async (server) => {
      const engine = await connect(server);
      await expect(engine.generate(refPrompt, settings)).rejects.toMatchObject({
        name: 'ServerResponseError',
        message: expect.stringContaining('the ids it sampled cannot be known exactly'),
      });
    });
  });

  it('a minimal server (one sequence per request, no echo) is found out on connect and scores the same', async () => {
    const cases: [string, Omit<FixtureOptions, 'engine'>, Partial<ServerEngineConfig>, { mode: string; sequencesPerRequest: number }][] = [
      ['vLLM-like, one sequence per request', { kind: 'vllm', singleSequenceOnly: true }, {}, { mode: 'echo', sequencesPerRequest: 1 }],
      ['vLLM-like without echo', { kind: 'vllm', noEcho: true }, {}, { mode: 'prompt_logprobs', sequencesPerRequest: 4 }],
      ['vLLM-like, neither', { kind: 'vllm', noEcho: true, singleSequenceOnly: true }, {}, { mode: 'prompt_logprobs', sequencesPerRequest: 1 }],
      ['SGLang-like, no batches', { kind: 'sglang', singleSequenceOnly: true }, { kind: 'sglang' }, { mode: 'sglang', sequencesPerRequest: 1 }],
    ];
    for (const [name, fixture, config, scoring] of cases) {
      await withFixture(fixture, async (server) => {
        const engine = await connect(server, { batchSize: 4, ...config });
        expect(engine.serverStats().scoring, name).toEqual(scoring);
        const got = await engine.score(refPrompt, conts, 1);
        got.forEach((row, r) => row.forEach((v, t) => expect(Math.abs(v - expected[r][t])).toBeLessThan(1e-9)));
      });
    }
    // A scoring mode chosen by the user is kept: a server without echo then fails by name.
    await withFixture({ kind: 'vllm', noEcho: true }, async (server) => {
      await expect(connect(server, { vllmScoring: 'echo' })).rejects.toMatchObject({ name: 'ServerHttpError', message: expect.stringContaining('echo is not supported') });
    });
  });

  it('behind SGLang\'s Model Gateway (no /tokenize): tokenises at /v1/tokenize, without special tokens, window unknown', async () => {
    await withFixture({ kind: 'sglang', gateway: true }, async (server) => {
      const engine = await connect(server, { kind: 'sglang', batchSize: 2 });
      expect(engine.info.windowUnknown).toBe(true);
      // The gateway encodes without special tokens whatever is asked, so no BOS can be told apart.
      expect(engine.info.bosId).toBeNull();
      expect(await engine.promptIds(PROMPT)).toEqual(ref.tokenize(PROMPT.text));
      expect(await engine.tokenize(' He ran')).toEqual(ref.tokenize(' He ran'));
      expect(await engine.detokenize(refPrompt.slice(1))).toBe(ref.detokenize(refPrompt.slice(1)));
      const got = await engine.score(refPrompt, conts, 1);
      got.forEach((row, r) => row.forEach((v, t) => expect(Math.abs(v - expected[r][t])).toBeLessThan(1e-9)));
      expect(server.requests.some((r) => r.path === '/v1/tokenize')).toBe(true);
    });
  });

  it('an MI estimate over the server equals the one over the reference engine', async () => {
    await withFixture({ kind: 'sglang' }, async (server) => {
      const engine = await connect(server, { kind: 'sglang', concurrency: 3, batchSize: 2 });
      const request = {
        contexts: ['Tom had a red kite.', 'Lily saw a big dog.', 'The sun was hot.'],
        question: 'Who is in the story?',
        samplesPerContext: 2,
        settings: { temperature: 1, topP: 1, maxTokens: 8, seed: 3 },
      };
      const a = await runEstimate(engine, request);
      const b = await runEstimate(loadFixture(), request);
      if (a.status !== 'done' || b.status !== 'done') throw new Error('not done');
      expect(a.contexts).toEqual(b.contexts);
      a.compressions.forEach((c, k) => {
        expect(c.ids).toEqual(b.compressions[k].ids);
        expect(Math.abs(c.termNats - b.compressions[k].termNats)).toBeLessThan(1e-9);
      });
      expect(Math.abs(a.summary.miNats - b.summary.miNats)).toBeLessThan(1e-9);
    });
  });

  it('refuses servers that cannot score, by name and in plain words', async () => {
    for (const kind of ['llama-server', 'ollama'] as const) {
      await withFixture({ kind }, async (server) => {
        await expect(connect(server)).rejects.toMatchObject({
          name: 'ServerCannotScoreError',
          message: expect.stringContaining('this server cannot score text: use it to generate, with another scorer'.replace(/^t/, 'T')),
        });
      });
    }
  });

  it('names a model it does not serve, a wrong key, retries 503s, and refuses temperatures it cannot score', async () => {
    await withFixture({ kind: 'vllm', apiKey: 'sk-right' }, async (server) => {
      await expect(connect(server, { apiKey: 'sk-wrong' })).rejects.toMatchObject({ name: 'ServerAuthError' });
      await expect(connect(server, { apiKey: 'sk-right', servedModel: 'llama-70b' })).rejects.toMatchObject({
        name: 'ServerModelNotServedError',
        message: expect.stringContaining('it serves: stories260K'),
      });
      const engine = await connect(server, { apiKey: 'sk-right' });
      await expect(engine.score(refPrompt, conts, 0.7)).rejects.toMatchObject({ name: 'ServerTemperatureError' });
      const long = Array.from({ length: ref.info.contextWindowTokens }, () => 300);
      await expect(engine.score([1, ...long], [[2]], 1)).rejects.toMatchObject({ name: 'ContextTooLongError' });
    });
    await withFixture({ kind: 'vllm', fail503: 2 }, async (server) => {
      const engine = await connect(server, { backoffMs: 1 });
      expect(engine.info.contextWindowTokens).toBe(ref.info.contextWindowTokens);
    });
  });

  it('detects -9999 clamped log-probs instead of averaging them in', async () => {
    // EOS (id 2) is not in the capability probe, so connect succeeds and the run's score fails.
    await withFixture({ kind: 'vllm', clampTokenId: 2 }, async (server) => {
      const engine = await connect(server);
      await expect(engine.score(refPrompt, conts, 1)).rejects.toMatchObject({ name: 'ServerClampedLogprobError', message: expect.stringContaining('-9999') });
    });
  });

  it('names a server that is down, slow, or not answering JSON', async () => {
    const down = await startInferenceFixture({ kind: 'vllm', engine: loadFixture() });
    const url = down.url;
    await down.close();
    await expect(ServerEngine.connect({ kind: 'vllm', baseURL: url, servedModel: 'stories260K', promptStyle: 'plain' })).rejects.toMatchObject({ name: 'ServerUnreachableError' });

    await withFixture({ kind: 'vllm', latencyMs: 300 }, async (server) => {
      await expect(connect(server, { timeoutMs: 50 })).rejects.toMatchObject({ name: 'ServerTimeoutError' });
    });

    const garbage = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"object": "list", "data": [');
    });
    await new Promise<void>((r) => garbage.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (garbage.address() as AddressInfo).port;
      await expect(ServerEngine.connect({ kind: 'sglang', baseURL: `http://127.0.0.1:${port}/v1`, servedModel: 'x', promptStyle: 'plain' })).rejects.toMatchObject({
        name: 'ServerResponseError',
        message: expect.stringContaining('did not return JSON'),
      });
    } finally {
      garbage.close();
    }
  });
});

afterAll(() => undefined);

describe.skipIf(!fixturePresent)('a server with only the endpoints the wire formats need', () => {
  // No GET /v1/models and no max_model_len in /tokenize: as a native-API-only deployment (or an
  // independent implementation of the scoring endpoints) may answer.
  const bare = (inner: typeof fetch): typeof fetch => async (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    if (url.endsWith('/v1/models')) return new Response(JSON.stringify({ detail: 'Not Found' }), { status: 404, headers: { 'content-type': 'application/json' } });
    const res = await inner(input, init);
    if (!url.endsWith('/tokenize')) return res;
    const body = (await res.json()) as Record<string, unknown>;
    delete body.max_model_len;
    return new Response(JSON.stringify(body), { status: res.status, headers: { 'content-type': 'application/json' } });
  };

  for (const kind of ['vllm', 'sglang'] as const) {
    it(`${kind}: connects, says the window is unknown, and scores as the reference engine does`, async () => {
      await withFixture({ kind }, async (server) => {
        const engine = await connect(server, { kind, fetch: bare(fetch) });
        expect(engine.info.windowUnknown).toBe(true);
        const ref = reference!;
        const prompt = ref.promptIds(PROMPT);
        const cont = ref.tokenize(' He ran to the park.');
        const [want] = await ref.score(prompt, [cont], 1);
        const [got] = await engine.score(prompt, [cont], 1);
        got.forEach((v, t) => expect(Math.abs(v - want[t])).toBeLessThan(1e-9));
      });
    });
  }

  it('a prompt beyond the real window is refused by the server, by name', async () => {
    await withFixture({ kind: 'vllm' }, async (server) => {
      const engine = await connect(server, { fetch: bare(fetch) });
      const long = Array.from({ length: reference!.info.contextWindowTokens + 8 }, (_, i) => 300 + (i % 50));
      const err = await engine.score([1, ...long], [[300, 301]], 1).catch((e: unknown) => e);
      expect((err as Error).name).toBe('ServerHttpError');
      expect((err as Error).message).toMatch(/maximum context length/);
    });
  });
});
