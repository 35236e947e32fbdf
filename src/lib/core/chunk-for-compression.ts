/**
 * Split documents into passages that each fit a compression prompt of the loaded engine: the
 * passage, the template around it (with the question) and the compression budget together fit
 * the model's window, counted with the engine's own tokenizer.
 *
 * The budget per passage is window − (template tokens with an empty passage) − maxTokens − a
 * small seam margin (a BPE merge where the passage meets the template). Every passage is then
 * checked inside its real prompt; in the rare case one spills, the budget shrinks by 10% and the
 * split is redone, so what this returns always fits, or the budget could not be made to fit and
 * ContextTooLongError is thrown.
 *
 * Counting: with the engine's own `tokenize` when it answers synchronously (in-page engines);
 * with its `estimateTokens` when it has one (a server engine, whose tokenizer is over HTTP).
 * Either way each passage's real prompt is built once with `promptIds` (one request per
 * passage on a server, never one per candidate cut).
 */
import type { Checkpoint, Chunk } from './chunking';
import { chunkBudgetTokens, chunkText } from './chunking';
import type { Engine } from './engine';
import { ContextTooLongError, InvalidArgumentError } from './errors';
import { compressionPrompt } from './prompts';

/** What a passage must leave room for in the model's window. */
export interface ChunkRequest {
  /** The run's question (it is part of every compression prompt). */
  question: string;
  /** The compression budget in tokens (maxTokens of the run). */
  maxTokens: number;
  sentenceBudget?: number;
}

export interface ChunkReply {
  /** Tokens a passage may hold. */
  budgetTokens: number;
  /** One list per input text, in order. */
  chunks: Chunk[][];
}

/** Tokens a passage may take beyond its own count once it sits inside the prompt. */
export const SEAM_MARGIN_TOKENS = 8;

/** The smallest budget tried before giving up. */
const MIN_BUDGET_TOKENS = 16;

/** A synchronous token counter from the engine (see the module note). */
function counterOf(engine: Pick<Engine, 'tokenize' | 'estimateTokens'>): (s: string) => number {
  if (engine.estimateTokens) return (s) => engine.estimateTokens!(s);
  return (s) => {
    const ids = engine.tokenize(s);
    if (!Array.isArray(ids)) throw new InvalidArgumentError('This engine tokenises asynchronously and offers no token estimate to cut passages with.');
    return ids.length;
  };
}

/**
 * `checkpoint` is awaited between token counts (see `ChunkOptions`): the worker yields there and
 * stops a cancelled split.
 */
export async function chunkForCompression(
  engine: Pick<Engine, 'info' | 'tokenize' | 'promptIds' | 'estimateTokens'>,
  texts: readonly string[],
  request: ChunkRequest,
  options: { checkpoint?: Checkpoint } = {},
): Promise<ChunkReply> {
  const { info } = engine;
  const lengths = new Map<string, number>();
  const promptLength = async (text: string) => {
    let n = lengths.get(text);
    if (n === undefined) {
      n = (await engine.promptIds(compressionPrompt(info.promptStyle, text, request.question, { sentenceBudget: request.sentenceBudget }))).length;
      lengths.set(text, n);
    }
    return n;
  };
  const overhead = await promptLength('');
  let budget = chunkBudgetTokens(info.contextWindowTokens, overhead + SEAM_MARGIN_TOKENS, request.maxTokens);
  const count = counterOf(engine);
  const checkpoint = options.checkpoint ?? (() => undefined);
  for (;;) {
    const chunks: Chunk[][] = [];
    for (const t of texts) chunks.push(await chunkText(t, count, budget, { checkpoint }));
    let spill: { text: string; promptTokens: number } | null = null;
    for (const c of chunks.flat()) {
      await checkpoint();
      const promptTokens = await promptLength(c.text);
      if (promptTokens + request.maxTokens > info.contextWindowTokens) {
        spill = { text: c.text, promptTokens };
        break;
      }
    }
    if (!spill) return { budgetTokens: budget, chunks };
    if (budget <= MIN_BUDGET_TOKENS) {
      throw new ContextTooLongError(spill.promptTokens + request.maxTokens, info.contextWindowTokens, 'A passage with its prompt and the compression budget');
    }
    budget = Math.max(MIN_BUDGET_TOKENS, Math.floor(budget * 0.9));
  }
}
