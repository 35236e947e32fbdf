/**
 * The sweep command line, end to end on stories260K: every configuration's terms and MI
 * recomputed by an independent float64 forward pass, a proxy scorer's ids, resume from a
 * partial --out file, evaluation against the fake predictor (a real HTTP server), a predictor
 * error half-way (pause, keep, resume), off-format answers, and fewer than three configurations.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../e2e/fixtures/fake-openai.mjs';
import { answerMessages } from '../src/lib/core/sweep/judge';
import { wilsonInterval } from '../src/lib/core/sweep/stats';
import type { SweepOutput } from '../src/lib/core/sweep/run-sweep';
import { FIXTURE_DIR, fixturePresent, loadFixture, noteIfFixtureMissing } from './fixture';
import { logSumExp as lse, sequenceLogprobF64 } from './recompute';
import { STORY_LINES, sweepWorkspace, withoutKeys } from './sweep-kit';

noteIfFixtureMissing('sweep command');

const ws = sweepWorkspace('precis-sweep-');
const { dir, file, config, run } = ws;
const STORIES = STORY_LINES;
const sweep = (cfg: string, out?: string) => ws.sweep(cfg, out);

/** Everything but the clocks: a resumed sweep must equal an uninterrupted one. */
const withoutClocks = (o: SweepOutput): unknown => withoutKeys(o, ['timings', 'wallMs', 'tokensPerSecond']);

// Independent path: cli/recompute.ts (one full float64 forward pass, not the engine's scoring code).
const model = fixturePresent ? loadFixture().model : null;
function sequenceLogprob(prompt: number[], ids: number[], T: number): number {
  return sequenceLogprobF64(model!, prompt, ids, T);
}

/** Recompute every term of every run from the printed ids, then each run's and config's MI. */
function checkTerms(out: SweepOutput, promptFor: (run: SweepOutput['configs'][number]['runs'][number], l: number, item?: number) => number[]): void {
  for (const cfg of out.configs) {
    const T = cfg.temperature === 0 ? 1 : cfg.temperature;
    const bits: number[] = [];
    for (const run of cfg.runs) {
      const n = run.contexts.length;
      const terms = run.compressions.map((c) => {
        const s = run.contexts.map((_, l) => sequenceLogprob(promptFor(run, l, c.item), c.ids, T));
        const term = s[c.context] - lse(s) + Math.log(n);
        expect(Math.abs(term - c.termNats!)).toBeLessThan(1e-6);
        return term;
      });
      const mi = terms.reduce((a, b) => a + b, 0) / terms.length;
      expect(run.miNats!).toBeCloseTo(mi, 6);
      expect(run.miBits!).toBeCloseTo(mi / Math.LN2, 6);
      expect(run.ceilingBits).toBeCloseTo(Math.log2(n), 12);
      const meanTokens = run.compressions.reduce((a, c) => a + c.generatedIds.length, 0) / run.compressions.length;
      expect(run.meanTokens).toBeCloseTo(meanTokens, 12);
      expect(run.bitsPerToken!).toBeCloseTo(run.miBits! / meanTokens, 9);
      bits.push(run.miBits!);
    }
    const m = bits.reduce((a, b) => a + b, 0) / bits.length;
    expect(cfg.miBitsMean!).toBeCloseTo(m, 9);
    const sd = bits.length > 1 ? Math.sqrt(bits.reduce((a, b) => a + (b - m) ** 2, 0) / (bits.length - 1)) : 0;
    expect(cfg.miBitsSpread!).toBeCloseTo(sd, 9);
  }
}

const FOUR = file('four.jsonl', STORIES.slice(0, 4).join('\n') + '\n');
const grid = {
  engine: 'reference',
  models: [FIXTURE_DIR],
  contexts: FOUR,
  question: 'Who is in the story?',
  budgets: [5, 9],
  temperatures: [0.8],
  samples: 2,
  seeds: [0, 1],
  scorer: 'self',
};

