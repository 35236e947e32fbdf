/**
 * The library as page state: documents, the open document, the selection for the next run,
 * import progress, runs, storage figures, and the errors and notices to show.
 *
 * Invariants: every change goes through the storage repository and the lists are re-read from
 * it afterwards, so what is shown is what is stored. Nothing here throws at the view: failures
 * become `errors` entries with their `name`. Clicking a document opens and selects it; only
 * `deselect`/`toggle` remove from the selection. The selection and the open document are saved
 * as settings so a reload finds them.
 */
import { SvelteSet } from 'svelte/reactivity';
import { errorMessage, errorName } from '../core/errors';
import type { ImportProgress } from '../import/import-file';
import { localIo, type ImportedDocument, type LibraryIo } from '../import/library-io';
import { announceRun, onRunAnnounced } from './run-channel';
import {
  addDocument,
  clearAll,
  deleteDocument,
  deleteRun,
  getDocumentText,
  getSetting,
  listDocuments,
  listRuns,
  markInterruptedRuns,
  onDbEvent,
  requestPersistentStorage,
  setSetting,
  storageBreakdown,
  type DocumentMeta,
  type RunMeta,
  type StorageBreakdown,
} from '../storage';

export interface LibraryError {
  name: string;
  message: string;
}

export interface ImportStatus extends ImportProgress {
  /** 1-based position of this file in the batch. */
  index: number;
  total: number;
}

const SELECTED_KEY = 'library.selected';
const OPEN_KEY = 'library.open';

function asError(err: unknown): LibraryError {
  return { name: errorName(err), message: errorMessage(err) };
}

