// @vitest-environment happy-dom
import { cleanup, render, screen } from '@testing-library/svelte';
import { afterEach, describe, expect, it } from 'vitest';
import EngineLoadReport from './EngineLoadReport.svelte';

afterEach(cleanup);

describe('EngineLoadReport', () => {
  it('says whether prompt reuse and the fast path are on, why, and the measured difference', () => {
    render(EngineLoadReport, {
      report: {
        promptReuse: true,
        promptReuseNote: 'KV roll-back checked: one prompt prefill serves every continuation',
        fastPath: false,
        fastPathNote: 'all-positions scoring differs from forced decoding by up to too much (rms difference 1.20e-2, largest 3.10e-2 nats per token; tolerances 1e-2 rms, 5e-2 largest); using forced decoding',
        fastPathMaxDiffNats: 0.031,
        fastPathToleranceNats: 0.05,
        fastPathRmsDiffNats: 0.012,
        fastPathRmsToleranceNats: 0.01,
      },
    });
    const el = screen.getByTestId('engine-load-report');
    expect(el.dataset.promptReuse).toBe('true');
    expect(el.dataset.fastPath).toBe('false');
    expect(el.textContent).toMatch(/Prompt reuse on: KV roll-back checked/);
    expect(el.textContent).toMatch(/All-positions scoring off \(largest difference from forced decoding 3\.1e-2 nats per token, rms 1\.2e-2\)/);
  });

  it('leaves the difference out when nothing was measured', () => {
    render(EngineLoadReport, {
      report: {
        promptReuse: false,
        promptReuseNote: 'no KV roll-back (model state is not a plain KV cache)',
        fastPath: false,
        fastPathNote: 'the all-positions path is not available; scoring uses forced decoding',
        fastPathMaxDiffNats: null,
        fastPathToleranceNats: 0.01,
      },
    });
    const el = screen.getByTestId('engine-load-report');
    expect(el.textContent).toMatch(/Prompt reuse off: no KV roll-back/);
    expect(el.textContent).not.toMatch(/largest difference/);
  });
});
