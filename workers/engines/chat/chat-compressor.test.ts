/**
 * The generate-only compressor against the fixture chat servers (e2e/fixtures/inference-server.ts:
 * Ollama, llama-server and LM Studio wire formats backed by the reference engine): every text is
 * checked against the reference engine's own seeded sample, and every failure by its name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePresent, loadFixture, noteIfFixtureMissing } from '../../../cli/fixture';
import { startInferenceFixture, type FixtureOptions, type FixtureServer } from '../../../e2e/fixtures/inference-server';
import type { ChatMessage, SamplingSettings } from '../../../src/lib/core/engine';
import { compressionPrompt } from '../../../src/lib/core/prompts';
import { ChatCompressor, type ChatCompressorConfig } from './compressor';
import { ChatStreamReader } from './wire';

noteIfFixtureMissing('chat compressor on fixture servers');

const prompt = compressionPrompt('chat', 'Tom had a red kite. He ran up the hill to fly it.', 'Who is in the story?');
const settings: SamplingSettings = { temperature: 1, topP: 1, maxTokens: 24, seed: 7 };

/** What the fixture should write: the reference engine's sample from the plain form of the messages. */
async function expected(messages: ChatMessage[], s: SamplingSettings) {
  const engine = loadFixture();
  const ids = engine.promptIds({ kind: 'plain', text: messages.map((m) => m.content).join('\n') });
  const r = await engine.generate(ids, s);
  const kept = r.ids.filter((id) => !engine.info.stopIds.includes(id));
  const raw = r.ids.length ? (await engine.score(ids, [r.ids], 1))[0].filter((_, t) => !engine.info.stopIds.includes(r.ids[t])) : [];
  return { text: engine.tokenizer.decode(kept, ids[ids.length - 1]), stopReason: r.stopReason, tokens: r.ids.length, raw };
}

const started: FixtureServer[] = [];
async function fixture(options: Omit<FixtureOptions, 'engine'>): Promise<FixtureServer> {
  const server = await startInferenceFixture({ engine: loadFixture(), ...options });
  started.push(server);
  return server;
}
afterAll(async () => {
  await Promise.all(started.map((s) => s.close()));
});

