/**
 * The sweep command on inference servers: the vLLM and SGLang fixture servers (real HTTP on
 * loopback, backed by the reference engine) give the reference-engine sweep's prompt ids, ids
 * and terms (to 1e-9); every scored id list is one the server was actually sent; a served
 * proxy scorer and a local-folder scorer; resume with --out against a new address; named
 * errors for bad combinations and for a server that cannot score.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startInferenceFixture, type FixtureServer } from '../e2e/fixtures/inference-server';
import type { SweepOutput } from '../src/lib/core/sweep/run-sweep';
import { FIXTURE_DIR, fixturePresent, loadFixture, noteIfFixtureMissing } from './fixture';
import { STORY_LINES, sweepOnFreshServer, sweepWorkspace, withoutKeys } from './sweep-kit';

noteIfFixtureMissing('sweep command on inference servers');

const ws = sweepWorkspace('precis-sweep-server-');
const { dir, config, run } = ws;

type Out = SweepOutput & { server?: { host: string; requests: number; cachedTokens: number; tokensScored: number } };

const sweep = (cfg: object, name: string, out?: string) => ws.sweep<Out>(config(name, cfg), out);

const withoutClocks = (o: Out): unknown => withoutKeys(o, ['timings', 'wallMs', 'tokensPerSecond', 'server']);

const contexts = ws.file('four.jsonl', STORY_LINES.slice(0, 4).join('\n') + '\n');
const grid = { contexts, question: 'Who is in the story?', budgets: [6], temperatures: [1], samples: 2, seeds: [0, 3] };

/** The same prompt ids, ids and terms (1e-9) as the reference-engine sweep. */
function expectSameAs(got: Out, want: Out): void {
  expect(got.status).toBe('done');
  expect(got.configs).toHaveLength(want.configs.length);
  got.configs.forEach((cfg, ci) => {
    const ref = want.configs[ci];
    expect([cfg.budget, cfg.temperature]).toEqual([ref.budget, ref.temperature]);
    cfg.runs.forEach((r, ri) => {
      const rr = ref.runs[ri];
      expect(r.contexts).toEqual(rr.contexts);
      expect(r.compressions).toHaveLength(rr.compressions.length);
      r.compressions.forEach((c, k) => {
        const w = rr.compressions[k];
        expect([c.context, c.sample]).toEqual([w.context, w.sample]);
        expect(c.generatedIds).toEqual(w.generatedIds);
        expect(c.ids).toEqual(w.ids);
        expect(Math.abs(c.termNats! - w.termNats!)).toBeLessThan(1e-9);
        c.scoresNats!.forEach((s, l) => expect(Math.abs(s - w.scoresNats![l])).toBeLessThan(1e-9));
      });
      expect(Math.abs(r.miNats! - rr.miNats!)).toBeLessThan(1e-9);
    });
    expect(Math.abs(cfg.miBitsMean! - ref.miBitsMean!)).toBeLessThan(1e-9);
  });
}

/** Every id list the sweep says it scored (promptIds[l] + ids) was sent to the server for scoring. */
function expectScoredBy(out: Out, server: FixtureServer): void {
  const sent = new Set<string>();
  for (const req of server.requests) {
    if (req.method !== 'POST') continue;
    const body = JSON.parse(req.body) as Record<string, unknown>;
    const lists = req.path === '/v1/completions' && body.echo === true ? body.prompt : req.path === '/generate' && (body.sampling_params as { max_new_tokens?: number })?.max_new_tokens === 0 ? body.input_ids : null;
    if (Array.isArray(lists)) for (const seq of lists as number[][]) sent.add(JSON.stringify(seq));
  }
  let checked = 0;
  for (const cfg of out.configs) {
    for (const r of cfg.runs) {
      for (const c of r.compressions) {
        if (c.ids.length === 0) continue;
        r.contexts.forEach((ctx) => {
          expect(sent.has(JSON.stringify([...ctx.promptIds, ...c.ids]))).toBe(true);
          checked++;
        });
      }
    }
  }
  expect(checked).toBeGreaterThan(0);
}

