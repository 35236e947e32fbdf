/**
 * Tests only: the first half of a resume test. Run a whole sweep against a fixture server that
 * is closed afterwards (the next half uses a new address), and read back its --out file as the
 * state to cut down.
 */
import { readFileSync } from 'node:fs';
import { startInferenceFixture, type FixtureOptions } from '../e2e/fixtures/inference-server';
import type { SweepOutput } from '../src/lib/core/sweep/run-sweep';

export async function sweepOnFreshServer<T>(
  fixture: FixtureOptions,
  run: (baseURL: string) => Promise<T>,
  outFile: string,
): Promise<{ full: T; saved: SweepOutput }> {
  const server = await startInferenceFixture(fixture);
  let full: T;
  try {
    full = await run(server.url);
  } finally {
    await server.close();
  }
  const saved = JSON.parse(readFileSync(outFile, 'utf8')) as SweepOutput;
  saved.status = 'running';
  return { full, saved };
}
