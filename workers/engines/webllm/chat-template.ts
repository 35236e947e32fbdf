/**
 * Chat template for web-llm models, applied exactly as web-llm 0.2.86 applies it for a chat
 * completion (`Conversation.getPromptArrayInternal` + `LLMChatPipeline.getInputData`), so a
 * prompt we build gives the same ids web-llm's own chat API would prefill.
 *
 * Source of truth: the model's `mlc-chat-config.json` (`conv_template` merged with
 * `conv_config`), which web-llm has already loaded. Text-only messages; no function calling.
 *
 * Rules mirrored:
 * - a leading system message overrides `system_message`; the system prompt is omitted when the
 *   message is empty and `render_empty_system_message` is false;
 * - each message is `role + role_content_sep + role_template(text) + seps[i % seps.length]`
 *   (the role prefix is dropped for the first message when `add_role_after_system_message` is
 *   false and there is a system prompt);
 * - the reply header is `assistant_role + role_empty_sep` (default ": "); for thinking models with
 *   thinking off it is `assistant_role + role_content_sep + "<think>\n\n</think>\n\n"`;
 * - ids = `system_prefix_token_ids` + the concatenation of each piece encoded on its own (web-llm
 *   encodes piece by piece; encoding the joined string could merge tokens across pieces).
 *
 * Pure: no DOM, no web-llm import.
 */
import type { ChatMessage } from '../../../src/lib/core/engine';

export interface ConvTemplateLike {
  system_template: string;
  system_message: string;
  roles: Record<string, string>;
  role_templates?: Partial<Record<string, string>>;
  seps: string[];
  role_content_sep?: string;
  role_empty_sep?: string;
  stop_str?: string[];
  system_prefix_token_ids?: number[];
  stop_token_ids: number[];
  add_role_after_system_message?: boolean;
  render_empty_system_message?: boolean;
}

/** What web-llm inserts for Qwen3-style models when `enable_thinking` is false. */
export const EMPTY_THINKING_BLOCK = '<think>\n\n</think>\n\n';

const PLACEHOLDER: Record<string, string> = {
  system: '{system_message}',
  user: '{user_message}',
  assistant: '{assistant_message}',
  tool: '{tool_message}',
};
const FUNCTION_PLACEHOLDER = '{function_string}';

/** web-llm treats an undefined separator as ": " but keeps an explicit "". */
function sepOr(value: string | undefined): string {
  return value || value === '' ? value : ': ';
}

/** The prompt pieces (strings) in the order web-llm encodes them. */
export function promptPieces(conv: ConvTemplateLike, messages: readonly ChatMessage[], opts: { disableThinking?: boolean } = {}): string[] {
  if (conv.seps.length === 0) throw new Error('The chat template has no separators.');
  let systemMessage = conv.system_message;
  let rest = messages;
  if (messages.length > 0 && messages[0].role === 'system') {
    systemMessage = messages[0].content;
    rest = messages.slice(1);
  }
  if (rest.some((m) => m.role === 'system')) throw new Error('Only the first message may be a system message.');
  const systemPrompt =
    systemMessage === '' && conv.render_empty_system_message === false ? '' : conv.system_template.replace(PLACEHOLDER.system, systemMessage);
  const pieces: string[] = systemPrompt !== '' ? [systemPrompt] : [];
  rest.forEach((m, i) => {
    const template = conv.role_templates?.[m.role];
    let body = template !== undefined ? template.replace(PLACEHOLDER[m.role], m.content) : m.content;
    body = body.replace(FUNCTION_PLACEHOLDER, '');
    const rolePrefix =
      conv.add_role_after_system_message === false && systemPrompt !== '' && i === 0 ? '' : conv.roles[m.role] + sepOr(conv.role_content_sep);
    pieces.push(rolePrefix + body + conv.seps[i % conv.seps.length]);
  });
  const assistant = conv.roles.assistant;
  pieces.push(opts.disableThinking ? assistant + sepOr(conv.role_content_sep) + EMPTY_THINKING_BLOCK : assistant + sepOr(conv.role_empty_sep));
  return pieces;
}

export function chatPromptIds(
  conv: ConvTemplateLike,
  messages: readonly ChatMessage[],
  encode: (text: string) => number[],
  opts: { disableThinking?: boolean } = {},
): number[] {
  const ids = [...(conv.system_prefix_token_ids ?? [])];
  for (const piece of promptPieces(conv, messages, opts)) ids.push(...encode(piece));
  return ids;
}

/** Qwen3 (not Qwen3.5) models think by default; compressions should not. */
export function isThinkingModel(modelId: string): boolean {
  return /^Qwen3-/.test(modelId);
}
