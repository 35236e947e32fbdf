import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startInferenceFixture, type FixtureKind } from '../e2e/fixtures/inference-server';
import { FIXTURE_DIR, fixturePresent, loadFixture, noteIfFixtureMissing, storyLines } from './fixture';
import { runCli } from './run-cli';

noteIfFixtureMissing('mi command on fixture inference servers');

// The first six stories keep the test quick; the reference run uses the same file.
const STORIES = path.join(mkdtempSync(path.join(os.tmpdir(), 'precis-mi-server-')), 'stories6.jsonl');
writeFileSync(STORIES, storyLines().slice(0, 6).join('\n') + '\n');

const run = (args: string[]) => runCli('mi.ts', args);

interface Out {
  miNats: number;
  contexts: { promptIds: number[] }[];
  compressions: { ids: number[]; termNats: number; scoresNats: number[] }[];
  server?: { sampler: string; requests: number; cachedTokens: number };
}

const common = ['--contexts', STORIES, '--question', 'Who is in the story?', '--samples', '2', '--max-tokens', '10', '--seed', '4'];

describe.skipIf(!fixturePresent)('mi command with --engine vllm|sglang', () => {
  it('prints the reference engine\'s JSON: the same prompt ids, ids and terms', async () => {
    const reference = await run(['--model', FIXTURE_DIR, ...common]);
    expect(reference.code).toBe(0);
    const want = JSON.parse(reference.stdout) as Out;
    for (const [kind, extra] of [['vllm', []], ['sglang', ['--concurrency', '3']]] as const) {
      const server = await startInferenceFixture({ kind, engine: loadFixture(), convention: 'dropped-first' });
      try {
        const r = await run(['--engine', kind, '--base-url', `${server.url}/v1`, '--served-model', 'stories260K', '--prompt-style', 'plain', ...extra, ...common]);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        const got = JSON.parse(r.stdout) as Out;
        expect(got.contexts).toEqual(want.contexts);
        got.compressions.forEach((c, k) => {
          expect(c.ids).toEqual(want.compressions[k].ids);
          expect(Math.abs(c.termNats - want.compressions[k].termNats)).toBeLessThan(1e-9);
        });
        expect(Math.abs(got.miNats - want.miNats)).toBeLessThan(1e-9);
        expect(got.server?.sampler).toBe('server');
        if (kind === 'sglang') expect(got.server!.cachedTokens).toBeGreaterThan(0);
      } finally {
        await server.close();
      }
    }
  }, 120_000);

  it('a server that cannot score: exit code 1 and ServerCannotScoreError on stderr', async () => {
    for (const kind of ['llama-server', 'ollama'] as FixtureKind[]) {
      const server = await startInferenceFixture({ kind, engine: loadFixture() });
      try {
        const r = await run(['--engine', 'vllm', '--base-url', server.url, '--served-model', 'stories260K', ...common]);
        expect(r.code).toBe(1);
        expect(r.stdout).toBe('');
        expect(r.stderr).toMatch(/^ServerCannotScoreError: This server cannot score text: use it to generate, with another scorer/);
      } finally {
        await server.close();
      }
    }
  }, 60_000);

  it('refuses a temperature a server cannot score before sending anything', async () => {
    const r = await run(['--engine', 'sglang', '--base-url', 'http://127.0.0.1:9', '--served-model', 'x', ...common, '--temperature', '0.7']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ServerTemperatureError/);
  });
});
