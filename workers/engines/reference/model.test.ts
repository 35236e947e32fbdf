/**
 * The forward pass against an independent, deliberately naive float64 implementation written
 * here from the format description (nested arrays, no cache reuse tricks, no shared kernels).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { CONTINUATION_IDS, PROMPT_IDS, fixtureBytes, fixturePresent, loadFixture, noteIfFixtureMissing } from '../../../cli/fixture';
import { parseCheckpoint } from './checkpoint';
import { LlamaModel } from './model';

noteIfFixtureMissing('model forward');

type Mat = number[][];

class NaiveLlama {
  private readonly h: number[];
  private readonly emb: Mat;
  private readonly layers: { att: number[]; wq: Mat; wk: Mat; wv: Mat; wo: Mat; ffn: number[]; w1: Mat; w2: Mat; w3: Mat }[];
  private readonly final: number[];
  private keys: number[][][] = [];
  private values: number[][][] = [];

  constructor(bytes: ArrayBuffer) {
    const view = new DataView(bytes);
    this.h = Array.from({ length: 7 }, (_, i) => view.getInt32(i * 4, true));
    const [dim, hidden, L, nH, nKv, vocab] = this.h;
    const kvDim = (dim * nKv) / nH;
    let off = 28;
    const vec = (n: number) => {
      const v: number[] = [];
      for (let i = 0; i < n; i++, off += 4) v.push(view.getFloat32(off, true));
      return v;
    };
    const mat = (r: number, c: number) => Array.from({ length: r }, () => vec(c));
    const perLayer = <T>(f: () => T) => Array.from({ length: L }, f);
    this.emb = mat(vocab, dim);
    const att = perLayer(() => vec(dim));
    const wq = perLayer(() => mat(dim, dim));
    const wk = perLayer(() => mat(kvDim, dim));
    const wv = perLayer(() => mat(kvDim, dim));
    const wo = perLayer(() => mat(dim, dim));
    const ffn = perLayer(() => vec(dim));
    const w1 = perLayer(() => mat(hidden, dim));
    const w2 = perLayer(() => mat(dim, hidden));
    const w3 = perLayer(() => mat(hidden, dim));
    this.final = vec(dim);
    this.layers = att.map((a, l) => ({ att: a, wq: wq[l], wk: wk[l], wv: wv[l], wo: wo[l], ffn: ffn[l], w1: w1[l], w2: w2[l], w3: w3[l] }));
  }

  /** Logits after `token` at position keys.length (appends to the cache). */
  step(token: number): number[] {
    const [dim, , , nH, nKv] = this.h;
    const hs = dim / nH;
    const pos = this.keys.length;
    const mv = (m: Mat, x: number[]) => m.map((row) => row.reduce((s, w, j) => s + w * x[j], 0));
    const norm = (x: number[], w: number[]) => {
      const r = 1 / Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length + 1e-5);
      return x.map((v, i) => v * r * w[i]);
    };
    const rot = (v: number[]) => {
      const out = v.slice();
      for (let i = 0; i < v.length; i += 2) {
        const angle = pos * Math.pow(10000, -(i % hs) / hs);
        out[i] = v[i] * Math.cos(angle) - v[i + 1] * Math.sin(angle);
        out[i + 1] = v[i] * Math.sin(angle) + v[i + 1] * Math.cos(angle);
      }
      return out;
    };
    let x = this.emb[token].slice();
    const stepKeys: number[][] = [];
    const stepValues: number[][] = [];
    this.layers.forEach((layer, l) => {
      const xn = norm(x, layer.att);
      const q = rot(mv(layer.wq, xn));
      stepKeys.push(rot(mv(layer.wk, xn)));
      stepValues.push(mv(layer.wv, xn));
      const keysAt = (t: number) => (t === pos ? stepKeys[l] : this.keys[t][l]);
      const valuesAt = (t: number) => (t === pos ? stepValues[l] : this.values[t][l]);
      const heads: number[] = [];
      for (let h = 0; h < nH; h++) {
        const g = Math.floor(h / (nH / nKv));
        const scores: number[] = [];
        for (let t = 0; t <= pos; t++) {
          let s = 0;
          for (let i = 0; i < hs; i++) s += q[h * hs + i] * keysAt(t)[g * hs + i];
          scores.push(s / Math.sqrt(hs));
        }
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let i = 0; i < hs; i++) {
          let acc = 0;
          for (let t = 0; t <= pos; t++) acc += (e[t] / z) * valuesAt(t)[g * hs + i];
          heads.push(acc);
        }
      }
      x = x.map((v, i) => v + mv(layer.wo, heads)[i]);
      const xf = norm(x, layer.ffn);
      const a = mv(layer.w1, xf);
      const b = mv(layer.w3, xf);
      const hidden = a.map((v, i) => (v / (1 + Math.exp(-v))) * b[i]);
      const down = mv(layer.w2, hidden);
      x = x.map((v, i) => v + down[i]);
    });
    this.keys.push(stepKeys);
    this.values.push(stepValues);
    return mv(this.emb, norm(x, this.final));
  }
}

