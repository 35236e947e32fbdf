/**
 * What the predictor is asked for an evaluation item, and how its answer is judged.
 *
 * Privacy invariant: `answerMessages` is built from the question, the options and the texts it
 * is given: compressions (or nothing, for the no-context baseline). Only the opted-in raw
 * baseline passes the item's context, and it is labelled as such. The LLM judge sees the
 * question, the options, the reference answer and the predictor's answer, never a context or a
 * compression.
 *
 * Judges:
 * - exact: normalised exact match (lower case, punctuation and the articles a/an/the removed,
 *   whitespace collapsed), the usual SQuAD-style normalisation.
 * - choice: the letter of an option. Accepted forms: "B", "(B)", "B.", "B) text", "Answer: B",
 *   "The answer is B". Anything else is off format: judged incorrect and flagged `offFormat`.
 * - llm: another model (any OpenAI-compatible endpoint) is asked, with JUDGE_SYSTEM_PROMPT, to
 *   reply CORRECT or INCORRECT. Any other reply is off format: the item is flagged and left out
 *   of the accuracy (its correctness is unknown), never counted as right.
 */
import type { ChatMessage } from '../../predictor/payload';
import { letterOf, type EvalItem } from './eval-items';

export type JudgeKind = 'exact' | 'choice' | 'llm';

export type ContextMode = 'compressions' | 'none' | 'raw';

export const ANSWER_SYSTEM_PROMPT =
  'You answer a question using only the notes below. The notes are compressed extracts of a ' +
  'document that you cannot see. If the notes do not hold the answer, give your best guess.';

const FORMAT_CHOICE = 'Reply with the letter of the correct option only (for example: B).';
const FORMAT_SHORT = 'Reply with the answer only: a few words, no explanation.';

export function optionsBlock(options: readonly string[]): string {
  return options.map((o, i) => `${letterOf(i)}. ${o}`).join('\n');
}

/**
 * The predictor request for one item. `texts` are the compressions (mode 'compressions'), the
 * item's raw context (mode 'raw', only after the explicit opt-in), or ignored (mode 'none').
 */
export function answerMessages(item: EvalItem, texts: readonly string[], mode: ContextMode): ChatMessage[] {
  const format = item.options ? FORMAT_CHOICE : FORMAT_SHORT;
  const system =
    mode === 'none'
      ? `You answer a question from your own knowledge; no document is given. ${format}`
      : mode === 'raw'
        ? `You answer a question using only the document below. ${format}`
        : `${ANSWER_SYSTEM_PROMPT} ${format}`;
  const parts = [`Question: ${item.question}`];
  if (item.options) parts.push(`Options:\n${optionsBlock(item.options)}`);
  if (mode === 'compressions') {
    parts.push(`Notes (${texts.length}):\n` + texts.map((t, i) => `[${i + 1}] ${t.trim()}`).join('\n\n'));
  } else if (mode === 'raw') {
    parts.push(`Documents (${texts.length}):\n` + texts.map((t, i) => `[${i + 1}] ${t.trim()}`).join('\n\n'));
  }
  return [
    { role: 'system', content: system },
    { role: 'user', content: parts.join('\n\n') },
  ];
}

export function normaliseAnswer(s: string): string {
  return s
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\p{L}\p{N}\s]/gu, ' ')
    .replace(/\b(a|an|the)\b/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

export interface Judgement {
  /** null: unknown (an off-format LLM judge); such items are left out of the accuracy. */
  correct: boolean | null;
  offFormat: boolean;
  /** What was compared: the normalised answer, the letter read, or the judge's reply. */
  read: string;
  /** The LLM judge's exact reply, when one was asked. */
  judgeReply?: string;
}

export function judgeExact(answer: string, reference: string): Judgement {
  const a = normaliseAnswer(answer);
  return { correct: a === normaliseAnswer(reference), offFormat: false, read: a };
}

/** The option letter in an answer, or null when it does not give one in an accepted form. */
export function readChoiceLetter(answer: string, optionCount: number): string | null {
  const s = answer.trim().replace(/^\*+|\*+$/g, '');
  const forms = [
    /^\(?([A-Za-z])\)?[.):]?$/,
    /^\(?([A-Z])\)?[.):]\s+\S/,
    /^(?:the\s+)?(?:correct\s+)?(?:answer|option)(?:\s+is)?\s*[:\-]?\s*\(?([A-Za-z])\)?(?:[.)]|\s|$)/i,
  ];
  for (const re of forms) {
    const m = re.exec(s);
    if (m) {
      const letter = m[1].toUpperCase();
      const index = letter.charCodeAt(0) - 65;
      return index >= 0 && index < optionCount ? letter : null;
    }
  }
  return null;
}

export function judgeChoice(answer: string, item: EvalItem): Judgement {
  const letter = readChoiceLetter(answer, item.options?.length ?? 0);
  if (letter === null) return { correct: false, offFormat: true, read: '' };
  return { correct: letter === item.answer, offFormat: false, read: letter };
}

export const JUDGE_SYSTEM_PROMPT =
  'You grade answers. You are given a question, possibly its options, the reference answer and ' +
  'a candidate answer. Reply with exactly one word: CORRECT if the candidate answer means the same ' +
  'as the reference answer, INCORRECT otherwise.';

/** The LLM judge's request: question, options, reference and candidate answers only. */
export function judgeMessages(item: EvalItem, answer: string): ChatMessage[] {
  const parts = [`Question: ${item.question}`];
  if (item.options) parts.push(`Options:\n${optionsBlock(item.options)}`);
  const reference = item.options ? `${item.answer}. ${item.options[item.answer.charCodeAt(0) - 65]}` : item.answer;
  parts.push(`Reference answer: ${reference}`, `Candidate answer: ${answer.trim()}`);
  return [
    { role: 'system', content: JUDGE_SYSTEM_PROMPT },
    { role: 'user', content: parts.join('\n\n') },
  ];
}

export function readJudgeReply(reply: string): Judgement {
  const s = reply.trim().replace(/[.!*"']/g, '').trim().toUpperCase();
  if (s === 'CORRECT') return { correct: true, offFormat: false, read: 'CORRECT', judgeReply: reply };
  if (s === 'INCORRECT') return { correct: false, offFormat: false, read: 'INCORRECT', judgeReply: reply };
  return { correct: null, offFormat: true, read: '', judgeReply: reply };
}
