// Answer limits against the real fake server (in-process, real HTTP): max_tokens is sent, a
// 10 MB answer is cut at the size cap and its stream closed, a never-ending trickle is stopped
// at the overall deadline (the idle timeout never fires on it), duplicate model ids are merged,
// and a server that wants max_completion_tokens gets it.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../../../e2e/fixtures/fake-openai.mjs';
import { answerCapChars, DEFAULT_MAX_TOKENS, listModels, streamAnswer, type StreamAnswerOptions } from './client';
import { sendExchange } from './exchange';
import { buildPayload } from './payload';

let srv: FakeOpenAI;
const KEY = 'sk-test-limits-0123456789';

beforeAll(async () => {
  srv = await startFakeOpenAI();
});
afterAll(() => srv.close());
beforeEach(() => srv.reset());

const messages = buildPayload('Q?', ['a', 'b']);
function opts(over: Partial<StreamAnswerOptions> = {}): StreamAnswerOptions {
  return { baseUrl: srv.baseUrl, apiKey: KEY, model: 'fake-gpt', messages, sleep: () => Promise.resolve(), ...over };
}
const chats = () => srv.requests().filter((r) => r.method === 'POST');

/** Wait (on the server's own record, not a clock) until the stream's connection is gone. */
async function closedByClient(): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (chats().at(-1)?.stream?.closedByClient) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('the stream was not closed by the client');
}

describe('answer limits', () => {
  it('asks for max_tokens (the default, or the one given)', async () => {
    await streamAnswer(opts());
    await streamAnswer(opts({ maxTokens: 300 }));
    expect(chats().map((r) => r.json?.max_tokens)).toEqual([DEFAULT_MAX_TOKENS, 300]);
  });

  it('cuts a 10 MB answer at the size cap, closes the stream and names why', async () => {
    srv.script([{ kind: 'huge', bytes: 10 * 1024 * 1024 }]);
    const maxTokens = 1000;
    const r = await streamAnswer(opts({ maxTokens }));
    expect(r.outcome).toBe('capped');
    expect(r.partial).toBe(true);
    expect(r.text.length).toBe(answerCapChars(maxTokens));
    expect(r.text.startsWith('All work and no play')).toBe(true);
    expect(r.error?.name).toBe('AnswerTooLongError');
    expect(r.error?.message).toContain('8,000 characters');
    await closedByClient();
    // The server stopped long before 10 MB: back-pressure plus the closed connection.
    expect(chats()[0].stream!.contentChars).toBeLessThan(10 * 1024 * 1024);
  });

  it('logs a capped answer as a partial exchange with the named error', async () => {
    srv.script([{ kind: 'huge', bytes: 2 * 1024 * 1024 }]);
    const { exchange, result } = await sendExchange(opts({ maxAnswerChars: 5000 }));
    expect(result?.outcome).toBe('capped');
    expect(exchange.status).toBe('capped');
    expect(exchange.partial).toBe(true);
    expect(exchange.responseText).toHaveLength(5000);
    expect(exchange.errorName).toBe('AnswerTooLongError');
  });

  it('stops a never-ending trickle at the deadline and keeps what arrived', async () => {
    srv.script([{ kind: 'trickle', delayMs: 20 }]);
    const deltas: string[] = [];
    const r = await streamAnswer(opts({ deadlineMs: 400, idleTimeoutMs: 60_000, onDelta: (d) => deltas.push(d) }));
    expect(r.outcome).toBe('deadline');
    expect(r.partial).toBe(true);
    expect(r.error?.name).toBe('PredictorDeadlineError');
    expect(r.text).toMatch(/^drip0 drip1 /);
    expect(deltas.join('')).toBe(r.text);
    await closedByClient();
  });

  it('names the deadline when nothing came at all', async () => {
    srv.script([{ kind: 'hang' }]);
    await expect(streamAnswer(opts({ deadlineMs: 200 }))).rejects.toMatchObject({ name: 'PredictorDeadlineError' });
  });

  it('the idle timeout still names a silent endpoint', async () => {
    srv.script([{ kind: 'hang' }]);
    await expect(streamAnswer(opts({ idleTimeoutMs: 150, deadlineMs: 60_000, retry: { maxAttempts: 1 } }))).rejects.toMatchObject({
      name: 'PredictorTimeoutError',
    });
  });

  it('retries once with max_completion_tokens when the server asks for it', async () => {
    const r = await streamAnswer(opts({ model: 'fake-o1', maxTokens: 222 }));
    expect(r.outcome).toBe('done');
    const sent = chats().map((q) => q.json);
    expect(sent).toHaveLength(2);
    expect(sent[0]?.max_tokens).toBe(222);
    expect(sent[1]?.max_tokens).toBeUndefined();
    expect(sent[1]?.max_completion_tokens).toBe(222);
    expect(r.attempts).toBe(1);
  });

  it('merges duplicate model ids from /models', async () => {
    srv.script([], { models: 'duplicates' });
    const listed = srv.requests().length;
    const ids = await listModels({ baseUrl: srv.baseUrl, apiKey: KEY });
    expect(srv.requests().length).toBe(listed + 1);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain('fake-gpt');
    expect(ids).toEqual([...ids].sort((a, b) => a.localeCompare(b)));
  });
});