function logSoftmaxAt(logits: ArrayLike<number>, id: number): number {
  let m = -Infinity;
  for (let i = 0; i < logits.length; i++) m = Math.max(m, logits[i]);
  let s = 0;
  for (let i = 0; i < logits.length; i++) s += Math.exp(logits[i] - m);
  return logits[id] - m - Math.log(s);
}

describe.skipIf(!fixturePresent)('forward pass vs an independent float64 implementation', () => {
  let naiveScores: number[];
  let naiveGreedy: number[];

  beforeAll(() => {
    const naive = new NaiveLlama(fixtureBytes('stories260K.bin'));
    const seq = [...PROMPT_IDS, ...CONTINUATION_IDS];
    naiveScores = [];
    let logits: number[] = [];
    for (let t = 0; t < seq.length - 1; t++) {
      logits = naive.step(seq[t]);
      if (t >= PROMPT_IDS.length - 1) naiveScores.push(logSoftmaxAt(logits, seq[t + 1]));
    }
    // Greedy continuation of the whole sequence for 10 more tokens.
    naiveGreedy = [];
    let next = seq[seq.length - 1];
    for (let k = 0; k < 10; k++) {
      logits = naive.step(next);
      next = logits.indexOf(Math.max(...logits));
      naiveGreedy.push(next);
    }
  });

  it('teacher-forced log-probs agree to 1e-9', async () => {
    const [lps] = await loadFixture().score(PROMPT_IDS, [CONTINUATION_IDS]);
    lps.forEach((lp, i) => expect(Math.abs(lp - naiveScores[i])).toBeLessThan(1e-9));
  });

  it('greedy ids agree', async () => {
    const r = await loadFixture().generate([...PROMPT_IDS, ...CONTINUATION_IDS], {
      temperature: 0,
      topP: 1,
      seed: 0,
      maxTokens: 10,
    });
    expect(r.ids).toEqual(naiveGreedy);
  });
});

describe.skipIf(!fixturePresent)('batched forward vs single-token steps', () => {
  it('gives the same logits for every position (1e-9), also after a rollback', () => {
    const model = new LlamaModel(parseCheckpoint(fixtureBytes('stories260K.bin')));
    const seq = [...PROMPT_IDS, ...CONTINUATION_IDS, ...PROMPT_IDS.slice(1), ...CONTINUATION_IDS];
    const V = model.config.vocabSize;
    const batched = model.forward(seq, 0, 'all'); // 61 tokens: crosses internal blocks
    let maxDiff = 0;
    for (let t = 0; t < seq.length; t++) {
      const single = model.forward([seq[t]], t, 'last');
      for (let i = 0; i < V; i++) maxDiff = Math.max(maxDiff, Math.abs(single[i] - batched[t * V + i]));
    }
    expect(maxDiff).toBeLessThan(1e-9);
    // Roll back to the prompt and score the continuation as one batch on top.
    model.truncate(PROMPT_IDS.length);
    expect(model.cacheLength).toBe(PROMPT_IDS.length);
    const onTop = model.forward(CONTINUATION_IDS, PROMPT_IDS.length, 'all');
    let rollbackDiff = 0;
    for (let i = 0; i < onTop.length; i++) {
      rollbackDiff = Math.max(rollbackDiff, Math.abs(onTop[i] - batched[PROMPT_IDS.length * V + i]));
    }
    expect(rollbackDiff).toBeLessThan(1e-9);
    expect(() => model.forward([5], 40, 'last')).toThrow(/cache holds 32/);
  });

  it('engine score through the batched path equals scoring by single decode steps', async () => {
    const engine = loadFixture();
    const [batched] = await engine.score(PROMPT_IDS, [CONTINUATION_IDS]);
    const model = new LlamaModel(parseCheckpoint(fixtureBytes('stories260K.bin')));
    const seq = [...PROMPT_IDS, ...CONTINUATION_IDS];
    const stepwise: number[] = [];
    for (let t = 0; t < seq.length - 1; t++) {
      const logits = model.forward([seq[t]], t, 'last');
      if (t >= PROMPT_IDS.length - 1) stepwise.push(logSoftmaxAt(logits, seq[t + 1]));
    }
    stepwise.forEach((lp, i) => expect(Math.abs(lp - batched[i])).toBeLessThan(1e-9));
  });
});
