// @vitest-environment happy-dom
import 'fake-indexeddb/auto';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeDb, useDatabaseForTests } from '../../lib/storage/db';
import { LibraryStore } from '../../lib/state/library.svelte';
import LibraryPanel from './LibraryPanel.svelte';
import { chunkText } from '../../lib/core/chunking';

let n = 0;
beforeEach(async () => {
  await useDatabaseForTests(`precis-panel-${++n}-${Date.now()}`);
});
afterEach(async () => {
  cleanup();
  await closeDb();
});

describe('LibraryPanel', () => {
  it('adds pasted text, lists it selected, shows its text, keeps it selected on a second click', async () => {
    const library = new LibraryStore();
    await library.init();
    render(LibraryPanel, { library });
    await fireEvent.input(screen.getByTestId('doc-title'), { target: { value: 'Memo' } });
    await fireEvent.input(screen.getByTestId('doc-paste'), { target: { value: 'The memo says hello.' } });
    await fireEvent.click(screen.getByTestId('doc-add'));
    const item = await screen.findByTestId('doc-item');
    expect(item.textContent).toContain('Memo');
    await waitFor(() => expect(item.getAttribute('data-selected')).toBe('true'));
    expect((await screen.findByTestId('doc-text')).textContent).toBe('The memo says hello.');
    await fireEvent.click(item);
    await waitFor(() => expect(item.getAttribute('data-selected')).toBe('true'));
    await fireEvent.click(screen.getByTestId('doc-select'));
    await waitFor(() => expect(item.getAttribute('data-selected')).toBe('false'));
    expect((screen.getByTestId('doc-paste') as HTMLTextAreaElement).value).toBe('');
  });

  it('shows named errors', async () => {
    const library = new LibraryStore();
    await library.init();
    render(LibraryPanel, { library });
    await fireEvent.click(screen.getByTestId('doc-add'));
    const err = await screen.findByTestId('library-error');
    expect(err.getAttribute('data-error-name')).toBe('EmptyTextError');
  });

  it('shows the chunks when given a chunker', async () => {
    const library = new LibraryStore();
    await library.init();
    await library.addPasted('one two three.\n\nfour five six.', 'c');
    const chunker = async (text: string) => ({ budgetTokens: 3, chunks: await chunkText(text, (s) => s.split(/\s+/).length, 3) });
    render(LibraryPanel, { library, chunker });
    const details = screen.getByText(/Passages for the loaded model/).closest('details')!;
    details.open = true;
    await fireEvent(details, new Event('toggle'));
    await waitFor(() => expect(screen.getAllByTestId('doc-chunk')).toHaveLength(2));
  });
});
