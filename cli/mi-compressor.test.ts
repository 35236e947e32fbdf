/**
 * `mi --compressor ...`: a generate-only fixture server (Ollama's wire format, stories260K
 * behind it) writes, and the reference engine or a vLLM fixture server scores. Every number of
 * the JSON is recomputed from the scorer alone.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startInferenceFixture } from '../e2e/fixtures/inference-server';
import { compressionPrompt } from '../src/lib/core/prompts';
import { FIXTURE_DIR, fixturePresent, loadFixture, noteIfFixtureMissing, storyLines } from './fixture';
import { runCli } from './run-cli';

noteIfFixtureMissing('mi command with a generate-only compressor');

const contexts = storyLines().slice(0, 4);
const FILE = path.join(mkdtempSync(path.join(os.tmpdir(), 'precis-mi-compressor-')), 'stories4.jsonl');
writeFileSync(FILE, contexts.join('\n') + '\n');
const texts = contexts.map((l) => (JSON.parse(l) as { text: string }).text);

const run = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli('mi.ts', args, env);

interface Out {
  miNats: number;
  model: string;
  scorerModelId: string;
  contexts: { promptIds: number[] }[];
  compressions: { context: number; text: string; truncated: boolean; ids: number[]; termNats: number; scoresNats: number[]; generator?: { generatedTokens: number | null } }[];
  compressor?: { id: string; host: string; requests: number };
}

const question = 'Who is in the story?';
const common = ['--contexts', FILE, '--question', question, '--samples', '2', '--max-tokens', '12', '--seed', '4'];

describe.skipIf(!fixturePresent)('mi --compressor (generate-only server, proxy scorer)', () => {
  it('Ollama-like compressor, reference scorer: ids = tokenize(text) + stop id, terms and MI recomputed', async () => {
    const ollama = await startInferenceFixture({ kind: 'ollama', engine: loadFixture() });
    const vllm = await startInferenceFixture({ kind: 'vllm', engine: loadFixture() });
    try {
      const flags = ['--compressor', 'ollama', '--compressor-url', ollama.url, '--compressor-model', 'stories260K', '--compressor-concurrency', '3'];
      const r = await run([...flags, '--model', FIXTURE_DIR, ...common]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout) as Out;
      expect(out.model).toBe('ollama:stories260K');
      expect(out.scorerModelId).toBe('reference:stories260K');
      expect(out.compressor).toMatchObject({ id: 'ollama:stories260K', host: ollama.url.replace('http://', '') });
      expect(out.compressions).toHaveLength(8);

      const scorer = loadFixture();
      const prompts = texts.map((x) => scorer.promptIds(compressionPrompt('plain', x, question)));
      expect(out.contexts.map((c) => c.promptIds)).toEqual(prompts);
      const terms: number[] = [];
      for (const c of out.compressions) {
        const ids = scorer.tokenize(c.text);
        // finish_reason "stop" (not truncated) adds the scorer's stop id.
        const stopped = !c.truncated;
        expect(c.ids).toEqual(stopped ? [...ids, scorer.info.stopIds[0]] : ids);
        const s: number[] = [];
        for (const p of prompts) s.push((await scorer.score(p, [c.ids], 1))[0].reduce((a, b) => a + b, 0));
        s.forEach((v, l) => expect(Math.abs(v - c.scoresNats[l])).toBeLessThan(1e-9));
        const max = Math.max(...s);
        const term = s[c.context] - (max + Math.log(s.reduce((a, v) => a + Math.exp(v - max), 0))) + Math.log(s.length);
        expect(Math.abs(term - c.termNats)).toBeLessThan(1e-9);
        terms.push(term);
        expect(c.generator?.generatedTokens).toBeGreaterThan(0);
      }
      expect(Math.abs(out.miNats - terms.reduce((a, b) => a + b, 0) / terms.length)).toBeLessThan(1e-9);

      // The raw contexts went to the compressor (chat requests) and nowhere else here.
      const chats = ollama.requests.filter((q) => q.path === '/v1/chat/completions');
      expect(chats).toHaveLength(8);
      for (const x of texts) expect(chats.some((q) => q.body.includes(JSON.stringify(x).slice(1, 30)))).toBe(true);

      // The same compressions scored by a scoring server (vLLM fixture, same weights): same numbers.
      await fetch(`${ollama.url}/__reset`, { method: 'POST' });
      const r2 = await run([...flags, '--engine', 'vllm', '--base-url', vllm.url, '--served-model', 'stories260K', ...common]);
      expect(r2.stderr).toBe('');
      const out2 = JSON.parse(r2.stdout) as Out;
      expect(out2.scorerModelId).toBe('vllm:stories260K');
      out2.compressions.forEach((c, k) => {
        expect(c.ids).toEqual(out.compressions[k].ids);
        expect(Math.abs(c.termNats - out.compressions[k].termNats)).toBeLessThan(1e-9);
      });
    } finally {
      await ollama.close();
      await vllm.close();
    }
  }, 120_000);

  it('refuses a compressor off this machine without --confirm-host, before sending anything', async () => {
    const r = await run(['--compressor', 'ollama', '--compressor-url', 'http://192.0.2.7:11434', '--compressor-model', 'x', '--model', FIXTURE_DIR, ...common]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^ServerHostNotConfirmedError: Raw documents would be sent to 192\.0\.2\.7:11434/);
  });

  it('a model the compressor does not serve: ServerModelNotServedError naming what it serves', async () => {
    const ollama = await startInferenceFixture({ kind: 'ollama', engine: loadFixture(), servedModel: 'llama3.2:latest' });
    try {
      const r = await run(['--compressor', 'ollama', '--compressor-url', ollama.url, '--compressor-model', 'qwen3', '--model', FIXTURE_DIR, ...common]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^ServerModelNotServedError: .*does not serve a model named "qwen3"; it serves: llama3\.2:latest/);
    } finally {
      await ollama.close();
    }
  });
});