describe.skipIf(!fixturePresent)('sweep command on stories260K', () => {
  let full: SweepOutput;
  const fullOut = path.join(dir, 'full.out.json');

  it('prints one JSON object whose terms and MI an independent float64 forward pass reproduces', async () => {
    full = await sweep(config('grid.json', grid), fullOut);
    expect(full.status).toBe('done');
    expect(full.configs.map((c) => [c.budget, c.temperature])).toEqual([[5, 0.8], [9, 0.8]]);
    for (const cfg of full.configs) {
      expect(cfg.runs.map((r) => r.seed)).toEqual([0, 1]);
      expect(cfg.scorerId).toBe('reference:stories260K');
      for (const r of cfg.runs) {
        expect(r.contexts).toHaveLength(4);
        expect(r.compressions).toHaveLength(8);
        for (const c of r.compressions) {
          expect(c.ids).toEqual(c.generatedIds);
          expect(c.ids.length).toBeLessThanOrEqual(cfg.budget);
        }
      }
      // FLOPs: L·(2·N + 2·n_layer·n_ctx·d_attn), n_ctx = prompt + L, mean over compressions.
      const arch = cfg.architecture!;
      expect(arch).toEqual({ parameterCount: 260032, layers: 5, attentionDim: 64 });
      const flops = cfg.runs.flatMap((r) =>
        r.compressions.map((c) => {
          const L = c.generatedIds.length;
          return L * (2 * arch.parameterCount + 2 * arch.layers * (r.generationPromptIds[c.context].length + L) * arch.attentionDim);
        }),
      );
      expect(cfg.flopsPerCompression).toBeCloseTo(flops.reduce((a, b) => a + b, 0) / flops.length, 3);
      expect(cfg.cost!.model).toBe('gpt-4o');
      expect(cfg.cost!.rawTokens).toBeGreaterThan(0);
      expect(cfg.tokensPerSecond).toBeGreaterThan(0);
    }
    checkTerms(full, (run, l) => run.contexts[l].promptIds);
  }, 120_000);

  it('resumes from a partial --out file to exactly the uninterrupted result', async () => {
    const partial = JSON.parse(readFileSync(fullOut, 'utf8')) as SweepOutput;
    partial.status = 'running';
    const second = partial.configs[1];
    second.runs[0].compressions = second.runs[0].compressions.slice(0, 3);
    for (const r of second.runs) {
      r.scored = false;
      delete r.miNats;
    }
    second.runs[1].compressions = [];
    const out = path.join(dir, 'partial.out.json');
    writeFileSync(out, JSON.stringify(partial));
    const resumed = await sweep(path.join(dir, 'grid.json'), out);
    expect(withoutClocks(resumed)).toEqual(withoutClocks(full));
    // The file now holds the finished sweep.
    expect(JSON.parse(readFileSync(out, 'utf8')).status).toBe('done');
  }, 120_000);

  it('refuses to resume a file made with another configuration', async () => {
    const other = config('other.json', { ...grid, budgets: [5] });
    const r = await run(['--config', other, '--out', fullOut]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/SweepResumeError: .*different configuration/);
  }, 60_000);

  it('with a proxy scorer, scores the re-tokenised text under the scorer and records its ids', async () => {
    const proxyDir = path.join(dir, 'proxy-model');
    mkdirSync(proxyDir, { recursive: true });
    copyFileSync(path.join(FIXTURE_DIR, 'stories260K.bin'), path.join(proxyDir, 'scorer.bin'));
    copyFileSync(path.join(FIXTURE_DIR, 'tok512.bin'), path.join(proxyDir, 'scorer-tok.bin'));
    const out = await sweep(config('proxy.json', { ...grid, budgets: [7], seeds: [3], scorer: proxyDir }));
    const cfg = out.configs[0];
    expect(cfg.modelId).toBe('reference:stories260K');
    expect(cfg.scorerId).toBe('reference:scorer');
    const tok = loadFixture();
    for (const c of cfg.runs[0].compressions) {
      expect(c.ids).toEqual([...tok.tokenize(c.text), ...(c.stopReason === 'stop' ? [2] : [])]);
    }
    checkTerms(out, (run, l) => run.contexts[l].promptIds);
  }, 120_000);

  it('names the model and the passage when a passage is too long for a window', async () => {
    const long = file('long.jsonl', `{"text": "A short one."}\n${JSON.stringify({ text: 'The cat sat on the mat. '.repeat(120) })}\n`);
    const r = await run(['--config', config('long.json', { ...grid, contexts: long })]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/ContextTooLongError: Context 2 .*model reference:stories260K/);
  }, 60_000);

  it('reports a bad evaluation line by number', async () => {
    const items = file('bad-items.jsonl', '{"context": "a b", "question": "q?", "answer": "A", "options": ["x", "y"]}\n{"context": "c", "question": "q?", "answer": "E", "options": ["x", "y"]}\n');
    const r = await run(['--config', config('bad-eval.json', { ...grid, eval: { items, predictor: { baseURL: 'http://127.0.0.1:9/v1', model: 'm' }, judge: 'choice' } })]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/EvalItemsError: .*bad-items\.jsonl line 2: .*letter of the right option/);
  }, 60_000);
});

