import { describe, expect, it } from 'vitest';
import { nextStep, type StepInputs } from './next-step';

const blank: StepInputs = {
  documents: 0,
  selected: 0,
  engineState: 'idle',
  question: '',
  runBusy: false,
  sendable: 0,
  predictorReady: false,
  sendPhase: 'idle',
};

describe('nextStep', () => {
  it('walks from a blank page to an answer, naming what blocks each step', () => {
    const steps: [Partial<StepInputs>, string, string | undefined][] = [
      [{}, 'add-document', 'No document yet.'],
      [{ documents: 2 }, 'select-document', 'No document selected.'],
      [{ documents: 2, selected: 1 }, 'load-engine', 'No engine loaded.'],
      [{ documents: 2, selected: 1, engineState: 'error' }, 'load-engine', 'No engine loaded.'],
      [{ documents: 2, selected: 1, engineState: 'loading' }, 'loading-engine', undefined],
      [{ documents: 2, selected: 1, engineState: 'ready', question: '  ' }, 'question', undefined],
      [{ documents: 2, selected: 1, engineState: 'ready', question: 'Who?' }, 'run', undefined],
      [{ documents: 2, selected: 1, engineState: 'ready', question: 'Who?', runBusy: true }, 'running', undefined],
      [{ documents: 2, selected: 1, engineState: 'ready', question: 'Who?', sendable: 1 }, 'predictor', 'No predictor set.'],
      [{ documents: 2, selected: 1, question: 'Who?', sendable: 1, predictorReady: true }, 'send', undefined],
      [{ documents: 2, selected: 1, question: 'Who?', sendable: 1, predictorReady: true, sendPhase: 'streaming' }, 'sending', undefined],
      [{ documents: 2, selected: 1, question: 'Who?', sendable: 1, predictorReady: true, sendPhase: 'done' }, 'done', undefined],
      [{ documents: 2, selected: 1, question: 'Who?', sendable: 1, predictorReady: true, sendPhase: 'error' }, 'send', undefined],
    ];
    for (const [over, id, blockedBy] of steps) {
      const step = nextStep({ ...blank, ...over });
      expect(step.id, JSON.stringify(over)).toBe(id);
      expect(step.blockedBy).toBe(blockedBy);
      expect(step.text.length).toBeGreaterThan(0);
    }
  });

  it('points each step at the view that holds it', () => {
    expect(nextStep(blank).view).toBe('documents');
    expect(nextStep({ ...blank, documents: 1, selected: 1 }).view).toBe('compress');
    expect(nextStep({ ...blank, documents: 1, selected: 1, sendable: 2 }).view).toBe('send');
  });
});
