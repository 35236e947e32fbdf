/**
 * `npm run --silent bench:server [-- --json] [--latency-ms MS] [--contexts N] [--samples M] [--max-tokens L]`
 *
 * One MI estimate (runEstimate, the run flow's code) through the server engine against the
 * vLLM and SGLang fixture servers (e2e/fixtures/inference-server.ts), which this script starts
 * itself on ephemeral loopback ports, each request delayed by `--latency-ms` (default 20 ms)
 * outside the model lock to stand for a network round trip. Defaults: stories260K, the first
 * N = 16 lines of cli/fixtures/stories.jsonl, question "Who is in the story?", M = 2, a budget
 * of L = 16 tokens, T = 1, top_p = 1, seed 0.
 *
 * Rows: concurrency 1, 2, 4, 8 with list requests of B = 16; B = 1 at concurrency 8 (and 1 for vLLM);
 * SGLang with logprob_start_len at the continuation (the engine's default) and at 0 (the
 * paper's); one vLLM row whose fixture answers the first three POSTs with 503 (retries, backoff
 * 50 ms). Columns: generation and scoring requests (counted by the fixture), requests the engine
 * sent (tokenize included) and retried, tokens sent for scoring, tokens scored, prompt tokens
 * served from SGLang's prefix cache (meta_info.cached_tokens), the scoring prefill the server
 * computed (sent − cached), wall time of generation and of scoring, and |ΔMI| against the
 * reference engine in-process (the numbers must not depend on the schedule).
 *
 * What it can and cannot show: the fixture is ONE CPU model serialised behind a lock, so
 * concurrency only hides the per-request latency; on a real server concurrency also fills the
 * GPU's continuous batch. Prefix-cache figures are the fixture's model of SGLang's radix cache
 * (reuse up to logprob_start_len), not a measurement of SGLang.
 */
import { fixturePresent, FIXTURE_DIR, loadFixture, storyTexts } from '../cli/fixture';
import { parseArgs } from '../cli/shared';
import { runEstimate, type EstimateRequest } from '../src/lib/core/run-estimate';
import { startInferenceFixture, type FixtureServer } from '../e2e/fixtures/inference-server';
import { ServerEngine, type ServerEngineConfig } from '../workers/engines/server/engine';

const args = parseArgs(process.argv.slice(2), { json: 'boolean', 'latency-ms': 'number', contexts: 'number', samples: 'number', 'max-tokens': 'number' });
if (!fixturePresent) {
  console.error(`The stories260K fixture is not at ${FIXTURE_DIR} (set PRECIS_MODELS_DIR).`);
  process.exit(1);
}
const latencyMs = args['latency-ms'] ?? 20;
const n = args.contexts ?? 16;
const m = args.samples ?? 2;
const maxTokens = args['max-tokens'] ?? 16;
const stories = storyTexts();
if (n < 2 || n > stories.length) {
  console.error(`--contexts must be between 2 and ${stories.length}.`);
  process.exit(1);
}
const request: EstimateRequest = {
  contexts: stories.slice(0, n),
  question: 'Who is in the story?',
  samplesPerContext: m,
  settings: { temperature: 1, topP: 1, maxTokens, seed: 0 },
};

interface Row {
  server: 'vllm' | 'sglang';
  concurrency: number;
  batchSize: number;
  logprobStart: 'continuation' | '0' | '-';
  generationRequests: number;
  scoringRequests: number;
  engineRequests: number;
  retries: number;
  tokensSent: number;
  tokensScored: number;
  cachedTokens: number;
  prefillComputed: number;
  generationMs: number;
  scoringMs: number;
  wallMs: number;
  miBits: number;
  deltaMiNats: number;
}

const reference = await runEstimate(loadFixture(), request);
if (reference.status !== 'done') throw new Error('cancelled');
const refMi = reference.summary.miNats;

const isScoring = (kind: 'vllm' | 'sglang', pathName: string, body: Record<string, unknown>) =>
  kind === 'vllm'
    ? pathName === '/v1/completions' && body.echo === true
    : pathName === '/generate' && (body.sampling_params as { max_new_tokens?: number } | undefined)?.max_new_tokens === 0;
const isGeneration = (kind: 'vllm' | 'sglang', pathName: string, body: Record<string, unknown>) =>
  (kind === 'vllm' ? pathName === '/v1/completions' : pathName === '/generate') && !isScoring(kind, pathName, body);

