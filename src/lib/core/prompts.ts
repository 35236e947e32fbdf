/**
 * Compression prompt templates T(x, q): how a context x and a question q become the prompt the
 * compressor samples from and every compression is scored under. The template is part of the
 * channel being measured, so it is fixed within an estimate and its version string is stored
 * with every result: change the wording, bump the version.
 *
 * Two styles, chosen by the engine's ModelInfo.promptStyle:
 * - 'chat' (instruction models): a system message and a user message that ask for a
 *   question-focused compression, in our own words after the paper's prompt (§2.1 of
 *   notes/paper.md): keep only what is needed to answer the question, pull out the key points,
 *   keep the background that matters, and do not answer the question. An optional sentence
 *   budget asks for exactly k sentences (the paper's conciseness levels were 3, 6 and 9).
 * - 'plain' (story models such as stories260K): the context, then the question on a new line.
 *   A story model was never taught to follow instructions; an instruction would only be more
 *   text to continue. What it writes next is still a noisy function of the context, which is
 *   all the estimator needs. The sentence budget is ignored here for the same reason.
 */
import type { Prompt, PromptStyle } from './engine';

/** Recorded with every estimate; bump when any template text changes. */
export const COMPRESSION_TEMPLATE_VERSION = 'compress-v1';

export interface CompressionPromptOptions {
  /** Ask for exactly this many sentences (chat style only); a whole number >= 1. */
  sentenceBudget?: number;
}

const SYSTEM =
  'You compress documents for another assistant. That assistant will answer a question but will ' +
  'never see the document: it sees only the compression you write. Write plain prose, not a list.';

function sentences(k: number): string {
  return k === 1 ? 'exactly 1 sentence' : `exactly ${k} sentences`;
}

function chatInstruction(question: string, sentenceBudget?: number): string {
  const budget = sentenceBudget !== undefined ? ` Write it in ${sentences(sentenceBudget)}.` : '';
  if (question === '') {
    return (
      'Compress the document above. Keep its key points and the background details needed to ' +
      `understand them; leave out everything else.${budget}`
    );
  }
  return (
    'Compress the document above for the question below. Keep only the information needed to ' +
    'answer the question: pull out the key points, and keep any background details that matter ' +
    'for understanding them. Do not answer the question yourself; report what the document says.' +
    `${budget}\n\nQuestion: ${question}`
  );
}

/**
 * The compression prompt for `context` and `question` in the given style. The question may be
 * empty: chat style then asks for a general compression, plain style is the context alone.
 * Throws RangeError for a sentence budget that is not a whole number >= 1.
 */
export function compressionPrompt(
  style: PromptStyle,
  context: string,
  question: string,
  opts: CompressionPromptOptions = {},
): Prompt {
  const { sentenceBudget } = opts;
  if (sentenceBudget !== undefined && !(Number.isInteger(sentenceBudget) && sentenceBudget >= 1)) {
    throw new RangeError(`The sentence budget must be a whole number >= 1 (got ${sentenceBudget}).`);
  }
  const q = question.trim();
  if (style === 'plain') {
    return { kind: 'plain', text: q === '' ? context : `${context}\n${q}` };
  }
  return {
    kind: 'chat',
    messages: [
      { role: 'system', content: SYSTEM },
      { role: 'user', content: `Document:\n${context}\n\n${chatInstruction(q, sentenceBudget)}` },
    ],
  };
}
