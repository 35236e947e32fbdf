import { describe, expect, it } from 'vitest';
import { CONTINUATION_IDS, FIXTURE_DIR, PROMPT_IDS, fixturePresent, noteIfFixtureMissing } from './fixture';
import { UsageError, parseArgs } from './shared';
import { runCli } from './run-cli';

noteIfFixtureMissing('command line');

const run = (script: string, args: string[]) => runCli(script, args);

describe('parseArgs', () => {
  it('parses typed flags and rejects unknown ones', () => {
    const spec = { model: 'string', n: 'number', ids: 'ids', quiet: 'boolean' } as const;
    expect(parseArgs(['--model', 'd', '--n=3', '--ids', '1, 2,3', '--quiet'], spec)).toEqual({
      model: 'd',
      n: 3,
      ids: [1, 2, 3],
      quiet: true,
    });
    expect(parseArgs(['--ids', ''], spec)).toEqual({ ids: [] });
    expect(() => parseArgs(['--bogus', '1'], spec)).toThrow(UsageError);
    expect(() => parseArgs(['--n', 'x'], spec)).toThrow(/needs a number/);
    expect(() => parseArgs(['--ids', '1,a'], spec)).toThrow(/token ids/);
    expect(() => parseArgs(['--model'], spec)).toThrow(/needs a value/);
  });
});

describe.skipIf(!fixturePresent)('generate and score commands', { timeout: 30_000 }, () => {
  it('generate prints one JSON object with greedy ids, text and log-probs', async () => {
    const r = await run('generate.ts', ['--model', FIXTURE_DIR, '--prompt', 'Once upon a time', '--max-tokens', '20', '--temperature', '0']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0]);
    expect(Object.keys(out)).toEqual(['promptIds', 'ids', 'text', 'logprobsNats']);
    expect(out.promptIds).toEqual(PROMPT_IDS.slice(0, 5));
    expect(out.ids.slice(0, 11)).toEqual(PROMPT_IDS.slice(5));
    expect(out.ids).toHaveLength(20);
    expect(out.logprobsNats).toHaveLength(20);
    expect(out.text.startsWith(', there was a little girl named Lily. She')).toBe(true);
  }, 30_000);

  it('score prints the teacher-forced log-probs; errors go to stderr with exit code 1', async () => {
    const [ok, bad] = await Promise.all([
      run('score.ts', ['--model', FIXTURE_DIR, '--prompt-ids', PROMPT_IDS.join(','), '--continuation-ids', CONTINUATION_IDS.join(',')]),
      run('score.ts', ['--model', FIXTURE_DIR, '--prompt-ids', '1', '--continuation-ids', '1,'.repeat(600) + '1']),
    ]);
    expect(ok.code).toBe(0);
    const { logprobsNats } = JSON.parse(ok.stdout);
    expect(logprobsNats).toHaveLength(16);
    const sum = logprobsNats.reduce((a: number, b: number) => a + b, 0);
    expect(Math.abs(sum - -4.08896)).toBeLessThan(1e-3);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/ContextTooLongError/);
  }, 30_000);
});
