/**
 * The messages sent to the predictor, and the counterfactual "raw documents" request used only
 * to price what compression saved (it is never sent).
 *
 * Invariant: `buildPayload` takes the question and the compressions only, so no code path here
 * can put raw document text into a request. `payloadText` renders the exact messages for the
 * preview: what is shown is what is sent.
 */

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export const DEFAULT_SYSTEM_PROMPT =
  'You answer a question using only the notes below. The notes are compressed extracts of ' +
  'documents that you cannot see. If the notes do not hold the answer, say so plainly; do not ' +
  'invent facts. Answer concisely.';

/** Same task with the documents themselves, so the cost comparison is like for like. */
export const RAW_SYSTEM_PROMPT =
  'You answer a question using only the documents below. If the documents do not hold the ' +
  'answer, say so plainly; do not invent facts. Answer concisely.';

export interface PayloadOptions {
  systemPrompt?: string;
}

function numbered(heading: string, items: readonly string[]): string {
  const body = items.map((t, i) => `[${i + 1}] ${t.trim()}`).join('\n\n');
  return `${heading}\n${body}`;
}

/** system: answer from the notes only; user: the question, then the numbered compressions. */
export function buildPayload(
  question: string,
  compressions: readonly string[],
  opts: PayloadOptions = {},
): ChatMessage[] {
  return [
    { role: 'system', content: opts.systemPrompt ?? DEFAULT_SYSTEM_PROMPT },
    {
      role: 'user',
      content: `Question: ${question.trim()}\n\n${numbered(`Notes (${compressions.length}):`, compressions)}`,
    },
  ];
}

/** The request that would have carried the raw documents: for pricing only, never sent. */
export function rawPayload(question: string, rawDocs: readonly string[]): ChatMessage[] {
  return [
    { role: 'system', content: RAW_SYSTEM_PROMPT },
    {
      role: 'user',
      content: `Question: ${question.trim()}\n\n${numbered(`Documents (${rawDocs.length}):`, rawDocs)}`,
    },
  ];
}

/** The exact messages as plain text for the preview and the log. */
export function payloadText(messages: readonly ChatMessage[]): string {
  return messages.map((m) => `[${m.role}]\n${m.content}`).join('\n\n');
}
