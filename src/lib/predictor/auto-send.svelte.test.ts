// @vitest-environment happy-dom
// (happy-dom: Svelte effects run only with the browser build, which Vitest resolves for a DOM environment.)
// Auto-send against the real fake server: one send per finished run, none while it runs, none
// for a run that was already done, and none after the endpoint changed.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { flushSync } from 'svelte';
import { startFakeOpenAI, type FakeOpenAI } from '../../../e2e/fixtures/fake-openai.mjs';
import { PredictorState } from '../state/predictor.svelte';
import { startAutoSend, type AutoSendSource } from './auto-send.svelte';
import { SendSession } from './send-session.svelte';
import { memoryStore } from './settings';

let srv: FakeOpenAI;
beforeAll(async () => {
  srv = await startFakeOpenAI();
});
afterAll(() => srv.close());
beforeEach(() => srv.reset());

const chats = () => srv.requests().filter((r) => r.method === 'POST');

function setup() {
  const predictor = new PredictorState({ store: memoryStore() });
  predictor.baseUrl = srv.baseUrl;
  predictor.apiKey = 'sk-auto-send-0123456789';
  predictor.model = 'fake-gpt';
  const session = new SendSession(predictor);
  const run = $state<AutoSendSource>({ runId: null, runState: 'idle', question: 'Q?', compressions: [] });
  const stop = startAutoSend(predictor, session, () => run);
  const idle = async () => {
    flushSync();
    while (session.busy) await new Promise((r) => setTimeout(r, 5));
  };
  return { predictor, session, run, stop, idle };
}

describe('auto-send', () => {
  it('sends a finished run once, not for each compression saved while it ran', async () => {
    const { predictor, run, stop, idle } = setup();
    predictor.setAutoSend(true);
    run.runId = 'r1';
    run.runState = 'running';
    for (const c of ['one', 'two', 'three']) {
      run.compressions = [...run.compressions, c];
      await idle();
    }
    expect(chats()).toHaveLength(0);
    run.runState = 'done';
    await idle();
    expect(chats()).toHaveLength(1);
    expect(chats()[0].body).toContain('three');
    run.compressions = [...run.compressions, 'four']; // a late change never re-sends
    await idle();
    expect(chats()).toHaveLength(1);
    stop();
  });

  it('never sends a run that was already done (reopened) when auto-send was switched on', async () => {
    const { predictor, run, stop, idle } = setup();
    run.runId = 'old';
    run.runState = 'done';
    run.compressions = ['kept'];
    predictor.setAutoSend(true);
    await idle();
    expect(chats()).toHaveLength(0);
    stop();
  });

  it('sends nothing after the endpoint changed under a running run', async () => {
    const { predictor, run, stop, idle } = setup();
    predictor.setAutoSend(true);
    run.runId = 'r2';
    run.runState = 'running';
    run.compressions = ['a'];
    await idle();
    predictor.model = 'gpt-4o';
    run.runState = 'done';
    await idle();
    expect(predictor.autoSend).toBe(false);
    expect(chats()).toHaveLength(0);
    stop();
  });

  it('a held-back send (key not confirmed for the new origin) sends nothing', async () => {
    const { predictor, run, stop, idle } = setup();
    predictor.baseUrl = 'http://127.0.0.1:9/v1';
    predictor.setAutoSend(true);
    run.runId = 'r3';
    run.runState = 'running';
    run.compressions = ['a'];
    await idle();
    run.runState = 'done';
    await idle();
    expect(predictor.requestProblem()?.name).toBe('KeyNotConfirmedError');
    expect(chats()).toHaveLength(0);
    stop();
  });
});
