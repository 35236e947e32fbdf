import { describe, expect, it } from 'vitest';
import { COMPRESSION_TEMPLATE_VERSION, compressionPrompt } from './prompts';

describe('compressionPrompt', () => {
  it('plain style is the context followed by the question', () => {
    expect(compressionPrompt('plain', 'Tom had a red ball.', 'What colour was the ball?')).toEqual({
      kind: 'plain',
      text: 'Tom had a red ball.\nWhat colour was the ball?',
    });
    expect(compressionPrompt('plain', 'Tom had a red ball.', '  ')).toEqual({ kind: 'plain', text: 'Tom had a red ball.' });
    // A story model cannot follow a budget; it is ignored rather than spliced into the story.
    expect(compressionPrompt('plain', 'A', 'B', { sentenceBudget: 3 })).toEqual({ kind: 'plain', text: 'A\nB' });
  });

  it('chat style asks for a question-focused compression without answering', () => {
    const p = compressionPrompt('chat', 'The report says revenue rose 4%.', 'How did revenue change?');
    expect(p.kind).toBe('chat');
    if (p.kind !== 'chat') return;
    expect(p.messages.map((m) => m.role)).toEqual(['system', 'user']);
    const user = p.messages[1].content;
    expect(user).toContain('The report says revenue rose 4%.');
    expect(user).toContain('Question: How did revenue change?');
    expect(user).toMatch(/only the information needed to answer/);
    expect(user).toMatch(/key points/);
    expect(user).toMatch(/background details/);
    expect(user).toMatch(/Do not answer the question/);
    expect(user).not.toMatch(/exactly/);
  });

  it('chat style adds an exact sentence budget when asked', () => {
    const p = compressionPrompt('chat', 'ctx', 'q?', { sentenceBudget: 3 });
    if (p.kind !== 'chat') throw new Error('expected chat');
    expect(p.messages[1].content).toContain('in exactly 3 sentences.');
    const one = compressionPrompt('chat', 'ctx', '', { sentenceBudget: 1 });
    if (one.kind !== 'chat') throw new Error('expected chat');
    expect(one.messages[1].content).toContain('in exactly 1 sentence.');
    expect(one.messages[1].content).not.toContain('Question:');
    expect(() => compressionPrompt('chat', 'ctx', 'q', { sentenceBudget: 0 })).toThrow(RangeError);
    expect(() => compressionPrompt('chat', 'ctx', 'q', { sentenceBudget: 2.5 })).toThrow(RangeError);
  });

  it('has a template version string', () => {
    expect(COMPRESSION_TEMPLATE_VERSION).toMatch(/^compress-v\d+$/);
  });
});
