/**
 * Tells the app's other tabs (same origin, same browser profile) that a run changed, over a
 * BroadcastChannel: when it starts or resumes, after each saved compression, when it finishes,
 * and when it is deleted. A tab showing that run read-only ("running in another tab") reads it
 * again from the database; the runs list refreshes. The database stays the record: a message
 * only says what to re-read, never carries the run itself.
 *
 * One channel object per tab, so a tab never hears its own messages. Without BroadcastChannel
 * nothing is sent and nothing arrives (other tabs then see changes on reload).
 */
import type { RunStatus } from '../storage';

export interface RunAnnouncement {
  runId: string;
  /** The run's status after the change, or 'deleted'. */
  status: RunStatus | 'deleted';
  /** A compression was saved (the status did not change). */
  compression?: boolean;
}

const CHANNEL = 'precis-runs';
type Listener = (a: RunAnnouncement) => void;

let channel: BroadcastChannel | null = null;
const listeners = new Set<Listener>();

function open(): BroadcastChannel | null {
  if (channel || typeof BroadcastChannel === 'undefined') return channel;
  channel = new BroadcastChannel(CHANNEL);
  channel.onmessage = (ev: MessageEvent) => {
    const a = ev.data as Partial<RunAnnouncement> | null;
    if (!a || typeof a.runId !== 'string' || typeof a.status !== 'string') return;
    for (const l of listeners) l({ runId: a.runId, status: a.status, ...(a.compression ? { compression: true } : {}) });
  };
  return channel;
}

export function announceRun(a: RunAnnouncement): void {
  try {
    open()?.postMessage(a);
  } catch {
    // A closed channel (page unloading): the other tabs see the change on their next read.
  }
}

/** Listen to other tabs' announcements. Returns an unsubscribe. */
export function onRunAnnounced(listener: Listener): () => void {
  open();
  listeners.add(listener);
  return () => listeners.delete(listener);
}
