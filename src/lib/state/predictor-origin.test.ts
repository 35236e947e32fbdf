// The key belongs to the origin it was entered for, and auto-send to the endpoint it was
// switched on for: PredictorState and SendSession against TWO real fake servers (in-process,
// real HTTP). The second server must never receive the first one's key.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { flushSync } from 'svelte';
import { keyFingerprint, startFakeOpenAI, type FakeOpenAI } from '../../../e2e/fixtures/fake-openai.mjs';
import { SendSession } from '../predictor/send-session.svelte';
import { buildPayload } from '../predictor/payload';
import { localStorageStore, memoryStore, STORAGE_KEY } from '../predictor/settings';
import { PredictorState } from './predictor.svelte';

const KEY_A = 'sk-origin-a-0123456789';
const KEY_B = 'sk-origin-b-9876543210';

let a: FakeOpenAI;
let b: FakeOpenAI;
beforeAll(async () => {
  [a, b] = await Promise.all([startFakeOpenAI(), startFakeOpenAI()]);
});
afterAll(() => Promise.all([a.close(), b.close()]));
beforeEach(() => {
  a.reset();
  b.reset();
});

function onA() {
  const s = new PredictorState({ store: memoryStore() });
  s.baseUrl = a.baseUrl;
  s.apiKey = KEY_A;
  s.model = 'fake-gpt';
  return s;
}
const carriesKey = (srv: FakeOpenAI, key: string) => srv.requests().some((r) => r.auth.sha256 === keyFingerprint(key));

describe('the key and its origin', () => {
  it('a typed key belongs to the current origin', () => {
    const s = onA();
    expect(s.keyOrigin).toBe(a.origin);
    expect(s.keyNeedsConfirm).toBe(false);
    expect(s.requestProblem()).toBeNull();
  });

  it('after the origin changes, neither the connection test nor a send carries the old key', async () => {
    const s = onA();
    await s.testConnection();
    expect(s.connection.state).toBe('ok');
    expect(carriesKey(a, KEY_A)).toBe(true);

    s.baseUrl = b.baseUrl;
    expect(s.keyNeedsConfirm).toBe(true);
    expect(s.apiKey).toBe(KEY_A); // still shown, not used
    await s.testConnection();
    expect(s.connection).toMatchObject({ state: 'error', errorName: 'KeyNotConfirmedError' });
    expect(s.connection.message).toContain(a.origin);
    expect(s.connection.message).not.toContain(KEY_A);

    const session = new SendSession(s);
    const exchanges: unknown[] = [];
    await session.send(buildPayload('Q?', ['a compression']), { onExchange: (e) => exchanges.push(e) });
    expect(session.phase).toBe('error');
    expect(session.error?.name).toBe('KeyNotConfirmedError');
    expect(exchanges).toHaveLength(0); // nothing left the page
    expect(() => s.endpoint()).toThrow(expect.objectContaining({ name: 'KeyNotConfirmedError' }));
    expect(b.requests()).toHaveLength(0);
  });

  it('confirming the key for the new origin lets it go there', async () => {
    const s = onA();
    s.baseUrl = b.baseUrl;
    s.confirmKey();
    expect(s.keyOrigin).toBe(b.origin);
    await s.testConnection();
    expect(s.connection.state).toBe('ok');
    expect(carriesKey(b, KEY_A)).toBe(true);
  });

  it('entering another key for the new origin uses that one; going back brings the first key back', async () => {
    const s = onA();
    s.baseUrl = b.baseUrl;
    s.apiKey = KEY_B;
    expect(s.keyNeedsConfirm).toBe(false);
    await s.testConnection();
    expect(carriesKey(b, KEY_B)).toBe(true);
    expect(carriesKey(b, KEY_A)).toBe(false);
    s.baseUrl = a.baseUrl;
    expect(s.apiKey).toBe(KEY_A);
    expect(s.keyNeedsConfirm).toBe(false);
    s.baseUrl = `${b.baseUrl}/`; // same origin, another spelling
    expect(s.apiKey).toBe(KEY_B);
  });

  it('typing a base URL character by character never hands the key to the origins on the way', async () => {
    const s = onA();
    s.baseUrl = '';
    for (const ch of b.baseUrl) s.baseUrl += ch;
    expect(s.keyNeedsConfirm).toBe(true);
    await s.testConnection();
    expect(b.requests()).toHaveLength(0);
  });

  it('a key typed before any endpoint must be confirmed for the first one', () => {
    const s = new PredictorState({ store: memoryStore() });
    s.apiKey = KEY_A;
    s.baseUrl = a.baseUrl;
    expect(s.keyNeedsConfirm).toBe(true);
    expect(s.requestProblem()?.name).toBe('KeyNotConfirmedError');
    s.confirmKey();
    expect(s.requestProblem()).toBeNull();
  });

  it('the same path with no key at all is not held back', async () => {
    const s = new PredictorState({ store: memoryStore() });
    s.baseUrl = a.baseUrl;
    s.baseUrl = b.baseUrl;
    await s.testConnection();
    expect(s.connection.state).toBe('ok');
    expect(b.requests().every((r) => r.auth.sha256 === keyFingerprint('no-key'))).toBe(true);
  });
});

