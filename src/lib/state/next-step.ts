/**
 * The next step from a blank page to an answer, worked out from what the page holds. Pure (no
 * DOM, no stores), so every branch is unit-tested; the header shows the result on every view.
 *
 * Order: a document, a selection, a loaded compressor, a question, a finished run, a predictor,
 * a send. A step that cannot run yet names what it waits for (`blockedBy`).
 */
export type StepId =
  | 'add-document'
  | 'select-document'
  | 'load-engine'
  | 'loading-engine'
  | 'question'
  | 'run'
  | 'running'
  | 'predictor'
  | 'send'
  | 'sending'
  | 'done';

export interface StepInputs {
  documents: number;
  selected: number;
  engineState: 'idle' | 'loading' | 'ready' | 'error';
  question: string;
  /** The run shown: busy, and whether it has compressions the predictor may receive. */
  runBusy: boolean;
  sendable: number;
  predictorReady: boolean;
  sendPhase: 'idle' | 'streaming' | 'done' | 'error' | 'cancelled';
}

export interface NextStep {
  id: StepId;
  /** The view that holds the step (a `data-view` of the nav). */
  view: string;
  /** What to do, in a few words. */
  text: string;
  /** Why a later step cannot run yet, when that is the point. */
  blockedBy?: string;
}

export function nextStep(s: StepInputs): NextStep {
  if (s.documents === 0)
    return { id: 'add-document', view: 'documents', text: 'Add a document, or load the sample documents.', blockedBy: 'No document yet.' };
  if (s.selected === 0)
    return { id: 'select-document', view: 'documents', text: 'Select the documents to compress.', blockedBy: 'No document selected.' };
  if (s.runBusy) return { id: 'running', view: 'compress', text: 'A run is in progress: compressions appear as they are written.' };
  if (s.sendable === 0) {
    if (s.engineState === 'loading') return { id: 'loading-engine', view: 'compress', text: 'The compressor is loading.' };
    if (s.engineState !== 'ready')
      return { id: 'load-engine', view: 'compress', text: 'Load a compressor model.', blockedBy: 'No engine loaded.' };
    if (s.question.trim() === '') return { id: 'question', view: 'compress', text: 'Write the question the cloud model should answer.' };
    return { id: 'run', view: 'compress', text: 'Compress the selected documents and measure the MI.' };
  }
  if (!s.predictorReady)
    return { id: 'predictor', view: 'send', text: 'Set up the predictor (base URL and model).', blockedBy: 'No predictor set.' };
  if (s.sendPhase === 'streaming') return { id: 'sending', view: 'send', text: 'The answer is arriving.' };
  if (s.sendPhase === 'done') return { id: 'done', view: 'send', text: 'Read the answer. Write another question to go again.' };
  return { id: 'send', view: 'send', text: 'Check the payload and send it to the predictor.' };
}
