/**
 * The worker's loaded model seen as an Engine (src/lib/core/engine.ts), so the sweep runner,
 * which is written against that contract, drives the same worker the run flow uses. Every call
 * crosses to the worker; counters are not mirrored (the sweep reports its own timings).
 */
import type { Engine, EngineCounters, GenerateResult, ModelInfo, Prompt, SamplingSettings, TokenEvent } from '../core/engine';
import { compressor, proxy } from './client';

export class WorkerEngine implements Engine {
  constructor(readonly info: ModelInfo) {}

  tokenize(text: string): Promise<number[]> {
    return compressor().tokenize(text);
  }

  detokenize(ids: number[]): Promise<string> {
    return compressor().detokenize(ids);
  }

  promptIds(prompt: Prompt): Promise<number[]> {
    return compressor().promptIds(prompt);
  }

  async generate(promptIds: number[], settings: SamplingSettings, onToken?: (event: TokenEvent) => void): Promise<GenerateResult> {
    const reply = await compressor().generate({ prompt: { kind: 'ids', ids: promptIds }, settings }, onToken ? proxy(onToken) : undefined);
    return { ids: reply.ids, logprobsNats: reply.logprobsNats, stopReason: reply.stopReason };
  }

  score(promptIds: number[], continuations: number[][], temperature?: number): Promise<number[][]> {
    return compressor().score(promptIds, continuations, temperature);
  }

  interrupt(): void {
    void compressor().interrupt();
  }

  counters(): EngineCounters {
    return { prefillTokens: 0, decodeSteps: 0, forwardCalls: 0 };
  }

  resetCounters(): void {}

  async dispose(): Promise<void> {}
}
