/**
 * Sweeps: the only code that touches the `sweeps` store. A sweep record holds its plan and its
 * whole state (src/lib/core/sweep/run-sweep.ts SweepOutput); the runner calls `saveSweepState`
 * after every finished compression, scored run and answer, so a reload keeps all of them. On
 * startup `markInterruptedSweeps()` turns sweeps left `running` by a page that is gone (no Web
 * Lock held) into `interrupted`; resuming passes the saved state back to the runner.
 */
import type { SweepPlan } from '../core/sweep/plan';
import type { SweepOutput } from '../core/sweep/run-sweep';
import { getDb } from './db';
import { mapQuota, NotFoundError } from './errors';

export type SweepRecordStatus = 'running' | 'done' | 'cancelled' | 'interrupted' | 'failed';

export interface SweepRecord {
  id: string;
  name: string;
  createdAt: number;
  updatedAt: number;
  status: SweepRecordStatus;
  /** Null for a sweep opened from a file (the command line's output): shown, never resumed here. */
  plan: SweepPlan | null;
  /** The file it was opened from, when it was. */
  importedFrom?: string;
  /** Model option values of the plan's models, as the page loads them. */
  state: SweepOutput;
  error: { name: string; message: string } | null;
}

export type SweepMeta = Pick<SweepRecord, 'id' | 'name' | 'createdAt' | 'updatedAt' | 'status'> & { configs: number };

export function sweepMeta(r: SweepRecord): SweepMeta {
  return { id: r.id, name: r.name, createdAt: r.createdAt, updatedAt: r.updatedAt, status: r.status, configs: r.state.configs.length };
}

export async function createSweep(input: {
  name: string;
  plan: SweepPlan | null;
  state: SweepOutput;
  id?: string;
  status?: SweepRecordStatus;
  importedFrom?: string;
}): Promise<SweepRecord> {
  const now = Date.now();
  const record: SweepRecord = {
    id: input.id ?? crypto.randomUUID(),
    name: input.name,
    createdAt: now,
    updatedAt: now,
    status: input.status ?? 'running',
    plan: input.plan,
    ...(input.importedFrom !== undefined ? { importedFrom: input.importedFrom } : {}),
    state: input.state,
    error: null,
  };
  const db = await getDb();
  await mapQuota('Saving the sweep', () => db.put('sweeps', record));
  return record;
}

/** Write the sweep's state (and status) as it is now. */
export async function saveSweep(record: SweepRecord): Promise<void> {
  record.updatedAt = Date.now();
  const db = await getDb();
  // Structured clone of a plain snapshot: the state object may be a Svelte proxy.
  const plain = JSON.parse(JSON.stringify(record)) as SweepRecord;
  await mapQuota('Saving the sweep', () => db.put('sweeps', plain));
}

export async function getSweep(id: string): Promise<SweepRecord | undefined> {
  return (await getDb()).get('sweeps', id);
}

export async function listSweeps(): Promise<SweepMeta[]> {
  const all = await (await getDb()).getAllFromIndex('sweeps', 'by-created');
  return all.reverse().map(sweepMeta);
}

export async function deleteSweep(id: string): Promise<void> {
  const db = await getDb();
  if (!(await db.get('sweeps', id))) throw new NotFoundError('The sweep');
  await db.delete('sweeps', id);
}

export function sweepLockName(id: string): string {
  return `precis-sweep-${id}`;
}

/** Hold the sweep's Web Lock while `work` runs (so another tab does not mark it interrupted). */
export async function withSweepLock<T>(id: string, work: () => Promise<T>): Promise<T> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (!locks) return work();
  return locks.request(sweepLockName(id), work);
}

/** Sweeps left `running` with no page holding their lock become `interrupted`. */
export async function markInterruptedSweeps(): Promise<string[]> {
  const db = await getDb();
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  const held = new Set(((await locks?.query())?.held ?? []).map((l) => l.name));
  const changed: string[] = [];
  for (const r of await db.getAll('sweeps')) {
    if (r.status === 'running' && !held.has(sweepLockName(r.id))) {
      r.status = 'interrupted';
      r.updatedAt = Date.now();
      await db.put('sweeps', r);
      changed.push(r.id);
    }
  }
  return changed;
}
