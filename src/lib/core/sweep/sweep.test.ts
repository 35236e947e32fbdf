import { describe, expect, it } from 'vitest';
import { EvalItemsError, parseItems, parseItemsCsv, parseItemsJsonl } from './eval-items';
import { answerMessages, judgeChoice, judgeExact, normaliseAnswer, readChoiceLetter, readJudgeReply } from './judge';
import { estimateSweepSeconds, planHash, splitBank, validateGrid, type SweepPlan } from './plan';
import { correlation, distortionAt, fitNeedsMessage, fitRateDistortion, wilsonInterval } from './stats';
import { newSweepState, readSweepFile } from './run-sweep';

describe('Wilson interval', () => {
  it('matches published values', () => {
    // 8 of 10: 0.4902 – 0.9433; 0 of 10: 0 – 0.2775; 50 of 100: 0.4038 – 0.5962.
    const a = wilsonInterval(8, 10)!;
    expect(a.low).toBeCloseTo(0.4902, 4);
    expect(a.high).toBeCloseTo(0.9433, 4);
    const b = wilsonInterval(0, 10)!;
    expect(b.low).toBe(0);
    expect(b.high).toBeCloseTo(0.2775, 4);
    const c = wilsonInterval(50, 100)!;
    expect(c.low).toBeCloseTo(0.4038, 4);
    expect(c.high).toBeCloseTo(0.5962, 4);
    expect(wilsonInterval(0, 0)).toBeNull();
    expect(() => wilsonInterval(3, 2)).toThrow(RangeError);
  });
});

describe('rate–distortion fit', () => {
  it('recovers known parameters from exact synthetic points', () => {
    const R = [0, 0.4, 0.9, 1.5, 2.2, 3, 4];
    const truth = { C: 0.55, b: 1.4, D0: 0.12 };
    const fit = fitRateDistortion(R, R.map((r) => distortionAt(truth, r)))!;
    expect(fit.C).toBeCloseTo(truth.C, 5);
    expect(fit.b).toBeCloseTo(truth.b, 4);
    expect(fit.D0).toBeCloseTo(truth.D0, 5);
    expect(fit.rmse).toBeLessThan(1e-6);
  });

  it('fits noisy points close to the truth, with the RMSE of the residuals', () => {
    const R = [0.2, 0.5, 0.8, 1.1, 1.6, 2, 2.5, 3.2, 4];
    const truth = { C: 0.7, b: 0.9, D0: 0.2 };
    const noise = [0.01, -0.012, 0.008, -0.005, 0.011, -0.009, 0.004, -0.007, 0.006];
    const D = R.map((r, i) => distortionAt(truth, r) + noise[i]);
    const fit = fitRateDistortion(R, D)!;
    expect(Math.abs(fit.C - truth.C)).toBeLessThan(0.08);
    expect(Math.abs(fit.b - truth.b)).toBeLessThan(0.2);
    expect(Math.abs(fit.D0 - truth.D0)).toBeLessThan(0.05);
    const rmse = Math.sqrt(R.reduce((a, r, i) => a + (distortionAt(fit, r) - D[i]) ** 2, 0) / R.length);
    expect(fit.rmse).toBeCloseTo(rmse, 12);
    expect(fit.rmse).toBeLessThan(0.012);
  });

  it('refuses fewer than three points and says why', () => {
    expect(fitRateDistortion([1, 2], [0.5, 0.3])).toBeNull();
    expect(fitNeedsMessage(2)).toMatch(/needs at least 3 configurations.*has 2/);
  });
});

describe('correlation', () => {
  it('gives Pearson and Spearman, null when undefined', () => {
    const c = correlation([1, 2, 3, 4], [1, 3, 2, 4]);
    expect(c.pearson).toBeCloseTo(0.8, 12);
    expect(c.spearman).toBeCloseTo(0.8, 12);
    expect(correlation([1, 2, 3], [1, 8, 27]).spearman).toBeCloseTo(1, 12);
    expect(correlation([1, 2], [3, 4])).toEqual({ pearson: null, spearman: null });
    expect(correlation([1, 1, 1], [1, 2, 3]).pearson).toBeNull();
  });
});

