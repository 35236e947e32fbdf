// The predictor client against the real fake server, started in-process on a random port.
// CORS cannot be tested here: Node's fetch does not enforce it (the browser does), so the
// no-CORS case lives in e2e/predictor.spec.ts.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../../../e2e/fixtures/fake-openai.mjs';
import { listModels, streamAnswer, type StreamAnswerOptions } from './client';
import { sendExchange } from './exchange';
import { buildPayload } from './payload';
import type { RetryNotice } from './retry';

let srv: FakeOpenAI;
const KEY = 'sk-test-SECRET-0123456789';

beforeAll(async () => {
  srv = await startFakeOpenAI();
});
afterAll(async () => {
  await srv.close();
});
beforeEach(() => srv.reset());

const messages = buildPayload('What is the dose?', ['Note one.', 'Note two.', 'Note three.']);
const fastSleep: StreamAnswerOptions['sleep'] = () => Promise.resolve();

function opts(over: Partial<StreamAnswerOptions> = {}): StreamAnswerOptions {
  return { baseUrl: srv.baseUrl, apiKey: KEY, model: 'fake-gpt', messages, sleep: fastSleep, ...over };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

function expectNoKey(e: Error) {
  expect(e.message).not.toContain(KEY);
  expect(JSON.stringify(e)).not.toContain(KEY);
}

describe('streamAnswer', () => {
  it('streams the deterministic answer with usage', async () => {
    const deltas: string[] = [];
    const r = await streamAnswer(opts({ onDelta: (d) => deltas.push(d) }));
    expect(r.outcome).toBe('done');
    expect(r.partial).toBe(false);
    expect(r.finishReason).toBe('stop');
    expect(r.text).toContain('I received 3 compression notes');
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.join('')).toBe(r.text);
    expect(r.usage?.promptTokens).toBeGreaterThan(0);
    const chat = srv.requests().filter((q) => q.method === 'POST');
    expect(chat).toHaveLength(1);
    expect(chat[0].json?.stream_options).toEqual({ include_usage: true });
    expect(chat[0].auth).toMatchObject({ present: true, prefix: 'sk-tes' });
  });

  it('names a wrong key (401) without leaking it, and does not retry', async () => {
    srv.script([{ kind: '401' }]);
    const e = await rejection(streamAnswer(opts()));
    expect(e.name).toBe('InvalidApiKeyError');
    expect(e.message).toContain('127.0.0.1');
    expectNoKey(e);
    expect(srv.requests().filter((q) => q.method === 'POST')).toHaveLength(1);
  });

  it('names 403 as a key problem', async () => {
    const e = await rejection(streamAnswer(opts({ apiKey: 'sk-forbidden-key' })));
    expect(e.name).toBe('InvalidApiKeyError');
    expect(e.message).toContain('403');
  });

  it('names an unknown model (404)', async () => {
    const e = await rejection(streamAnswer(opts({ model: 'missing-model' })));
    expect(e.name).toBe('ModelNotFoundError');
    expect(e.message).toContain('missing-model');
  });

  it('retries a 429 honouring retry-after, then succeeds', async () => {
    srv.script([{ kind: '429', retryAfter: 2 }, { kind: '429', retryAfterMs: 150 }]);
    const notices: RetryNotice[] = [];
    const waits: number[] = [];
    const r = await streamAnswer(
      opts({ onRetry: (n) => notices.push(n), sleep: async (ms) => void waits.push(ms) }),
    );
    expect(r.outcome).toBe('done');
    expect(r.attempts).toBe(3);
    expect(waits).toEqual([2000, 150]);
    expect(notices.map((n) => n.reason)).toEqual(['rate-limit', 'rate-limit']);
  });

  it('really waits between attempts with the default sleep', async () => {
    srv.script([{ kind: '429', retryAfterMs: 120 }]);
    const t0 = Date.now();
    const r = await streamAnswer(opts({ sleep: undefined }));
    expect(r.outcome).toBe('done');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(110);
  });

  it('gives up on a 429 after the bounded attempts with RateLimitError', async () => {
    const e = await rejection(streamAnswer(opts({ model: 'fake-429', retry: { maxAttempts: 3 } })));
    expect(e.name).toBe('RateLimitError');
    expect(srv.requests().filter((q) => q.method === 'POST')).toHaveLength(3);
  });

  it('does not wait when the server asks for longer than the cap', async () => {
    srv.script([{ kind: '429', retryAfter: 3600 }]);
    const e = await rejection(streamAnswer(opts()));
    expect(e.name).toBe('RateLimitError');
    expect(e.message).toContain('3600 s');
  });

  it('retries a 500 with backoff, then succeeds', async () => {
    srv.script([{ kind: '500' }]);
    const waits: number[] = [];
    const r = await streamAnswer(opts({ sleep: async (ms) => void waits.push(ms) }));
    expect(r.outcome).toBe('done');
    expect(r.attempts).toBe(2);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThanOrEqual(800);
  });

  it('names a persistent 5xx after bounded retries', async () => {
    const e = await rejection(streamAnswer(opts({ model: 'fake-500' })));
    expect(e.name).toBe('PredictorServerError');
    expect(srv.requests().filter((q) => q.method === 'POST')).toHaveLength(4);
  });

  it('keeps the partial answer of a dropped stream and marks it', async () => {
    srv.script([{ kind: 'drop', afterChunks: 3 }]);
    const r = await streamAnswer(opts());
    expect(r.outcome).toBe('dropped');
    expect(r.partial).toBe(true);
    expect(r.error?.name).toBe('StreamDroppedError');
    expect(r.text.length).toBeGreaterThan(0);
    expect('Fake answer from fake-gpt: I received 3').toContain(r.text.trim());
    expect(srv.requests().filter((q) => q.method === 'POST')).toHaveLength(1);
  });

  it('says so when a stream is cut before any of the answer arrived', async () => {
    srv.script([{ kind: 'drop', afterChunks: 0 }]);
    const r = await streamAnswer(opts());
    expect(r.outcome).toBe('dropped');
    expect(r.text).toBe('');
    expect(r.error?.name).toBe('StreamDroppedError');
    expect(r.error?.message).toMatch(/before any of the answer arrived/);
  });

  it('marks a stream that ends cleanly without finish_reason as dropped', async () => {
    srv.script([{ kind: 'truncate', afterChunks: 2 }]);
    const r = await streamAnswer(opts());
    expect(r.outcome).toBe('dropped');
    expect(r.text).toBe('Fake answer ');
  });

  it('accepts a server that answers a streaming request with plain JSON', async () => {
    srv.script([{ kind: 'nostream' }]);
    const r = await streamAnswer(opts());
    expect(r.outcome).toBe('done');
    expect(r.text).toContain('I received 3 compression notes');
    expect(r.usage?.totalTokens).toBeGreaterThan(0);
  });

  it('cancels mid-stream as a normal outcome with the partial text', async () => {
    const ctl = new AbortController();
    const r = await streamAnswer(
      opts({
        model: 'fake-slow',
        signal: ctl.signal,
        onDelta: (_d, soFar) => {
          if (soFar.length > 10) ctl.abort();
        },
      }),
    );
    expect(r.outcome).toBe('cancelled');
    expect(r.partial).toBe(true);
    expect(r.text.length).toBeGreaterThan(10);
  });

  it('cancels before the answer starts with PredictorCancelledError', async () => {
    srv.script([{ kind: 'hang' }]);
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 100);
    const e = await rejection(streamAnswer(opts({ signal: ctl.signal })));
    expect(e.name).toBe('PredictorCancelledError');
  });

  it('times out a silent endpoint with PredictorTimeoutError', async () => {
    srv.script([{ kind: 'hang' }]);
    const e = await rejection(streamAnswer(opts({ idleTimeoutMs: 200 })));
    expect(e.name).toBe('PredictorTimeoutError');
  });

  it('names an unreachable endpoint NetworkError and explains CORS', async () => {
    const e = await rejection(streamAnswer(opts({ baseUrl: 'http://127.0.0.1:9/v1' })));
    expect(e.name).toBe('NetworkError');
    expect(e.message).toContain('Access-Control-Allow-Origin');
    expectNoKey(e);
  });

  it('rejects bad settings before any request', async () => {
    expect((await rejection(streamAnswer(opts({ baseUrl: '' })))).name).toBe('PredictorSettingsError');
    expect((await rejection(streamAnswer(opts({ model: ' ' })))).name).toBe('PredictorSettingsError');
    expect(srv.requests()).toHaveLength(0);
  });
});

