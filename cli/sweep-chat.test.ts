/**
 * The sweep command with generate-only compressors: an Ollama-like fixture server (stories260K
 * behind Ollama's OpenAI-compatible chat API) writes, and one fixed scorer scores every text,
 * a local model folder or a model on a vLLM fixture server. A sweep run equals `mi --compressor`
 * with the same seed (texts, ids, terms to 1e-9); resume asks only for what is missing; named
 * errors for what such a sweep cannot do.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startInferenceFixture } from '../e2e/fixtures/inference-server';
import { SWEEP_CHAT_KINDS } from '../src/lib/core/sweep/plan';
import type { SweepOutput } from '../src/lib/core/sweep/run-sweep';
import { CHAT_KINDS } from '../workers/engines/chat/wire';
import { FIXTURE_DIR, fixturePresent, loadFixture, noteIfFixtureMissing } from './fixture';
import { runCli } from './run-cli';
import { STORY_LINES, sweepOnFreshServer, sweepWorkspace, withoutKeys } from './sweep-kit';

noteIfFixtureMissing('sweep command with generate-only compressors');

const ws = sweepWorkspace('precis-sweep-chat-');
const { dir, config } = ws;
const contexts = ws.file('four.jsonl', STORY_LINES.slice(0, 4).join('\n') + '\n');
const question = 'Who is in the story?';
const grid = { contexts, question, budgets: [12], temperatures: [1], samples: 2, seeds: [4] };

type Out = SweepOutput & { compressor?: { host: string; requests: number; retries: number }; server?: { host: string; requests: number } };

const sweep = (cfg: object, name: string, out?: string) => ws.sweep<Out>(config(name, cfg), out);

const chatRequests = (server: { requests: { method: string; path: string }[] }) =>
  server.requests.filter((r) => r.method === 'POST' && r.path === '/v1/chat/completions');

const withoutClocks = (o: Out): unknown => withoutKeys(o, ['timings', 'wallMs', 'tokensPerSecond', 'compressor', 'server']);

it('the sweep knows every generate-only kind the compressor speaks', () => {
  expect([...SWEEP_CHAT_KINDS].sort()).toEqual(Object.keys(CHAT_KINDS).sort());
});

describe.skipIf(!fixturePresent)('sweep command with a generate-only compressor (fixture servers)', () => {
  it('equals mi --compressor with the same seed, scored by a local folder or by a vLLM server', async () => {
    const ollama = await startInferenceFixture({ kind: 'ollama', engine: loadFixture() });
    const vllm = await startInferenceFixture({ kind: 'vllm', engine: loadFixture() });
    try {
      const local = await sweep({ engine: 'ollama', baseURL: ollama.url, models: ['stories260K'], scorer: FIXTURE_DIR, concurrency: 3, ...grid }, 'local.json');
      expect(local.status).toBe('done');
      expect(local.engine).toBe('ollama');
      const cfg = local.configs[0];
      expect(cfg.modelId).toBe('ollama:stories260K');
      expect(cfg.scorerId).toBe('reference:stories260K');
      expect(cfg.architecture).toBeNull();
      expect(cfg.flopsPerCompression).toBeUndefined();
      expect(local.compressor).toMatchObject({ host: new URL(ollama.url).host, requests: expect.any(Number) });
      expect(chatRequests(ollama)).toHaveLength(8);

      const mi = await runCli('mi.ts', [
        '--compressor', 'ollama', '--compressor-url', ollama.url, '--compressor-model', 'stories260K',
        '--model', FIXTURE_DIR, '--contexts', contexts, '--question', question, '--samples', '2', '--max-tokens', '12', '--seed', '4',
      ]);
      expect(mi.code).toBe(0);
      const want = JSON.parse(mi.stdout) as { miNats: number; contexts: { promptIds: number[] }[]; compressions: { text: string; ids: number[]; termNats: number; generator?: unknown }[] };
      const run = cfg.runs[0];
      expect(run.contexts.map((c) => c.promptIds)).toEqual(want.contexts.map((c) => c.promptIds));
      expect(run.compressions.map((c) => c.text)).toEqual(want.compressions.map((c) => c.text));
      run.compressions.forEach((c, k) => {
        expect(c.ids).toEqual(want.compressions[k].ids);
        expect(c.generatedIds).toEqual([]);
        expect(c.generator).toEqual(want.compressions[k].generator);
        expect(Math.abs(c.termNats! - want.compressions[k].termNats)).toBeLessThan(1e-9);
      });
      expect(Math.abs(run.miNats! - want.miNats)).toBeLessThan(1e-9);
      // Bits per token count the scorer's tokens of each text.
      expect(run.meanTokens).toBeCloseTo(run.compressions.reduce((a, c) => a + c.ids.length, 0) / run.compressions.length, 12);

      const served = await sweep(
        { engine: 'ollama', baseURL: ollama.url, models: ['stories260K'], scorer: 'stories260K', scorerServer: { engine: 'vllm', baseURL: vllm.url, batchSize: 4 }, ...grid },
        'served.json',
      );
      const s = served.configs[0];
      expect(s.scorerId).toBe('vllm:stories260K');
      expect(served.server).toMatchObject({ host: new URL(vllm.url).host });
      expect(s.runs[0].compressions.map((c) => c.text)).toEqual(run.compressions.map((c) => c.text));
      // The vLLM fixture is the same model, but a server scorer has no stop id to append.
      s.runs[0].compressions.forEach((c) => expect(c.ids).toEqual(loadFixture().tokenize(c.text)));
      expect(Number.isFinite(s.runs[0].miNats)).toBe(true);
    } finally {
      await ollama.close();
      await vllm.close();
    }
  }, 180_000);

  it('resumes a partial --out file at a new address, asking only for the missing compressions', async () => {
    const outFile = path.join(dir, 'resume.out.json');
    const cfg = { engine: 'ollama', models: ['stories260K'], scorer: FIXTURE_DIR, ...grid, seeds: [1, 2] };
    const { full, saved: partial } = await sweepOnFreshServer({ kind: 'ollama', engine: loadFixture() }, (url) => sweep({ ...cfg, baseURL: url }, 'resume-a.json', outFile), outFile);
    const runs = partial.configs[0].runs;
    runs[0].compressions = runs[0].compressions.slice(0, 5);
    runs[1].compressions = [];
    for (const r of runs) {
      r.scored = false;
      delete r.miNats;
    }
    writeFileSync(outFile, JSON.stringify(partial));
    const again = await startInferenceFixture({ kind: 'ollama', engine: loadFixture() });
    try {
      const resumed = await sweep({ ...cfg, baseURL: again.url }, 'resume-b.json', outFile);
      expect(withoutClocks(resumed)).toEqual(withoutClocks(full));
      expect(chatRequests(again)).toHaveLength(3 + 8);
    } finally {
      await again.close();
    }
  }, 180_000);

  it('named errors: no scorer, a host that is not this machine, a compressor model not served', async () => {
    const bad = async (cfg: object, name: string, pattern: RegExp) => {
      const r = await ws.run(['--config', config(name, cfg)]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(pattern);
    };
    await bad({ engine: 'ollama', models: ['m'], ...grid }, 'c1.json', /^SweepConfigError: .*cannot score text, so "scorer" is required/);
    // A TEST-NET address: refused before anything is sent.
    await bad({ engine: 'ollama', baseURL: 'http://192.0.2.7:11434', models: ['m'], scorer: FIXTURE_DIR, ...grid }, 'c2.json', /^ServerHostNotConfirmedError: .*192\.0\.2\.7:11434/m);
    await bad({ engine: 'lmstudio', models: ['m'], scorer: FIXTURE_DIR, batchSize: 2, ...grid }, 'c3.json', /"batchSize" does not apply to a generate-only compressor/);
    const ollama = await startInferenceFixture({ kind: 'ollama', engine: loadFixture() });
    try {
      await bad({ engine: 'ollama', baseURL: ollama.url, models: ['llama3.1:8b'], scorer: FIXTURE_DIR, ...grid }, 'c4.json', /^ServerModelNotServedError: .*stories260K/m);
      expect(chatRequests(ollama)).toHaveLength(0);
    } finally {
      await ollama.close();
    }
  }, 120_000);
});