describe.skipIf(!fixturePresent)('ChatCompressor on fixture chat servers', () => {
  let want: Awaited<ReturnType<typeof expected>>;
  beforeAll(async () => {
    if (prompt.kind !== 'chat') throw new Error('chat prompt expected');
    want = await expected(prompt.messages, settings);
  });

  for (const kind of ['ollama', 'llama-server', 'lmstudio'] as const) {
    for (const stream of [true, false]) {
      it(`${kind}, ${stream ? 'streamed' : 'not streamed'}: the reference engine's text, stop reason and token count`, async () => {
        const server = await fixture({ kind });
        const c = await ChatCompressor.connect({ kind, baseURL: `${server.url}/v1`, model: kind === 'llama-server' ? '' : 'stories260K', stream });
        expect(c.id).toBe(`${kind}:stories260K`);
        const deltas: string[] = [];
        const g = await c.generate(prompt, settings, (d) => deltas.push(d));
        expect(g.text).toBe(want.text);
        expect(deltas.join('')).toBe(want.text);
        expect(g.stopReason).toBe(want.stopReason === 'stop' ? 'stop' : 'length');
        expect(g.generatedTokens).toBe(want.tokens);
        if (kind === 'lmstudio') expect(g.logprobsNats).toBeNull();
        else g.logprobsNats!.forEach((v, t) => expect(Math.abs(v - want.raw[t])).toBeLessThan(1e-12));
        // The request carried our sampling settings and the raw text.
        const sent = JSON.parse(server.requests.find((r) => r.path === '/v1/chat/completions')!.body);
        expect(sent).toMatchObject({ temperature: 1, top_p: 1, seed: 7, max_tokens: 24, stream });
        expect(sent.messages).toEqual(prompt.kind === 'chat' ? prompt.messages : []);
      });
    }
  }

  it('a budget that runs out is stopReason length', async () => {
    const server = await fixture({ kind: 'ollama' });
    const c = await ChatCompressor.connect({ kind: 'ollama', baseURL: server.url, model: 'stories260K' });
    const g = await c.generate(prompt, { ...settings, maxTokens: 2 });
    expect(g.stopReason).toBe('length');
    expect(g.generatedTokens).toBe(2);
  });

  it('model names: Ollama 404 body, :latest, LM Studio 404 listing, llama-server ignoring the name', async () => {
    const ollama = await fixture({ kind: 'ollama', servedModel: 'llama3.2:latest' });
    await expect(ChatCompressor.connect({ kind: 'ollama', baseURL: ollama.url, model: 'qwen3:8b' })).rejects.toMatchObject({
      name: 'ServerModelNotServedError',
      message: expect.stringContaining('it serves: llama3.2:latest'),
    });
    // "llama3.2" means "llama3.2:latest" to Ollama.
    const c = await ChatCompressor.connect({ kind: 'ollama', baseURL: ollama.url, model: 'llama3.2' });
    expect((await c.generate(prompt, settings)).text.length).toBeGreaterThan(0);
    // A name the server refuses at request time: its own 404 body becomes the named error.
    const renaming: typeof fetch = (url, init) => fetch(url, init?.body ? { ...init, body: String(init.body).replace('"llama3.2"', '"gone"') } : init);
    const r = await ChatCompressor.connect({ kind: 'ollama', baseURL: ollama.url, model: 'llama3.2', fetch: renaming });
    await expect(r.generate(prompt, settings)).rejects.toMatchObject({ name: 'ServerModelNotServedError' });
    const raw = await fetch(`${ollama.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'gone', messages: [{ role: 'user', content: 'x' }] }) });
    expect(raw.status).toBe(404);
    expect(await raw.json()).toEqual({ error: { message: 'model "gone" not found, try pulling it first', type: 'not_found_error', param: null, code: null } });

    const lm = await fixture({ kind: 'lmstudio' });
    const lmRaw = await fetch(`${lm.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'gone', messages: [{ role: 'user', content: 'x' }] }) });
    expect(lmRaw.status).toBe(404);
    expect(((await lmRaw.json()) as { error: { code: string } }).error.code).toBe('model_not_found');

    const llama = await fixture({ kind: 'llama-server' });
    await expect(ChatCompressor.connect({ kind: 'llama-server', baseURL: llama.url, model: 'qwen3:8b' })).rejects.toMatchObject({ name: 'ServerModelNotServedError' });
    const named = await ChatCompressor.connect({ kind: 'llama-server', baseURL: llama.url, model: 'stories260K' });
    expect(named.id).toBe('llama-server:stories260K');
  });

  it('a dropped stream, a malformed chunk and a thinking-only answer are named errors', async () => {
    const drop = await fixture({ kind: 'ollama', dropStreamAfter: 2 });
    const c1 = await ChatCompressor.connect({ kind: 'ollama', baseURL: drop.url, model: 'stories260K' });
    await expect(c1.generate(prompt, settings)).rejects.toMatchObject({ name: 'ServerResponseError', message: expect.stringMatching(/dropped|stopped before it finished/) });

    const bad = await fixture({ kind: 'llama-server', malformedStream: true });
    const c2 = await ChatCompressor.connect({ kind: 'llama-server', baseURL: bad.url, model: '' });
    await expect(c2.generate(prompt, settings)).rejects.toMatchObject({ name: 'ServerResponseError', message: expect.stringContaining('not JSON') });

    for (const stream of [true, false]) {
      const think = await fixture({ kind: 'lmstudio', thinkOnly: true });
      const c3 = await ChatCompressor.connect({ kind: 'lmstudio', baseURL: think.url, model: 'stories260K', stream });
      await expect(c3.generate(prompt, settings)).rejects.toMatchObject({ name: 'ServerEmptyAnswerError', message: expect.stringContaining('reasoning') });
    }
  });

  it('llama-server: an error event after the stream started, a context beyond its window, a wrong key', async () => {
    const reader = new ChatStreamReader('127.0.0.1:8080');
    reader.push('data: {"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}\n\n');
    expect(() => reader.push('error: {"code":500,"message":"slot unavailable","type":"server_error"}\n\n')).toThrow(/slot unavailable/);

    const small = await fixture({ kind: 'llama-server', maxModelLen: 40 });
    const c = await ChatCompressor.connect({ kind: 'llama-server', baseURL: small.url, model: '' });
    await expect(c.generate(prompt, settings)).rejects.toMatchObject({ name: 'ServerHttpError', message: expect.stringContaining('exceeds the available context size') });

    const keyed = await fixture({ kind: 'llama-server', apiKey: 'right' });
    // /v1/models is public on llama-server; the answer itself needs the key.
    const wrong = await ChatCompressor.connect({ kind: 'llama-server', baseURL: keyed.url, model: '', apiKey: 'wrong' }).catch((e: Error) => e);
    const failure = wrong instanceof Error ? wrong : await wrong.generate(prompt, settings).catch((e: Error) => e);
    expect(failure).toMatchObject({ name: 'ServerAuthError', message: expect.stringContaining('llama-server: --api-key') });
    const right = await ChatCompressor.connect({ kind: 'llama-server', baseURL: keyed.url, model: '', apiKey: 'right' });
    expect((await right.generate(prompt, settings)).text).toBe(want.text);
  });

  it('retries 503 with backoff, then answers', async () => {
    const busy = await fixture({ kind: 'ollama', fail503: 2 });
    const c = await ChatCompressor.connect({ kind: 'ollama', baseURL: busy.url, model: 'stories260K', backoffMs: 1 });
    expect((await c.generate(prompt, settings)).text).toBe(want.text);
    expect(c.stats.retries).toBe(2);
  });

  it('an unreachable server is ServerUnreachableError', async () => {
    await expect(ChatCompressor.connect({ kind: 'ollama', baseURL: 'http://127.0.0.1:9', model: 'x' })).rejects.toMatchObject({ name: 'ServerUnreachableError' });
  });

  it('generateMany keeps at most K requests in flight; interrupt aborts them and the rest report interrupted', async () => {
    const slow = await fixture({ kind: 'ollama', chunkDelayMs: 5 });
    let inFlight = 0;
    let peak = 0;
    const counting: typeof fetch = async (url, init) => {
      if (!String(url).endsWith('/chat/completions')) return fetch(url, init);
      inFlight++;
      peak = Math.max(peak, inFlight);
      try {
        const r = await fetch(url, init);
        // Hold the slot until the body is read: copy it.
        const body = await r.arrayBuffer();
        return new Response(body, { status: r.status, headers: r.headers });
      } finally {
        inFlight--;
      }
    };
    const config: ChatCompressorConfig = { kind: 'ollama', baseURL: slow.url, model: 'stories260K', concurrency: 2, fetch: counting };
    const c = await ChatCompressor.connect(config);
    const jobs = Array.from({ length: 6 }, (_, k) => ({ prompt, settings: { ...settings, seed: k } }));
    const got: number[] = [];
    await c.generateMany(jobs, (index, r) => {
      expect(r.stopReason).not.toBe('interrupted');
      got.push(index);
    });
    expect(got.sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(peak).toBe(2);

    const live = await ChatCompressor.connect({ kind: 'ollama', baseURL: slow.url, model: 'stories260K', concurrency: 2 });
    const outcomes: string[] = [];
    await live.generateMany(jobs, (index, r) => {
      outcomes.push(r.stopReason);
      if (outcomes.length === 1) live.interrupt();
    });
    expect(outcomes).toHaveLength(6);
    expect(outcomes.filter((o) => o === 'interrupted').length).toBeGreaterThanOrEqual(4);
    // Still usable afterwards.
    expect((await live.generate(prompt, settings)).text).toBe(want.text);
  }, 30_000);

  it('CORS as each server does it: Ollama refuses other origins with 403, llama-server echoes any, LM Studio sends none until enabled', async () => {
    const ollama = await fixture({ kind: 'ollama' });
    const pre = (url: string, origin: string) =>
      fetch(`${url}/v1/chat/completions`, { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' } });
    expect((await pre(ollama.url, 'http://127.0.0.1:4121')).status).toBe(204);
    expect((await pre(ollama.url, 'http://localhost:5173')).headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect((await pre(ollama.url, 'https://precis.example')).status).toBe(403);
    const opened = await fixture({ kind: 'ollama', allowedOrigins: ['https://precis.example'] });
    expect((await pre(opened.url, 'https://precis.example')).status).toBe(204);

    const llama = await fixture({ kind: 'llama-server' });
    const lp = await pre(llama.url, 'https://precis.example');
    expect(lp.status).toBe(200);
    expect(lp.headers.get('access-control-allow-origin')).toBe('https://precis.example');
    expect(lp.headers.get('access-control-allow-headers')).toBe('*');

    const lm = await fixture({ kind: 'lmstudio' });
    const off = await pre(lm.url, 'http://127.0.0.1:4121');
    expect(off.headers.get('access-control-allow-origin')).toBeNull();
    const lmOn = await fixture({ kind: 'lmstudio', cors: true });
    expect((await pre(lmOn.url, 'http://127.0.0.1:4121')).headers.get('access-control-allow-origin')).toBe('*');
  });
});