describe('listModels', () => {
  it('lists the endpoint models', async () => {
    const ids = await listModels({ baseUrl: srv.baseUrl, apiKey: KEY });
    expect(ids).toContain('gpt-4o-mini');
  });
  it('names a wrong key', async () => {
    const e = await rejection(listModels({ baseUrl: srv.baseUrl, apiKey: 'sk-bad-key-123' }));
    expect(e.name).toBe('InvalidApiKeyError');
    expect(e.message).not.toContain('sk-bad-key-123');
  });
});

describe('sendExchange', () => {
  it('describes a successful request without the key', async () => {
    const { exchange, result } = await sendExchange({ ...opts(), runId: 'run-1' });
    expect(result?.outcome).toBe('done');
    expect(exchange).toMatchObject({ runId: 'run-1', host: srv.origin.replace('http://', ''), status: 'done', partial: false });
    expect(exchange.url).toBe(`${srv.baseUrl}/chat/completions`);
    expect(exchange.messages).toEqual(messages);
    expect(JSON.stringify(exchange)).not.toContain(KEY);
  });
  it('describes a failure by name', async () => {
    srv.script([{ kind: '401' }]);
    const { exchange, error } = await sendExchange(opts());
    expect(error?.name).toBe('InvalidApiKeyError');
    expect(exchange.status).toBe('error');
    expect(exchange.errorName).toBe('InvalidApiKeyError');
    expect(JSON.stringify(exchange)).not.toContain(KEY);
  });
});