/** Offer a Blob as a file download (export). */
function download(fileName: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

export class LibraryStore {
  documents = $state.raw<DocumentMeta[]>([]);
  runs = $state.raw<RunMeta[]>([]);
  readonly selected = new SvelteSet<string>();
  openId = $state<string | null>(null);
  /** Full text of the open document (the view decides how much to show). */
  openText = $state<string | null>(null);
  importing = $state<ImportStatus | null>(null);
  busy = $state(false);
  errors = $state<LibraryError[]>([]);
  notices = $state<string[]>([]);
  storage = $state<StorageBreakdown | null>(null);
  persisted = $state<boolean | null>(null);
  /** Set when the database is unusable in this tab (another tab upgraded it): tell the user to reload. */
  dbProblem = $state<string | null>(null);
  ready = $state(false);
  /** Ids of runs found `running` at startup and marked `interrupted`. */
  interruptedRunIds = $state.raw<string[]>([]);

  openDocument = $derived(this.documents.find((d) => d.id === this.openId) ?? null);
  selectedDocuments = $derived(this.documents.filter((d) => this.selected.has(d.id)));
  /** The sample documents in the library. */
  samples = $derived(this.documents.filter((d) => d.sample === true));
  quotaError = $derived(this.errors.find((e) => e.name === 'StorageQuotaError') ?? null);

  private unsubscribe: (() => void) | null = null;
  private unsubscribeRuns: (() => void) | null = null;
  private storageMeasuring: Promise<void> | null = null;
  private storageStale = false;

  /** `io` does the long work (import, export); the page passes the import worker's. */
  constructor(private readonly io: LibraryIo = localIo()) {}

  /** Call once on page start: watch the connection, mark interrupted runs, load everything. */
  async init(): Promise<void> {
    // Another tab started, advanced, finished or deleted a run: the runs list follows.
    this.unsubscribeRuns ??= onRunAnnounced(() => void this.refresh());
    this.unsubscribe ??= onDbEvent((event) => {
      if (event.kind === 'blocked') {
        this.dbProblem = 'Précis is open in another tab with an older version. Close or reload that tab.';
      } else {
        this.dbProblem = event.error.message;
      }
    });
    try {
      this.interruptedRunIds = await markInterruptedRuns();
      const [selected, openId] = await Promise.all([getSetting<string[]>(SELECTED_KEY), getSetting<string>(OPEN_KEY)]);
      await this.refresh();
      const present = new Set(this.documents.map((d) => d.id));
      for (const id of selected ?? []) if (present.has(id)) this.selected.add(id);
      if (openId && present.has(openId)) await this.loadOpen(openId);
    } catch (err) {
      this.fail(err);
    } finally {
      this.ready = true;
    }
  }

  dispose(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.unsubscribeRuns?.();
    this.unsubscribeRuns = null;
  }

  async refresh(): Promise<void> {
    try {
      const [documents, runs] = await Promise.all([listDocuments(), listRuns()]);
      this.documents = documents;
      this.runs = runs;
      // The storage figures follow the lists (once the Storage panel has asked for them).
      if (this.storage !== null || this.storageMeasuring) void this.refreshStorage();
      for (const id of [...this.selected]) if (!documents.some((d) => d.id === id)) this.selected.delete(id);
      if (this.openId && !documents.some((d) => d.id === this.openId)) {
        this.openId = null;
        this.openText = null;
      }
    } catch (err) {
      this.fail(err);
    }
  }

  /** Add pasted text as a document; returns it (or the identical one already stored). */
  async addPasted(text: string, title = ''): Promise<DocumentMeta | null> {
    const normalised = text.replace(/\r\n?/g, '\n');
    if (normalised.trim() === '') {
      this.fail({ name: 'EmptyTextError', message: 'There is no text to add. Paste or type some text first.' });
      return null;
    }
    return this.run(async () => {
      const { doc, duplicate } = await addDocument({ title, kind: 'pasted', text: normalised });
      this.noteDuplicate(doc, duplicate, title || 'The pasted text');
      await this.refresh();
      await this.open(doc.id);
      return doc;
    });
  }

  /** Import files one after another; a failing file is reported and the others still go in. */
  async importFiles(files: FileList | File[]): Promise<DocumentMeta[]> {
    const list = Array.from(files);
    const added: DocumentMeta[] = [];
    this.busy = true;
    try {
      for (const [i, file] of list.entries()) {
        const base = { index: i + 1, total: list.length };
        this.importing = { ...base, fileName: file.name, phase: 'reading', fraction: 0, detail: 'Starting' };
        try {
          const imported = await this.io.importDocument(file, (p) => (this.importing = { ...base, ...p }));
          const { doc, duplicate } = imported;
          this.noteDuplicate(doc, duplicate, `“${file.name}”`);
          this.noteEncoding(file.name, imported);
          added.push(doc);
          await this.refresh();
        } catch (err) {
          this.fail(err);
        }
      }
      const last = added.at(-1);
      if (last) await this.open(last.id);
    } finally {
      this.importing = null;
      this.busy = false;
    }
    return added;
  }

  /** Open a document (its text is loaded) and select it for the next run. */
  async open(id: string): Promise<void> {
    this.select(id);
    await this.loadOpen(id);
    void setSetting(OPEN_KEY, id).catch(() => undefined);
  }

  close(): void {
    this.openId = null;
    this.openText = null;
    void setSetting(OPEN_KEY, null).catch(() => undefined);
  }

  private async loadOpen(id: string): Promise<void> {
    try {
      const text = await getDocumentText(id);
      this.openId = id;
      this.openText = text;
    } catch (err) {
      this.fail(err);
    }
  }

  select(id: string): void {
    if (this.selected.has(id)) return;
    this.selected.add(id);
    this.saveSelection();
  }

  deselect(id: string): void {
    if (!this.selected.delete(id)) return;
    this.saveSelection();
  }

  toggle(id: string): void {
    if (this.selected.has(id)) this.deselect(id);
    else this.select(id);
  }

  selectAll(): void {
    for (const d of this.documents) this.selected.add(d.id);
    this.saveSelection();
  }

  clearSelection(): void {
    this.selected.clear();
    this.saveSelection();
  }

  private saveSelection(): void {
    void setSetting(SELECTED_KEY, [...this.selected]).catch(() => undefined);
  }

  async delete(id: string): Promise<void> {
    await this.run(async () => {
      await deleteDocument(id);
      this.selected.delete(id);
      this.saveSelection();
      await this.refresh();
    });
  }

  /** Delete every document and run (settings stay). */
  async deleteAll(): Promise<void> {
    await this.run(async () => {
      await clearAll({ keepSettings: true });
      this.selected.clear();
      this.saveSelection();
      await this.refresh();
    });
  }

  /**
   * Add the app's sample documents (tagged `sample`), then open and select the first one alone,
   * so the next run compresses it and the other samples serve as contrast passages.
   * Samples already present are not stored twice.
   */
  async loadSamples(samples: { title: string; text: string }[], firstIndex = 0): Promise<DocumentMeta[]> {
    const added =
      (await this.run(async () => {
        const docs: DocumentMeta[] = [];
        for (const s of samples) docs.push((await addDocument({ title: s.title, kind: 'text', text: s.text, sample: true })).doc);
        await this.refresh();
        return docs;
      })) ?? [];
    const first = added[firstIndex];
    if (first) {
      this.selected.clear();
      await this.open(first.id);
    }
    return added;
  }

  /** Delete every sample document (documents of your own stay). */
  async removeSamples(): Promise<void> {
    await this.run(async () => {
      for (const d of this.documents.filter((doc) => doc.sample)) {
        await deleteDocument(d.id);
        this.selected.delete(d.id);
      }
      this.saveSelection();
      await this.refresh();
    });
  }

  async deleteRun(id: string): Promise<void> {
    await this.run(async () => {
      await deleteRun(id);
      announceRun({ runId: id, status: 'deleted' });
      await this.refresh();
    });
  }

  /** Download the whole library as one NDJSON file (built from parts); returns the Blob. */
  async exportAll(): Promise<Blob | null> {
    return this.run(async () => {
      const blob = await this.io.exportLibrary();
      download(`precis-library-${today()}.ndjson`, blob);
      return blob;
    });
  }

  /** Download one run: its compressions, exchanges and the raw passages of its bank. */
  async exportRun(id: string): Promise<Blob | null> {
    return this.run(async () => {
      const blob = await this.io.exportRun(id);
      download(`precis-run-${id.slice(0, 8)}-${today()}.ndjson`, blob);
      return blob;
    });
  }

  /** Import an export file (all or nothing); the notice says what was added. */
  async importJson(file: File): Promise<void> {
    await this.run(async () => {
      const s = await this.io.importLibrary(file);
      const parts = [
        `${s.documentsAdded} document${s.documentsAdded === 1 ? '' : 's'} and ${s.runsAdded} run${s.runsAdded === 1 ? '' : 's'} added`,
      ];
      if (s.documentsAlreadyPresent) parts.push(`${s.documentsAlreadyPresent} document(s) were already here`);
      if (s.runsAlreadyPresent) parts.push(`${s.runsAlreadyPresent} run(s) were already here`);
      if (s.settingsDropped) parts.push(`${s.settingsDropped} unknown setting(s) were left out`);
      this.notices = [...this.notices, `Imported “${file.name}”: ${parts.join('; ')}.`];
      await this.refresh();
    });
  }

  /** Measure storage; calls while a measurement runs are folded into one more after it. */
  async refreshStorage(): Promise<void> {
    if (this.storageMeasuring) {
      this.storageStale = true;
      return this.storageMeasuring;
    }
    this.storageMeasuring = (async () => {
      try {
        do {
          this.storageStale = false;
          this.storage = await storageBreakdown();
          this.persisted = this.storage.persisted;
        } while (this.storageStale);
      } catch (err) {
        this.fail(err);
      } finally {
        this.storageMeasuring = null;
      }
    })();
    return this.storageMeasuring;
  }

  async requestPersist(): Promise<boolean> {
    try {
      this.persisted = await requestPersistentStorage();
      if (!this.persisted) {
        this.notices = [...this.notices, 'The browser did not grant persistent storage; it may still keep the data. Installing the app or bookmarking it can help.'];
      }
      await this.refreshStorage();
      return this.persisted;
    } catch (err) {
      this.fail(err);
      return false;
    }
  }

  dismissError(index: number): void {
    this.errors = this.errors.filter((_, i) => i !== index);
  }

  dismissNotice(index: number): void {
    this.notices = this.notices.filter((_, i) => i !== index);
  }

  /** Say how a file was decoded when it was not plain UTF-8. */
  private noteEncoding(fileName: string, imported: ImportedDocument): void {
    const bad = imported.replacedSequences ?? 0;
    if (bad > 0) {
      this.notices = [
        ...this.notices,
        `“${fileName}” was read as UTF-8, but ${bad.toLocaleString()} byte sequence${bad === 1 ? ' is' : 's are'} not valid UTF-8 and ${bad === 1 ? 'was' : 'were'} replaced by “\uFFFD”.`,
      ];
    } else if (imported.encoding === 'windows-1252') {
      this.notices = [...this.notices, `“${fileName}” is not UTF-8; it was read as Windows-1252 (Western European). Check its accented letters.`];
    }
  }

  private noteDuplicate(doc: DocumentMeta, duplicate: boolean, what: string): void {
    if (duplicate) this.notices = [...this.notices, `${what} is already in the library as “${doc.title}”; it was not stored twice.`];
  }

  private fail(err: unknown): void {
    const e = asError(err);
    // The database itself is unusable in this tab: one standing explanation, not a pile of errors.
    if (e.name === 'DatabaseTooNewError' || e.name === 'DatabaseBlockedError' || e.name === 'DatabaseClosedError') {
      this.dbProblem = e.message;
      return;
    }
    this.errors = [...this.errors, e];
  }

  private async run<T>(work: () => Promise<T>): Promise<T | null> {
    this.busy = true;
    try {
      return await work();
    } catch (err) {
      this.fail(err);
      return null;
    } finally {
      this.busy = false;
    }
  }
}
