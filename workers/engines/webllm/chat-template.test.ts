import { describe, expect, it } from 'vitest';
import { CHATML } from './fake-backend';
import { chatPromptIds, EMPTY_THINKING_BLOCK, isThinkingModel, promptPieces, type ConvTemplateLike } from './chat-template';

const LLAMA3: ConvTemplateLike = {
  system_template: '<|start_header_id|>system<|end_header_id|>\n\n{system_message}<|eot_id|>',
  system_message: '',
  roles: { user: '<|start_header_id|>user', assistant: '<|start_header_id|>assistant' },
  seps: ['<|eot_id|>'],
  role_content_sep: '<|end_header_id|>\n\n',
  role_empty_sep: '<|end_header_id|>\n\n',
  stop_token_ids: [128001, 128009],
  system_prefix_token_ids: [128000],
};

describe('chat template', () => {
  it('renders ChatML with the default system message', () => {
    expect(promptPieces(CHATML, [{ role: 'user', content: 'Hello' }]).join('')).toBe(
      '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('lets a leading system message override, and keeps few-shot turns', () => {
    const pieces = promptPieces(CHATML, [
      { role: 'system', content: 'Compress.' },
      { role: 'user', content: 'a' },
      { role: 'assistant', content: 'b' },
      { role: 'user', content: 'c' },
    ]);
    expect(pieces).toEqual([
      '<|im_start|>system\nCompress.<|im_end|>\n',
      '<|im_start|>user\na<|im_end|>\n',
      '<|im_start|>assistant\nb<|im_end|>\n',
      '<|im_start|>user\nc<|im_end|>\n',
      '<|im_start|>assistant\n',
    ]);
  });

  it('renders Llama 3 with BOS prefix ids and encodes piece by piece', () => {
    const seen: string[] = [];
    const ids = chatPromptIds(LLAMA3, [{ role: 'system', content: 'S' }, { role: 'user', content: 'Q' }], (t) => (seen.push(t), [t.length]));
    expect(ids[0]).toBe(128000);
    expect(seen).toEqual([
      '<|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|>',
      '<|start_header_id|>user<|end_header_id|>\n\nQ<|eot_id|>',
      '<|start_header_id|>assistant<|end_header_id|>\n\n',
    ]);
  });

  it('adds an empty thinking block for Qwen3 models', () => {
    expect(isThinkingModel('Qwen3-1.7B-q4f32_1-MLC')).toBe(true);
    expect(isThinkingModel('Qwen3.5-2B-q4f32_1-MLC')).toBe(false);
    expect(isThinkingModel('Qwen2.5-1.5B-Instruct-q4f32_1-MLC')).toBe(false);
    const last = promptPieces(CHATML, [{ role: 'user', content: 'x' }], { disableThinking: true }).at(-1);
    expect(last).toBe(`<|im_start|>assistant\n${EMPTY_THINKING_BLOCK}`);
  });
});