describe('remembered keys per origin', () => {
  const map = new Map<string, string>();
  const storage = {
    getItem: (k: string) => map.get(k) ?? null,
    setItem: (k: string, v: string) => void map.set(k, v),
    removeItem: (k: string) => void map.delete(k),
  };
  const store = () => localStorageStore(storage);
  beforeEach(() => map.clear());

  it('stores each key under its origin and loads the one for the saved endpoint', () => {
    const s = new PredictorState({ store: store() });
    s.baseUrl = a.baseUrl;
    s.apiKey = KEY_A;
    s.setRememberKey(true);
    s.baseUrl = b.baseUrl;
    s.apiKey = KEY_B;
    s.save();
    const saved = JSON.parse(map.get(STORAGE_KEY)!);
    expect(saved.apiKeys).toEqual({ [a.origin]: KEY_A, [b.origin]: KEY_B });
    expect(saved.apiKey).toBeUndefined();
    const again = new PredictorState({ store: store() });
    expect(again.baseUrl).toBe(b.baseUrl);
    expect(again.apiKey).toBe(KEY_B);
    again.baseUrl = a.baseUrl;
    expect(again.apiKey).toBe(KEY_A);
    expect(again.keyNeedsConfirm).toBe(false);
  });

  it('a key waiting for confirmation is not remembered for the new origin', () => {
    const s = new PredictorState({ store: store() });
    s.baseUrl = a.baseUrl;
    s.apiKey = KEY_A;
    s.baseUrl = b.baseUrl;
    s.setRememberKey(true);
    expect(JSON.parse(map.get(STORAGE_KEY)!).apiKeys).toEqual({ [a.origin]: KEY_A });
  });

  it('migrates the single remembered key of older versions to its base URL origin', () => {
    map.set(STORAGE_KEY, JSON.stringify({ baseUrl: a.baseUrl, model: 'fake-gpt', presetId: 'custom', rememberKey: true, apiKey: KEY_A, prices: {} }));
    const s = new PredictorState({ store: store() });
    expect(s.apiKey).toBe(KEY_A);
    expect(s.keyOrigin).toBe(a.origin);
    s.save();
    expect(JSON.parse(map.get(STORAGE_KEY)!)).toMatchObject({ apiKeys: { [a.origin]: KEY_A } });
    expect(JSON.parse(map.get(STORAGE_KEY)!).apiKey).toBeUndefined();
    s.baseUrl = b.baseUrl;
    expect(s.keyNeedsConfirm).toBe(true);
  });

  it('drops crafted entries: keys under non-origins, a legacy key without a base URL', () => {
    map.set(STORAGE_KEY, JSON.stringify({ baseUrl: '', rememberKey: true, apiKey: KEY_A, apiKeys: { 'not an origin': KEY_B, [a.baseUrl]: KEY_B, [b.origin]: 7 }, prices: {} }));
    const s = new PredictorState({ store: store() });
    expect(s.apiKey).toBe('');
    s.save();
    expect(map.get(STORAGE_KEY)).not.toContain(KEY_A);
    expect(map.get(STORAGE_KEY)).not.toContain(KEY_B);
  });

  it('forget key removes every key, stored and in memory', () => {
    const s = new PredictorState({ store: store() });
    s.baseUrl = a.baseUrl;
    s.apiKey = KEY_A;
    s.setRememberKey(true);
    s.baseUrl = b.baseUrl;
    s.apiKey = KEY_B;
    s.forgetKey();
    expect(map.get(STORAGE_KEY)).not.toContain('sk-origin');
    s.baseUrl = a.baseUrl;
    expect(s.apiKey).toBe('');
  });
});

