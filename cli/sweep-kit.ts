/**
 * Tests only: what the sweep command's tests share. A temporary folder to write configs and
 * banks into, the command run as a user runs it, its one-line JSON read back, and the first half
 * of a resume test (a whole sweep against a fixture server that is then closed).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { startInferenceFixture, type FixtureOptions } from '../e2e/fixtures/inference-server';
import type { SweepOutput } from '../src/lib/core/sweep/run-sweep';
import { storyLines } from './fixture';
import { runCli, type CliResult } from './run-cli';


/** cli/fixtures/stories.jsonl, one `{"text": ...}` line each. */
export const STORY_LINES = storyLines();

/** The output without the keys that change from run to run (clocks, traffic). */
export function withoutKeys(o: unknown, keys: readonly string[]): unknown {
  return JSON.parse(JSON.stringify(o, (k, v) => (keys.includes(k) ? undefined : v)));
}

export interface SweepWorkspace {
  dir: string;
  /** Write a file into the folder; returns its path. */
  file(name: string, text: string): string;
  /** Write a config (JSON) into the folder; returns its path. */
  config(name: string, value: object): string;
  /** `npm run --silent sweep -- ARGS`. */
  run(args: string[]): Promise<CliResult>;
  /** Run the config at `configPath` (optionally with --out), expect success and one JSON line. */
  sweep<T = SweepOutput>(configPath: string, out?: string): Promise<T>;
}

export function sweepWorkspace(prefix: string): SweepWorkspace {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const file = (name: string, text: string) => {
    const f = path.join(dir, name);
    writeFileSync(f, text);
    return f;
  };
  const run = (args: string[]) => runCli('sweep.ts', args);
  return {
    dir,
    file,
    config: (name, value) => file(name, JSON.stringify(value)),
    run,
    async sweep<T>(configPath: string, out?: string): Promise<T> {
      const r = await run(['--config', configPath, ...(out ? ['--out', out] : [])]);
      expect(r.stderr).not.toMatch(/Error/);
      expect(r.code).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines).toHaveLength(1);
      return JSON.parse(lines[0]) as T;
    },
  };
}

/**
 * The first half of a resume test: a whole sweep against a fixture server that is closed
 * afterwards (the second half uses a new address), and its --out file read back as the state
 * to cut down.
 */
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
