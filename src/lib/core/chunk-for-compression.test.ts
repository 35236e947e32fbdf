import { describe, expect, it } from 'vitest';
import { fixturePresent, loadFixture, noteIfFixtureMissing } from '../../../cli/fixture';
import { chunkForCompression } from './chunk-for-compression';
import { compressionPrompt } from './prompts';

noteIfFixtureMissing('chunkForCompression (reference engine)');

const story = Array.from(
  { length: 40 },
  (_, i) => `On day ${i + 1} Tom and his dog ran to the park. They played with a red ball until the sun went down.`,
).join('\n\n');

describe.skipIf(!fixturePresent)('chunkForCompression with the stories260K tokenizer', () => {
  const engine = loadFixture();
  const window = engine.info.contextWindowTokens;

  it('splits a long document into passages whose full prompts leave room for the budget', async () => {
    const request = { question: 'Where did they play?', maxTokens: 64 };
    const { budgetTokens, chunks } = await chunkForCompression(engine, [story, 'A short one.'], request);
    expect(chunks).toHaveLength(2);
    expect(chunks[0].length).toBeGreaterThan(1);
    expect(chunks[1]).toHaveLength(1);
    for (const c of chunks.flat()) {
      expect(engine.tokenize(c.text).length).toBeLessThanOrEqual(budgetTokens);
      const ids = engine.promptIds(compressionPrompt(engine.info.promptStyle, c.text, request.question));
      expect(ids.length + request.maxTokens).toBeLessThanOrEqual(window);
    }
    // Passages cover the document in order.
    expect(chunks[0].map((c) => c.text).join(' ').replace(/\s+/g, ' ')).toBe(story.replace(/\s+/g, ' '));
  });

  it('a bigger token budget leaves smaller passages', async () => {
    const small = await chunkForCompression(engine, [story], { question: '', maxTokens: 16 });
    const big = await chunkForCompression(engine, [story], { question: '', maxTokens: 256 });
    expect(big.budgetTokens).toBeLessThan(small.budgetTokens);
    expect(big.chunks[0].length).toBeGreaterThan(small.chunks[0].length);
  });

  it('refuses a budget that leaves no room for any text, by name', async () => {
    await expect(chunkForCompression(engine, [story], { question: 'Q?', maxTokens: window - 2 })).rejects.toThrow(
      expect.objectContaining({ name: 'ContextTooLongError' }),
    );
  });

  it('with a remote tokenizer, cuts by the estimate and checks each passage once through promptIds', async () => {
    const request = { question: 'Where did they play?', maxTokens: 64 };
    const promptCalls: string[] = [];
    // A server-like engine: asynchronous tokenisation, a cheap local estimate (chars / 3).
    const remote = {
      info: engine.info,
      tokenize: async (s: string) => engine.tokenize(s),
      promptIds: async (p: Parameters<typeof engine.promptIds>[0]) => {
        promptCalls.push(p.kind === 'plain' ? p.text : '');
        return engine.promptIds(p);
      },
      estimateTokens: (s: string) => Math.ceil(s.length / 3),
    };
    const { chunks } = await chunkForCompression(remote, [story], request);
    for (const c of chunks.flat()) {
      const ids = engine.promptIds(compressionPrompt(engine.info.promptStyle, c.text, request.question));
      expect(ids.length + request.maxTokens).toBeLessThanOrEqual(window);
    }
    // One prompt request for the empty template, then at most one per distinct passage tried.
    expect(new Set(promptCalls).size).toBe(promptCalls.length);
  });

  it('an asynchronous tokenizer without an estimate is refused by name', async () => {
    const remote = { info: engine.info, tokenize: async (s: string) => engine.tokenize(s), promptIds: async () => [1] };
    await expect(chunkForCompression(remote, [story], { question: '', maxTokens: 16 })).rejects.toThrow(
      expect.objectContaining({ name: 'InvalidArgumentError' }),
    );
  });
});
