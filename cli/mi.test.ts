import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURE_DIR, fixturePresent, loadFixture, noteIfFixtureMissing, STORIES_FILE } from './fixture';
import { sequenceLogprobF64, termFromScores } from './recompute';
import { runCli } from './run-cli';

noteIfFixtureMissing('mi command');

const STORIES = STORIES_FILE;

const run = (args: string[]) => runCli('mi.ts', args);

function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'precis-mi-'));
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

interface MiOutput {
  miNats: number;
  miBits: number;
  ceilingBits: number;
  bitsPerToken: number;
  contexts: { promptIds: number[] }[];
  compressions: { context: number; ids: number[]; termNats: number; pmiNats: number[]; truncated: boolean }[];
  counters: { prefillTokens: number; decodeSteps: number; forwardCalls: number };
}

describe('mi command: bad input', () => {
  it('refuses fewer than two contexts with a message and exit code 1, printing nothing on stdout', async () => {
    const one = tempFile('one.jsonl', '{"text": "Tom had a red kite."}\n\n');
    const r = await run(['--model', FIXTURE_DIR, '--contexts', one, '--samples', '1', '--max-tokens', '4']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/NotEnoughContextsError: .*at least two contexts/);
  });

  it('reports a malformed line by number', async () => {
    const bad = tempFile('bad.jsonl', '{"text": "a"}\n{"txt": "b"}\n');
    const r = await run(['--model', FIXTURE_DIR, '--contexts', bad, '--samples', '1', '--max-tokens', '4']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/line 2 has no "text"/);
  });
});

describe.skipIf(!fixturePresent)('mi command on stories260K', () => {
  it('refuses a context that leaves no room for the compression in the window', async () => {
    const long = JSON.stringify({ text: 'The cat sat on the mat. '.repeat(120) });
    const file = tempFile('long.jsonl', `{"text": "A short one."}\n${long}\n`);
    const r = await run(['--model', FIXTURE_DIR, '--contexts', file, '--samples', '1', '--max-tokens', '8']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/ContextTooLongError: Context 2 /);
  });

  it('prints terms that an independent float64 recomputation from the printed ids reproduces', async () => {
    const T = 0.9;
    const r = await run([
      '--model', FIXTURE_DIR, '--contexts', STORIES, '--question', 'Who is in the story?',
      '--samples', '2', '--max-tokens', '16', '--temperature', String(T), '--seed', '11',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0]) as MiOutput;
    const n = out.contexts.length;
    expect(n).toBe(16);
    expect(out.compressions).toHaveLength(32);
    expect(out.ceilingBits).toBe(4);
    for (const c of out.compressions) expect(c.truncated).toBe(c.ids.length === 16 && !c.ids.includes(2));

    // Independent path: one full forward pass over prompt + compression from position 0 per
    // (context, compression), float64 log-softmax of logits / T written here.
    const model = loadFixture().model;
    const sequenceLogprob = (prompt: number[], ids: number[]) => sequenceLogprobF64(model, prompt, ids, T);
    // A subset keeps the test quick: every fourth compression, under all 16 contexts.
    for (const c of out.compressions.filter((_, k) => k % 4 === 0)) {
      const s = out.contexts.map((ctx) => sequenceLogprob(ctx.promptIds, c.ids));
      const term = termFromScores(s, c.context);
      expect(Math.abs(term - c.termNats)).toBeLessThan(1e-6);
      expect(Math.abs(c.pmiNats.reduce((a, b) => a + b, 0) - c.termNats)).toBeLessThan(1e-9);
    }
    const mean = out.compressions.reduce((a, c) => a + c.termNats, 0) / out.compressions.length;
    expect(out.miNats).toBeCloseTo(mean, 12);
    expect(out.miBits).toBeCloseTo(mean / Math.LN2, 12);
    expect(out.miNats).toBeLessThanOrEqual(Math.log(16));
    const meanTokens = out.compressions.reduce((a, c) => a + c.ids.length, 0) / 32;
    expect(out.bitsPerToken).toBeCloseTo(out.miBits / meanTokens, 12);

    // Scoring work is within the minimum of ESTIMATOR.md §5 (the prefix is reused).
    const minimum = out.contexts.reduce((a, c) => a + c.promptIds.length, 0) + n * meanTokens * 32;
    expect(out.counters.prefillTokens + out.counters.decodeSteps).toBeLessThanOrEqual(minimum);
  }, 60_000);
});
