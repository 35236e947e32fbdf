import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EngineLoadReport } from '../core/engine';
import { closeDb, useDatabaseForTests } from './db';
import { checkEngineReport } from './engine-report';
import { parseExport } from './export-format';
import { createRun, getRun, listRuns } from './runs';
import type { RunSettings } from './schema';

const settings: RunSettings = { temperature: 1, topP: 1, maxTokens: 32, seed: 7, samplesPerContext: 1 };
const report: EngineLoadReport = {
  promptReuse: true,
  promptReuseNote: 'KV roll-back checked: one prompt prefill serves every continuation',
  fastPath: true,
  fastPathNote: 'all-positions scoring agrees with forced decoding within 1e-2 nats per token (largest difference 4.87e-3); using it, 110 positions per call',
  fastPathMaxDiffNats: 4.87e-3,
  fastPathToleranceNats: 1e-2,
};

let n = 0;
beforeEach(async () => {
  await useDatabaseForTests(`precis-engine-report-${++n}-${Date.now()}`);
});
afterEach(async () => {
  await closeDb();
});

describe('a run keeps the engine load report', () => {
  it('is stored with the run and read back (and listed)', async () => {
    // A proxy stands in for the page's reactive state, which IndexedDB cannot clone.
    const proxied = new Proxy({ ...report }, {});
    const run = await createRun({ question: 'q', docIds: [], modelId: 'Qwen2.5-3B-Instruct-q4f16_1-MLC', settings, bank: [], engineReport: proxied });
    expect((await getRun(run.id))!.run.engineReport).toEqual(report);
    expect((await listRuns())[0].engineReport).toEqual(report);
  });

  it('is absent for engines without one', async () => {
    const run = await createRun({ question: 'q', docIds: [], modelId: 'reference:stories260K', settings, bank: [] });
    expect('engineReport' in (await getRun(run.id))!.run).toBe(false);
  });
});

describe('checkEngineReport', () => {
  it('accepts a report and rebuilds it from the known fields only', () => {
    const r = checkEngineReport({ ...report, extra: 'x' }, 'runs[0].run.engineReport');
    expect(r.problems).toEqual([]);
    expect(r.report).toEqual(report);
  });

  it('names each bad field by its path', () => {
    const r = checkEngineReport({ ...report, fastPath: 'yes', fastPathMaxDiffNats: -1, promptReuseNote: undefined }, 'runs[1].run.engineReport');
    expect(r.report).toBeNull();
    expect(r.problems).toEqual([
      'runs[1].run.engineReport.promptReuseNote is missing',
      'runs[1].run.engineReport.fastPath should be true or false',
      'runs[1].run.engineReport.fastPathMaxDiffNats should be a number of nats, 0 or more, or null',
    ]);
    expect(checkEngineReport([], 'x').problems).toEqual(['x should be an object']);
  });
});

describe('import of a run with an engine report', () => {
  const file = (engineReport: unknown) =>
    JSON.stringify({
      format: 'precis-export',
      schemaVersion: 1,
      documents: [],
      runs: [{ run: { id: 'r', question: 'q', modelId: 'm', createdAt: 1, settings, status: 'done', docIds: [], bank: [], engineReport }, compressions: [] }],
    });

  it('accepts a valid one and refuses a bad one by its path', async () => {
    expect((await parseExport(file(report))).runs[0].run.engineReport).toEqual(report);
    await expect(parseExport(file({ ...report, fastPathToleranceNats: 'tiny' }))).rejects.toThrowError(
      expect.objectContaining({ name: 'ImportFormatError', message: expect.stringContaining('runs[0].run.engineReport.fastPathToleranceNats should be a number') }),
    );
  });
});