describe('evaluation items', () => {
  it('reads JSON Lines and names the bad line', () => {
    const ok = parseItemsJsonl('{"context":"c","question":"q","answer":"b","options":["x","y"]}\n\n{"context":"d","question":"q2","answer":"Paris"}\n', 'a.jsonl');
    expect(ok).toEqual([
      { context: 'c', question: 'q', answer: 'B', options: ['x', 'y'] },
      { context: 'd', question: 'q2', answer: 'Paris' },
    ]);
    const bad = (text: string) => {
      try {
        parseItemsJsonl(text, 'a.jsonl');
      } catch (err) {
        expect(err).toBeInstanceOf(EvalItemsError);
        expect((err as Error).name).toBe('EvalItemsError');
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    expect(bad('{"context":"c","question":"q","answer":"a"}\n{oops\n')).toMatch(/a\.jsonl line 2: not valid JSON/);
    expect(bad('{"context":"c","question":"q"}\n')).toMatch(/line 1: "answer" must be a string/);
    expect(bad('{"context":" ","question":"q","answer":"a"}\n')).toMatch(/line 1: "context" is empty/);
    expect(bad('\n\n{"context":"c","question":"q","answer":"D","options":["x","y","z"]}\n')).toMatch(/line 3: .*A to C \(got "D"\)/);
    expect(bad('{"context":"c","question":"q","answer":"A","options":["x"]}\n')).toMatch(/2 to 26 entries/);
    expect(bad('{"context":"c","question":"q","answer":"A","options":"x"}\n')).toMatch(/list of non-empty strings/);
    expect(bad('\n')).toMatch(/no items/);
  });

  it('reads CSV with quoted fields spanning lines (papaparse) and gives physical line numbers', () => {
    const csv = 'context,question,answer,options\n"first line\nsecond, with comma",q1,B,"[""x"",""y""]"\nctx2,q2,A,x | y\n\nctx3,q3,free text,\n"bad",q,Z,x | y\n';
    try {
      parseItemsCsv(csv, 't.csv');
      throw new Error('accepted');
    } catch (err) {
      expect((err as Error).name).toBe('EvalItemsError');
      expect((err as Error).message).toMatch(/t\.csv line 7: .*A to B \(got "Z"\)/);
    }
    const good = parseItems(csv.split('\n').slice(0, 6).join('\n'), 'items.CSV');
    expect(good).toEqual([
      { context: 'first line\nsecond, with comma', question: 'q1', answer: 'B', options: ['x', 'y'] },
      { context: 'ctx2', question: 'q2', answer: 'A', options: ['x', 'y'] },
      { context: 'ctx3', question: 'q3', answer: 'free text' },
    ]);
    expect(() => parseItemsCsv('context,question\nc,q\n', 'h.csv')).toThrow(/no "answer" column/);
    expect(() => parseItemsCsv('context,question,answer\nc,q\n', 'h.csv')).toThrow(/line 2: has 2 fields/);
    expect(() => parseItemsCsv('context,question,answer\n"open,q,a\n', 'h.csv')).toThrow(/line 2: CSV Quoted field unterminated/);
  });
});

describe('judges', () => {
  const item = { context: 'secret context', question: 'Which?', answer: 'B', options: ['one', 'two', 'three'] };
  it('reads option letters in the accepted forms only', () => {
    for (const s of ['B', ' b ', '(B)', 'B.', 'B) two', 'Answer: B', 'The answer is B.', '**B**']) expect(readChoiceLetter(s, 3)).toBe('B');
    for (const s of ['', 'I think two', 'D', 'Both A and B', 'maybe']) expect(readChoiceLetter(s, 3)).toBeNull();
    expect(judgeChoice('B', item)).toMatchObject({ correct: true, offFormat: false });
    expect(judgeChoice('A', item)).toMatchObject({ correct: false, offFormat: false });
    expect(judgeChoice('It is probably the second one', item)).toMatchObject({ correct: false, offFormat: true });
  });

  it('normalises exact answers', () => {
    expect(normaliseAnswer('  The Eiffel-Tower! ')).toBe('eiffel tower');
    expect(judgeExact('the eiffel tower', 'Eiffel Tower.').correct).toBe(true);
    expect(judgeExact('Eiffel', 'Eiffel Tower').correct).toBe(false);
  });

  it('reads an LLM judge reply, off format as unknown', () => {
    expect(readJudgeReply('CORRECT')).toMatchObject({ correct: true, offFormat: false });
    expect(readJudgeReply(' incorrect. ')).toMatchObject({ correct: false, offFormat: false });
    expect(readJudgeReply('I would say it is mostly right')).toMatchObject({ correct: null, offFormat: true });
  });

  it('puts only question, options and the given texts in a predictor request', () => {
    const msgs = answerMessages(item, ['note one'], 'compressions');
    const all = JSON.stringify(msgs);
    expect(all).toContain('Which?');
    expect(all).toContain('B. two');
    expect(all).toContain('[1] note one');
    expect(all).not.toContain('secret context');
    expect(JSON.stringify(answerMessages(item, [], 'none'))).not.toContain('Notes');
  });
});

describe('plan', () => {
  it('validates the grid with named errors', () => {
    expect(validateGrid({ models: ['m'], budgets: [8, 16] })).toMatchObject({ temperatures: [1], seeds: [0], samples: 1, scorer: 'self', maxTokens: 16 });
    expect(() => validateGrid({ models: [], budgets: [8] })).toThrow(/"models"/);
    expect(() => validateGrid({ models: ['m'], budgets: [8, 8] })).toThrow(/twice/);
    expect(() => validateGrid({ models: ['m'], budgets: [3], budgetUnit: 'sentences' })).toThrow(/maxTokens/);
    try {
      validateGrid({ models: ['m'], budgets: [0] });
    } catch (err) {
      expect((err as Error).name).toBe('SweepConfigError');
    }
  });

  it('splits the bank by characters at paragraphs, then sentences, with no model involved', async () => {
    const text = 'One short sentence here. Another one follows it.\n\nA new paragraph starts. It ends.';
    expect(await splitBank([text])).toEqual([text]);
    const parts = await splitBank([text], 30);
    expect(parts.every((p) => p.length <= 30)).toBe(true);
    expect(parts.join(' ').replace(/\s+/g, ' ')).toBe(text.replace(/\s+/g, ' '));
  });

  it('estimates the time of a grid and hashes plans stably', () => {
    const plan: SweepPlan = {
      engine: 'reference', models: ['a', 'b'], scorer: 'self', bank: ['x', 'y', 'z', 'w'], question: 'q',
      budgets: [10], budgetUnit: 'tokens', maxTokens: 10, temperatures: [1], samples: 2, seeds: [0, 1, 2],
      baselines: { none: false, raw: false },
    };
    const s = estimateSweepSeconds(plan, { decodeTokensPerSecond: 100, prefillTokensPerSecond: 1000, promptTokens: 50, predictorSecondsPerCall: 1 });
    // per run: 80 tokens generated (0.8 s) + (4·50 + 4·80) / 1000 s scoring; 6 runs.
    expect(s).toBeCloseTo(6 * (0.8 + 0.52), 9);
    expect(planHash(plan)).toBe(planHash({ ...plan }));
    expect(planHash(plan)).not.toBe(planHash({ ...plan, seeds: [0, 1] }));
  });
});

describe('readSweepFile (a sweep the command line wrote, opened in the page)', () => {
  const plan: SweepPlan = {
    engine: 'reference', models: ['m'], scorer: 'self', bank: ['a', 'b'], question: 'q', budgets: [4], budgetUnit: 'tokens',
    maxTokens: 4, temperatures: [1], samples: 1, seeds: [0], baselines: { none: false, raw: false },
  };
  const output = { ...newSweepState(plan, planHash(plan)), status: 'done' as const };

  it('reads the output, its --out file, and the Compare view\'s own export (the output inside its record)', () => {
    expect(readSweepFile(JSON.stringify(output), 'out.json').configs).toHaveLength(1);
    expect(readSweepFile(JSON.stringify({ ...output, server: { host: 'h' } }), 'cli.json').status).toBe('done');
    expect(readSweepFile(JSON.stringify({ id: 'x', name: 'n', plan, state: output }), 'export.json').configs[0].model).toBe('m');
  });

  it('refuses what is not a sweep, by name and with the file name', () => {
    const bad: [string, RegExp][] = [
      ['not json', /x\.json cannot be opened as a sweep: it is not JSON/],
      ['{"hello": 1}', /it is not a Précis sweep output/],
      [JSON.stringify({ ...output, version: 9 }), /it is version 9; this page reads version 1/],
      [JSON.stringify({ ...output, configs: [] }), /it has no configurations/],
      [JSON.stringify({ ...output, configs: [{ model: 'm' }] }), /configuration 1 lacks its model, budget, temperature or runs/],
      [JSON.stringify({ ...output, bank: null }), /it has no bank of passages/],
    ];
    for (const [text, pattern] of bad) {
      expect(() => readSweepFile(text, 'x.json')).toThrow(expect.objectContaining({ name: 'SweepImportError', message: expect.stringMatching(pattern) }));
    }
  });
});
