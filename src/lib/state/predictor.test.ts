// PredictorState: the key stays in memory unless remembered; forgetting clears storage at once.
// SendSession: the send flow against the fake server, through the state classes.
// Node environment on purpose: happy-dom's fetch turns a reset socket into an unhandled
// rejection, while Node's (like the browser's) reports it through the stream reader.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { flushSync } from 'svelte';
import { PredictorState } from './predictor.svelte';
import { localStorageStore, memoryStore, STORAGE_KEY } from '../predictor/settings';
import { SendSession } from '../predictor/send-session.svelte';
import { buildPayload, rawPayload } from '../predictor/payload';
import type { Exchange } from '../predictor/exchange';
import { startFakeOpenAI, type FakeOpenAI } from '../../../e2e/fixtures/fake-openai.mjs';

const KEY = 'sk-test-remember-me-0001';

/** A Map behind the Storage methods the store uses. */
const map = new Map<string, string>();
const localStorage = {
  getItem: (k: string) => map.get(k) ?? null,
  setItem: (k: string, v: string) => void map.set(k, v),
  removeItem: (k: string) => void map.delete(k),
  clear: () => map.clear(),
};
const opts = () => ({ store: localStorageStore(localStorage) });

describe('PredictorState persistence', () => {
  beforeEach(() => localStorage.clear());

  it('does not store the key unless asked', () => {
    const a = new PredictorState(opts());
    a.applyPreset('openai');
    a.apiKey = KEY;
    a.save();
    expect(localStorage.getItem(STORAGE_KEY)).not.toContain(KEY);
    const b = new PredictorState(opts());
    expect(b.baseUrl).toBe('https://api.openai.com/v1');
    expect(b.model).toBe('gpt-4o-mini');
    expect(b.apiKey).toBe('');
  });

  it('remembers the key when opted in and forgets it in one call', () => {
    const a = new PredictorState(opts());
    a.applyPreset('openai');
    a.apiKey = KEY;
    a.setRememberKey(true);
    expect(new PredictorState(opts()).apiKey).toBe(KEY);
    a.forgetKey();
    expect(a.apiKey).toBe('');
    expect(localStorage.getItem(STORAGE_KEY)).not.toContain(KEY);
    expect(new PredictorState(opts()).apiKey).toBe('');
  });

  it('unticking remember removes the stored key', () => {
    const a = new PredictorState(opts());
    a.applyPreset('openai');
    a.apiKey = KEY;
    a.setRememberKey(true);
    a.setRememberKey(false);
    expect(localStorage.getItem(STORAGE_KEY)).not.toContain(KEY);
    expect(a.apiKey).toBe(KEY); // still usable for this visit
  });

  it('persists price edits and ignores corrupt storage', () => {
    const a = new PredictorState(opts());
    a.setPrice('llama3.2', { inputUsdPerMTok: 0, outputUsdPerMTok: 0 });
    expect(new PredictorState(opts()).prices['llama3.2']).toEqual({ inputUsdPerMTok: 0, outputUsdPerMTok: 0 });
    localStorage.setItem(STORAGE_KEY, '{not json');
    expect(localStorageStore(localStorage).load()).toBeNull();
  });
});

describe('PredictorState and SendSession against the fake server', () => {
  let srv: FakeOpenAI;
  beforeAll(async () => {
    srv = await startFakeOpenAI();
  });
  afterAll(() => srv.close());
  beforeEach(() => srv.reset());

  function state() {
    const s = new PredictorState({ store: memoryStore() });
    s.baseUrl = srv.baseUrl;
    s.apiKey = KEY;
    return s;
  }

  it('tests the connection and fills the model list', async () => {
    const s = state();
    await s.testConnection();
    expect(s.connection.state).toBe('ok');
    expect(s.models).toContain('gpt-4o-mini');
    expect(s.model).not.toBe('');
  });

  it('reports a connection failure by name', async () => {
    const s = state();
    s.apiKey = 'sk-bad-0000000';
    await s.testConnection();
    expect(s.connection).toMatchObject({ state: 'error', errorName: 'InvalidApiKeyError' });
  });

  it('sends, streams and emits one exchange', async () => {
    const s = state();
    s.model = 'gpt-4o-mini';
    const session = new SendSession(s);
    const messages = buildPayload('Q?', ['a', 'b']);
    await session.refreshAccounting(messages, rawPayload('Q?', ['long raw document '.repeat(50)]));
    expect(session.accounting?.savedTokens).toBeGreaterThan(0);
    expect(session.accounting?.priceKnown).toBe(true);
    const got: Exchange[] = [];
    await session.send(messages, { runId: 'r1', onExchange: (e) => got.push(e) });
    flushSync();
    expect(session.phase).toBe('done');
    expect(session.answer).toContain('I received 2 compression notes');
    expect(got).toHaveLength(1);
    expect(got[0].runId).toBe('r1');
    expect(JSON.stringify(got[0])).not.toContain(KEY);
  });

  it('keeps a dropped answer, marked partial, as an error', async () => {
    const s = state();
    s.model = 'fake-drop';
    const session = new SendSession(s);
    await session.send(buildPayload('Q?', ['a']));
    expect(session.phase).toBe('error');
    expect(session.partial).toBe(true);
    expect(session.answer.length).toBeGreaterThan(0);
    expect(session.error?.name).toBe('StreamDroppedError');
  });
});
