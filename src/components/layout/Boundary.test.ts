// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen } from '@testing-library/svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import BoundaryHarness from './test-fixtures/BoundaryHarness.svelte';

afterEach(() => cleanup());

describe('Boundary', () => {
  it('contains a panel that throws: a plain message, the error by name, a way out; the rest renders', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const control = { fail: true };
    render(BoundaryHarness, { control });
    const box = await screen.findByTestId('panel-error');
    expect(box.getAttribute('role')).toBe('alert');
    expect(box.getAttribute('data-panel')).toBe('Library');
    expect(box.getAttribute('data-error-name')).toBe('TypeError');
    expect(box.textContent).toContain('Library could not be shown');
    expect(box.textContent).toContain('the record has no tokenEstimate');
    expect(screen.getByTestId('panel-error-home').getAttribute('href')).toBe('#/documents');
    expect(screen.getByTestId('sibling').textContent).toBe('Still here.');
    expect(screen.queryByTestId('throws-ok')).toBeNull();
    expect(logged).toHaveBeenCalled();

    // Once the cause is gone, Try again renders the panel.
    control.fail = false;
    await fireEvent.click(screen.getByTestId('panel-error-retry'));
    expect((await screen.findByTestId('throws-ok')).textContent).toBe('The panel works.');
    expect(screen.queryByTestId('panel-error')).toBeNull();
    logged.mockRestore();
  });
});
