/**
 * Auto-send, independent of which view is on screen: a run seen unfinished while auto-send is
 * on is sent once, when it reaches `done`, and only to the endpoint auto-send was switched on
 * for (PredictorState switches it off on any change of base URL, preset or model, and this
 * checks again before sending). A run already done when auto-send is switched on, or reopened
 * later, is never sent by it. A send the predictor settings hold back (key not confirmed for the
 * origin, plain http, the page's policy) leaves the run pending: nothing goes out.
 *
 * The page's owner starts it once (`startAutoSend`) and keeps it for the page's life.
 */
import { untrack } from 'svelte';
import type { PredictorState } from '../state/predictor.svelte';
import type { Exchange } from './exchange';
import { buildPayload } from './payload';
import type { SendSession } from './send-session.svelte';

export interface AutoSendSource {
  runId: string | null;
  /** The run's state, as `run-state` shows it. */
  runState: string;
  question: string;
  /** The compressions to send (the selected documents' only). */
  compressions: string[];
  /** The device is offline: a run that finishes now is skipped, not queued for later. */
  offline?: boolean;
  onExchange?: (exchange: Exchange) => void;
}

/** Watch `source()` and send each finished run once while auto-send is on. Returns a stop function. */
export function startAutoSend(predictor: PredictorState, session: SendSession, source: () => AutoSendSource): () => void {
  return $effect.root(() => {
    $effect(() => {
      const on = predictor.autoSend;
      const s = source();
      const id = s.runId;
      const state = s.runState;
      const question = s.question;
      const compressions = s.compressions;
      const offline = s.offline === true;
      const ready =
        predictor.ready && predictor.requestProblem() === null && compressions.length > 0 && question.trim() !== '' && !session.busy;
      if (!on) {
        untrack(() => session.autoPending.clear());
        return;
      }
      if (!id) return;
      untrack(() => {
        if (session.autoSent.has(id)) return;
        if (state !== 'done') {
          if (state === 'running' || state === 'preparing') session.autoPending.add(id);
          return;
        }
        if (!session.autoPending.has(id)) return;
        if (offline) {
          // Nothing is queued while offline: this run is not auto-sent later.
          session.autoPending.delete(id);
          session.autoSent.add(id);
          return;
        }
        if (!ready) return;
        if (!predictor.autoSendMatches()) {
          predictor.stopAutoSend('the endpoint is not the one auto-send was switched on for');
          return;
        }
        session.autoPending.delete(id);
        session.autoSent.add(id);
        void session.send(buildPayload(question, compressions), { runId: id, onExchange: s.onExchange });
      });
    });
  });
}