describe.skipIf(!fixturePresent)('sweep command on vLLM and SGLang (fixture servers)', () => {
  let reference: Out;

  it('on the vllm and the sglang fixture: the reference sweep\'s ids and terms, scored by the server', async () => {
    reference = await sweep({ engine: 'reference', models: [FIXTURE_DIR], ...grid }, 'reference.json');
    const vllm = await startInferenceFixture({ kind: 'vllm', engine: loadFixture() });
    try {
      const out = await sweep({ engine: 'vllm', baseURL: `${vllm.url}/v1`, servedModel: 'stories260K', ...grid }, 'vllm.json');
      expectSameAs(out, reference);
      expectScoredBy(out, vllm);
      expect(out.engine).toBe('vllm');
      expect(out.configs[0].modelId).toBe('vllm:stories260K');
      expect(out.configs[0].scorerId).toBe('vllm:stories260K');
      expect(out.server!.host).toBe(new URL(vllm.url).host);
      expect(out.server!.requests).toBeGreaterThan(0);
    } finally {
      await vllm.close();
    }
    const sglang = await startInferenceFixture({ kind: 'sglang', engine: loadFixture() });
    try {
      const out = await sweep(
        { engine: 'sglang', baseURL: sglang.url, models: ['stories260K'], concurrency: 3, batchSize: 3, ...grid },
        'sglang.json',
      );
      expectSameAs(out, reference);
      expectScoredBy(out, sglang);
      // logprob_start_len at the continuation keeps each context in the prefix cache.
      expect(out.server!.cachedTokens).toBeGreaterThan(0);
      // (The fixture also counts generation and the connect probe; the engine counts scoring only.)
      expect(out.server!.cachedTokens).toBeLessThanOrEqual(sglang.stats.cachedTokens);
    } finally {
      await sglang.close();
    }
  }, 180_000);

  it('a served proxy scorer re-tokenises on the server; a local-folder scorer allows other temperatures', async () => {
    const vllm = await startInferenceFixture({ kind: 'vllm', engine: loadFixture() });
    try {
      const want = await sweep({ engine: 'reference', models: [FIXTURE_DIR], ...grid, seeds: [1], scorer: FIXTURE_DIR }, 'ref-proxy.json');
      const got = await sweep({ engine: 'vllm', baseURL: vllm.url, servedModel: 'stories260K', ...grid, seeds: [1], scorer: 'stories260K' }, 'vllm-proxy.json');
      expect(got.scorer).toBe('stories260K');
      expectSameAs(got, want);
      expectScoredBy(got, vllm);
      const tok = loadFixture();
      for (const c of got.configs[0].runs[0].compressions) expect(c.ids).toEqual([...tok.tokenize(c.text), ...(c.stopReason === 'stop' ? [2] : [])]);

      const warm = { ...grid, seeds: [2], temperatures: [0.8] };
      const wantLocal = await sweep({ engine: 'reference', models: [FIXTURE_DIR], ...warm, scorer: FIXTURE_DIR }, 'ref-local.json');
      const gotLocal = await sweep({ engine: 'vllm', baseURL: vllm.url, servedModel: 'stories260K', ...warm, scorer: FIXTURE_DIR }, 'vllm-local.json');
      expect(gotLocal.configs[0].scorerId).toBe('reference:stories260K');
      expectSameAs(gotLocal, wantLocal);
    } finally {
      await vllm.close();
    }
  }, 180_000);

  it('resumes a partial --out file, against the same model at a new address, to the uninterrupted result', async () => {
    const outFile = path.join(dir, 'resume.out.json');
    const cfg = { engine: 'sglang', servedModel: 'stories260K', ...grid, budgets: [4, 7] };
    const { full, saved: partial } = await sweepOnFreshServer(
      { kind: 'sglang', engine: loadFixture(), convention: 'dropped-first' },
      (url) => sweep({ ...cfg, baseURL: url }, 'resume-a.json', outFile),
      outFile,
    );
    const second = partial.configs[1];
    second.runs[0].compressions = second.runs[0].compressions.slice(0, 3);
    for (const r of second.runs) {
      r.scored = false;
      delete r.miNats;
    }
    second.runs[1].compressions = [];
    writeFileSync(outFile, JSON.stringify(partial));
    const again = await startInferenceFixture({ kind: 'sglang', engine: loadFixture() });
    try {
      const resumed = await sweep({ ...cfg, baseURL: again.url }, 'resume-b.json', outFile);
      expect(withoutClocks(resumed)).toEqual(withoutClocks(full));
      // Only the missing work was asked for: 5 of config 1 seed 0's 8 compressions, 8 of seed 3's.
      const generations = again.requests.filter((r) => r.path === '/generate' && (JSON.parse(r.body) as { sampling_params: { max_new_tokens: number } }).sampling_params.max_new_tokens > 0);
      expect(generations).toHaveLength(5 + 8);
    } finally {
      await again.close();
    }
  }, 180_000);

  it('named errors: temperatures a server cannot score, chat prompts on SGLang, mixed fields, a server that cannot score', async () => {
    const bad = async (cfg: object, name: string, pattern: RegExp) => {
      const r = await run(['--config', config(name, cfg)]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(pattern);
    };
    // Port 9 (discard): nothing is listening, and nothing is sent before the refusal.
    const nowhere = 'http://127.0.0.1:9';
    await bad({ engine: 'vllm', baseURL: nowhere, servedModel: 'm', ...grid, temperatures: [1, 0.7] }, 'e1.json', /^SweepConfigError: Sweep configuration: .*temperatures 0\.7 cannot be scored by a server.*ServerTemperatureError/);
    await bad({ engine: 'sglang', baseURL: nowhere, servedModel: 'm', ...grid, promptStyle: 'chat' }, 'e2.json', /^SweepConfigError: Sweep configuration: SGLang's \/tokenize takes no chat messages/);
    await bad({ engine: 'vllm', baseURL: nowhere, servedModel: 'm', models: ['m'], ...grid }, 'e3.json', /^SweepConfigError: Sweep configuration: .*"servedModel" \(one model\) or "models"/);
    await bad({ engine: 'reference', models: [FIXTURE_DIR], baseURL: nowhere, ...grid }, 'e4.json', /^SweepConfigError: Sweep configuration: "baseURL" apply to "engine": "vllm" or "sglang" only/);
    await bad({ engine: 'sglang', baseURL: nowhere, servedModel: 'm', vllmScoring: 'echo', ...grid }, 'e5.json', /^SweepConfigError: Sweep configuration: "vllmScoring" applies to "engine": "vllm" only/);
    await bad({ engine: 'vllm', servedModel: 'm', ...grid }, 'e6.json', /^SweepConfigError: Sweep configuration: "engine": "vllm" needs "baseURL"/);
    await bad({ engine: 'vllm', baseURL: nowhere, servedModel: 'm', apiKeyEnv: 'PRECIS_TEST_UNSET_KEY_13', ...grid }, 'e7.json', /^SweepConfigError: Sweep configuration: the environment variable PRECIS_TEST_UNSET_KEY_13/);
    await bad({ engine: 'vllm', baseURL: nowhere, servedModel: 'm', ...grid }, 'e8.json', /^ServerUnreachableError: The server at 127.0.0.1:9 did not answer/m);
    const llama = await startInferenceFixture({ kind: 'llama-server', engine: loadFixture() });
    try {
      await bad({ engine: 'vllm', baseURL: llama.url, servedModel: 'stories260K', ...grid }, 'e9.json', /^ServerCannotScoreError: This server cannot score text: use it to generate, with another scorer/m);
      // Refused on connect: no generation request was ever sent.
      // (The capability check tries echo and prompt_logprobs; only generation sends a seed.)
      expect(llama.requests.filter((r) => r.path === '/v1/completions' && 'seed' in (JSON.parse(r.body) as object))).toHaveLength(0);
    } finally {
      await llama.close();
    }
  }, 120_000);
});
