import 'fake-indexeddb/auto';
import { openDB } from 'idb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newSweepState } from '../core/sweep/run-sweep';
import type { SweepPlan } from '../core/sweep/plan';
import { closeDb, getDb, useDatabaseForTests } from './db';
import { upgradeSchema, type PrecisDb } from './schema';
import { createSweep, deleteSweep, getSweep, listSweeps, markInterruptedSweeps, saveSweep } from './sweeps';

const plan: SweepPlan = {
  engine: 'page', models: ['reference:stories260K'], scorer: 'self', bank: ['a', 'b'], question: 'q',
  budgets: [4], budgetUnit: 'tokens', maxTokens: 4, temperatures: [1], samples: 1, seeds: [0],
  baselines: { none: false, raw: false },
};

let n = 0;
beforeEach(async () => {
  await useDatabaseForTests(`precis-sweeps-${++n}-${Date.now()}`);
});
afterEach(async () => {
  await closeDb();
});

describe('sweeps store', () => {
  it('saves the state as it grows, lists, marks a running one interrupted on startup, deletes', async () => {
    const rec = await createSweep({ name: 'one', plan, state: newSweepState(plan, 'h') });
    rec.state.configs[0].runs[0].compressions.push({
      context: 0, sample: 0, seed: 1, text: 'x', generatedIds: [5], logprobsNats: [-1], stopReason: 'length', truncated: true, ids: [5],
    });
    await saveSweep(rec);
    const back = await getSweep(rec.id);
    expect(back!.state.configs[0].runs[0].compressions).toHaveLength(1);
    expect((await listSweeps()).map((s) => [s.name, s.status, s.configs])).toEqual([['one', 'running', 1]]);
    expect(await markInterruptedSweeps()).toEqual([rec.id]);
    expect((await getSweep(rec.id))!.status).toBe('interrupted');
    await deleteSweep(rec.id);
    expect(await listSweeps()).toEqual([]);
    await expect(deleteSweep(rec.id)).rejects.toMatchObject({ name: 'NotFoundError' });
  });

  it('a version-1 database is upgraded in place, keeping its runs', async () => {
    await closeDb();
    const name = `precis-upgrade-${Date.now()}`;
    // Version 1 as shipped: the ladder's first step only.
    const v1 = await openDB<PrecisDb>(name, 1, {
      upgrade: (db, old) => {
        upgradeSchema(db, old);
        db.deleteObjectStore('sweeps');
      },
    });
    expect(v1.objectStoreNames.contains('sweeps')).toBe(false);
    await v1.put('settings', { key: 'k', value: 1 });
    v1.close();
    await useDatabaseForTests(name);
    const db = await getDb();
    expect(db.objectStoreNames.contains('sweeps')).toBe(true);
    expect(await db.get('settings', 'k')).toEqual({ key: 'k', value: 1 });
  });
});