async function measure(server: FixtureServer, kind: 'vllm' | 'sglang', extra: Partial<ServerEngineConfig>, fail503 = 0): Promise<Row> {
  const engine = await ServerEngine.connect({ kind, baseURL: server.url, servedModel: 'stories260K', promptStyle: 'plain', backoffMs: 50, ...extra });
  // The connect probe's requests are not the estimate's.
  server.requests.length = 0;
  server.failNext503(fail503);
  const out = await runEstimate(engine, request);
  if (out.status !== 'done') throw new Error('cancelled');
  const posts = server.requests.filter((r) => r.method === 'POST').map((r) => ({ path: r.path, body: JSON.parse(r.body || '{}') as Record<string, unknown> }));
  const st = engine.serverStats();
  await engine.dispose();
  return {
    server: kind,
    concurrency: extra.concurrency ?? 8,
    batchSize: extra.batchSize ?? 16,
    logprobStart: kind === 'vllm' ? '-' : extra.sglangLogprobStart === 'zero' ? '0' : 'continuation',
    generationRequests: posts.filter((p) => isGeneration(kind, p.path, p.body)).length,
    scoringRequests: posts.filter((p) => isScoring(kind, p.path, p.body)).length,
    engineRequests: st.requests,
    retries: st.retries,
    tokensSent: st.tokensSent,
    tokensScored: st.tokensScored,
    cachedTokens: st.cachedTokens,
    prefillComputed: st.tokensSent - st.cachedTokens,
    generationMs: out.timings.generationMs,
    scoringMs: out.timings.scoringMs,
    wallMs: out.timings.generationMs + out.timings.scoringMs,
    miBits: out.summary.miBits,
    deltaMiNats: Math.abs(out.summary.miNats - refMi),
  };
}

const rows: Row[] = [];
for (const kind of ['vllm', 'sglang'] as const) {
  const server = await startInferenceFixture({ kind, engine: loadFixture(), latencyMs });
  try {
    const configs: Partial<ServerEngineConfig>[] = [
      ...[1, 2, 4, 8].map((concurrency) => ({ concurrency, batchSize: 16 })),
      ...(kind === 'vllm' ? [{ concurrency: 1, batchSize: 1 }] : []),
      { concurrency: 8, batchSize: 1 },
      ...(kind === 'sglang' ? [{ concurrency: 1, batchSize: 16, sglangLogprobStart: 'zero' as const }, { concurrency: 8, batchSize: 16, sglangLogprobStart: 'zero' as const }] : []),
    ];
    for (const c of configs) rows.push(await measure(server, kind, c));
  } finally {
    await server.close();
  }
}
{
  const server = await startInferenceFixture({ kind: 'vllm', engine: loadFixture(), latencyMs });
  try {
    rows.push(await measure(server, 'vllm', { concurrency: 8, batchSize: 16 }, 3));
  } finally {
    await server.close();
  }
}

if (args.json) {
  process.stdout.write(JSON.stringify({ latencyMs, n, m, maxTokens, rows }) + '\n');
} else {
  const head = ['server', 'K', 'B', 'logprob_start_len', 'gen req', 'score req', 'all req', 'retries', 'tokens sent', 'tokens scored', 'cached', 'prefill computed', 'gen s', 'score s', 'wall s', '|ΔMI| nats'];
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  console.log(`One MI estimate: stories260K, N = ${n}, M = ${m}, budget ${maxTokens} tokens, T = 1; fixture latency ${latencyMs} ms per request; MI = ${reference.summary.miBits.toFixed(4)} bits (reference engine).`);
  console.log(line(head));
  console.log(line(head.map(() => '---')));
  for (const r of rows) {
    console.log(
      line([
        r.server + (r.retries > 0 ? ' (3×503)' : ''),
        r.concurrency,
        r.batchSize,
        r.logprobStart,
        r.generationRequests,
        r.scoringRequests,
        r.engineRequests,
        r.retries,
        r.tokensSent,
        r.tokensScored,
        r.cachedTokens,
        r.prefillComputed,
        (r.generationMs / 1000).toFixed(2),
        (r.scoringMs / 1000).toFixed(2),
        (r.wallMs / 1000).toFixed(2),
        r.deltaMiNats.toExponential(1),
      ]),
    );
  }
}