describe('plain http and the page policy', () => {
  it('plain http to another machine needs a confirmation', () => {
    const s = new PredictorState({ store: memoryStore() });
    s.baseUrl = 'http://192.168.1.20:8000/v1';
    s.apiKey = KEY_A;
    expect(s.insecure).toBe(true);
    expect(s.requestProblem()?.name).toBe('InsecureEndpointError');
    s.confirmInsecure();
    expect(s.requestProblem()).toBeNull();
    s.baseUrl = 'http://192.168.1.21:8000/v1';
    s.apiKey = KEY_A;
    expect(s.requestProblem()?.name).toBe('InsecureEndpointError'); // accepted per origin
  });

  it('an endpoint the page policy blocks is refused by name before any request', async () => {
    const s = new PredictorState({ store: memoryStore(), mayConnect: (url) => !url.startsWith(b.origin) });
    s.baseUrl = b.baseUrl;
    s.apiKey = KEY_B;
    expect(s.blockedByPolicy).toBe(true);
    await s.testConnection();
    expect(s.connection.errorName).toBe('EndpointBlockedError');
    expect(b.requests()).toHaveLength(0);
  });
});

describe('auto-send', () => {
  it('switches off, and says so, when the base URL, preset or model changes', () => {
    const s = onA();
    for (const change of [
      (x: PredictorState) => (x.baseUrl = b.baseUrl),
      (x: PredictorState) => (x.model = 'gpt-4o'),
      (x: PredictorState) => x.applyPreset('openai'),
      (x: PredictorState) => x.applyPreset('custom'),
    ]) {
      s.setAutoSend(true);
      expect(s.autoSend).toBe(true);
      expect(s.autoSendMatches()).toBe(true);
      change(s);
      flushSync();
      expect(s.autoSend).toBe(false);
      expect(s.autoSendNotice).toMatch(/Auto-send was switched off because the (base URL|model|provider preset) changed/);
    }
    s.setAutoSend(true);
    expect(s.autoSendNotice).toBe('');
  });

  it('an unchanged value is not a change', () => {
    const s = onA();
    s.setAutoSend(true);
    s.baseUrl = a.baseUrl;
    s.model = 'fake-gpt';
    expect(s.autoSend).toBe(true);
  });
});

describe('throttled rendering', () => {
  it('3,000 deltas arriving at once update the answer a handful of times, and the final text is exact', async () => {
    a.script([{ kind: 'burst', pieces: 3000 }]);
    const s = onA();
    const session = new SendSession(s);
    await session.send(buildPayload('Q?', ['x']));
    const sent = a.requests().find((r) => r.method === 'POST');
    expect(sent?.stream?.contentChars).toBeGreaterThan(0);
    expect(session.phase).toBe('done');
    expect(session.answer.length).toBe(sent!.stream!.contentChars);
    expect(session.answerUpdates).toBeGreaterThan(0);
    expect(session.answerUpdates).toBeLessThan(300);
  });
});