const ITEMS = [
  { context: 'Tom had a red kite. He ran up the hill to fly it in the wind.', question: 'What did Tom fly?', options: ['a kite', 'a plane', 'a flag'], answer: 'A' },
  { context: 'Mia found a small gray cat under the bench. She gave it some warm milk.', question: 'What did Mia give the cat?', options: ['bread', 'warm milk', 'a fish'], answer: 'B' },
  { context: 'The old bear lived in a cave by the river. Every morning he caught a fish.', question: 'Where did the bear live?', options: ['a tree', 'a house', 'a cave'], answer: 'C' },
  { context: 'Lucy baked a cake for her grandma. It had pink frosting and three candles.', question: 'Who was the cake for?', options: ['her grandma', 'her dog', 'her teacher'], answer: 'A' },
];

describe.skipIf(!fixturePresent)('sweep command with an evaluation set and the fake predictor', () => {
  let srv: FakeOpenAI;
  const itemsFile = file('items.jsonl', ITEMS.map((i) => JSON.stringify(i)).join('\n') + '\n');
  const evalGrid = (model: string, judge: string, budgets: number[]) => ({
    engine: 'reference',
    models: [FIXTURE_DIR],
    budgets,
    temperatures: [1],
    samples: 1,
    seeds: [0],
    scorer: 'self',
    eval: { items: itemsFile, predictor: { baseURL: `${srv.baseUrl}`, model, apiKeyEnv: 'PRECIS_TEST_KEY' }, judge },
  });
  let reference: SweepOutput;

  beforeAll(async () => {
    srv = await startFakeOpenAI();
    process.env.PRECIS_TEST_KEY = 'sk-test-sweep';
  });
  afterAll(async () => {
    await srv.close();
  });

  it('answers every item from its compressions only, judges letters, fits D(R) over three configurations', async () => {
    srv.reset();
    reference = await sweep(config('eval3.json', evalGrid('fake-gpt', 'choice', [4, 8, 12])));
    expect(reference.configs).toHaveLength(3);
    for (const cfg of reference.configs) {
      const items = cfg.runs[0].items!;
      expect(items.map((i) => i.index)).toEqual([0, 1, 2, 3]);
      const correct = items.filter((i) => i.correct).length;
      expect(cfg.accuracy).toBeCloseTo(correct / 4, 12);
      const w = wilsonInterval(correct, 4)!;
      expect(cfg.accuracyLow).toBeCloseTo(w.low, 12);
      expect(cfg.accuracyHigh).toBeCloseTo(w.high, 12);
      for (const it of items) expect(it.correct).toBe(it.answer.trim() === ITEMS[it.index].answer);
    }
    // I(X;Z|Q): item i's compression is scored under every context with item i's question.
    checkTerms(reference, (run, l, item) => run.contexts[l].promptIdsByItem![item!]);
    expect(reference.fit).toBeDefined();
    for (const k of ['C', 'b', 'D0', 'rmse'] as const) expect(Number.isFinite(reference.fit![k])).toBe(true);
    expect(reference.correlation).toHaveProperty('pearson');
    expect(reference.correlation).toHaveProperty('spearman');
    expect(reference.baselines!.none!.items).toHaveLength(4);

    // Privacy: each request is the question, the options and the compressions, nothing else.
    const chats = srv.requests().filter((r) => r.path.endsWith('/chat/completions'));
    expect(chats).toHaveLength(3 * 4 + 4);
    const expected = new Set<string>();
    for (const cfg of reference.configs) {
      for (const [i, item] of ITEMS.entries()) {
        const texts = cfg.runs[0].compressions.filter((c) => c.item === i).map((c) => c.text);
        expected.add(JSON.stringify(answerMessages(item, texts, 'compressions')));
      }
    }
    for (const item of ITEMS) expected.add(JSON.stringify(answerMessages(item, [], 'none')));
    for (const r of chats) {
      expect(expected.has(JSON.stringify(r.json!.messages))).toBe(true);
      for (const item of ITEMS) expect(r.body).not.toContain(item.context);
    }
  }, 180_000);

  it('pauses on a predictor error half-way, keeps everything, and resumes to the same result', async () => {
    srv.reset();
    srv.script([{ kind: 'pass' }, { kind: 'pass' }, { kind: 'pass' }, { kind: 'pass' }, { kind: 'pass' }, { kind: '401' }]);
    const cfg = path.join(dir, 'eval3.json');
    const out = path.join(dir, 'paused.out.json');
    const r = await run(['--config', cfg, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/SweepPausedError: .*InvalidApiKeyError/);
    const saved = JSON.parse(readFileSync(out, 'utf8')) as SweepOutput;
    expect(saved.status).toBe('paused');
    expect(saved.configs.every((c) => c.runs.every((run) => run.scored))).toBe(true);
    expect(saved.configs[0].runs[0].items).toHaveLength(4);
    expect(saved.configs[1].runs[0].items).toHaveLength(1);
    const before = srv.requests().length;
    const resumed = await sweep(cfg, out);
    // Only the missing answers were asked: 3 + 4 + 4 baseline.
    expect(srv.requests().length - before).toBe(3 + 4 + 4);
    expect(withoutClocks(resumed)).toEqual(withoutClocks(reference));
  }, 180_000);

  it('with fewer than three configurations says a fit needs three and prints none; off-format letters are wrong and flagged', async () => {
    srv.reset();
    const out = await sweep(config('eval2.json', evalGrid('fake-offformat', 'choice', [4, 8])));
    expect(out.fit).toBeUndefined();
    expect(out.fitNote).toMatch(/needs at least 3 configurations.*has 2/);
    expect(out.correlation).toBeUndefined();
    for (const cfg of out.configs) {
      expect(cfg.offFormat).toBe(4);
      expect(cfg.accuracy).toBe(0);
      expect(cfg.runs[0].items!.every((i) => i.offFormat && i.correct === false)).toBe(true);
    }
  }, 180_000);

  it('an LLM judge that answers off format leaves the item out (unknown), never counted right', async () => {
    srv.reset();
    const cfg = evalGrid('fake-gpt', 'llm', [4]);
    const out = await sweep(config('eval-llm.json', { ...cfg, eval: { ...cfg.eval, judgeEndpoint: { baseURL: srv.baseUrl, model: 'fake-offformat' } } }));
    const items = out.configs[0].runs[0].items!;
    expect(items.every((i) => i.correct === null && i.offFormat && typeof i.judgeReply === 'string')).toBe(true);
    expect(out.configs[0].judged).toBe(0);
    expect(out.configs[0].accuracy).toBeUndefined();
    expect(out.judgePrompt).toMatch(/CORRECT or INCORRECT|CORRECT if/);
    // The judge saw no context and no compression.
    const judgeRequests = srv.requests().filter((r) => r.json?.model === 'fake-offformat');
    expect(judgeRequests.length).toBe(2 * 4 * 2);
    for (const r of judgeRequests) {
      for (const c of out.configs[0].runs[0].compressions) if (c.text.trim().length > 3) expect(r.body).not.toContain(c.text.trim());
      for (const item of ITEMS) expect(r.body).not.toContain(item.context);
    }
  }, 180_000);
});

afterAll(() => {
  if (!existsSync(dir)) return;
});
