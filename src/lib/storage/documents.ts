/**
 * Library documents: the only code that reads or writes the `documents` and `docTexts` stores.
 * A document is identified for de-duplication by the SHA-256 of its text, so the same text
 * imported twice (pasted or from any file) is stored once. The hash is computed before the
 * transaction opens, because a transaction must not wait on anything but IndexedDB.
 */
import { getDb } from './db';
import { mapQuota, NotFoundError } from './errors';
import type { DocKind, DocumentMeta, DocumentRecord } from './schema';
import { estimateTokens, sha256Hex } from '../import/hash';

export interface NewDocument {
  title: string;
  kind: DocKind;
  text: string;
  mime?: string;
  /** Size of the original file; defaults to the text's UTF-8 size. */
  sizeBytes?: number;
  /** One of the app's sample documents. */
  sample?: boolean;
}

export interface AddDocumentResult {
  doc: DocumentMeta;
  /** True when an identical text was already stored: `doc` is that existing document. */
  duplicate: boolean;
}

export function defaultTitle(text: string): string {
  const firstLine = text.trim().split('\n', 1)[0]?.trim() ?? '';
  if (!firstLine) return 'Untitled';
  if (firstLine.length <= 60) return firstLine;
  // Never cut between the two halves of a surrogate pair (an emoji would become U+FFFD).
  const cut = /[\uD800-\uDBFF]/.test(firstLine[56]) ? 56 : 57;
  return `${firstLine.slice(0, cut)}…`;
}

/** Build the stored record (hash, sizes, estimate) without touching the database. */
export async function prepareDocument(input: NewDocument, now = Date.now()): Promise<DocumentRecord> {
  const textBytes = new TextEncoder().encode(input.text).byteLength;
  return {
    id: crypto.randomUUID(),
    title: input.title.trim() || defaultTitle(input.text),
    kind: input.kind,
    mime: input.mime ?? '',
    sizeBytes: input.sizeBytes ?? textBytes,
    textBytes,
    textChars: input.text.length,
    hash: await sha256Hex(input.text),
    tokenEstimate: estimateTokens(input.text),
    createdAt: now,
    ...(input.sample ? { sample: true } : {}),
    text: input.text,
  };
}

function metaOf(record: DocumentRecord): DocumentMeta {
  const { text: _text, ...meta } = record;
  return meta;
}

/** Store a document, or return the stored one with the same text. Atomic: meta and text together. */
export async function addDocument(input: NewDocument): Promise<AddDocumentResult> {
  const record = await prepareDocument(input);
  return storeDocument(record);
}

/** Store a prepared record unless its hash is present (also used by import). */
export async function storeDocument(record: DocumentRecord): Promise<AddDocumentResult> {
  try {
    return await storeOnce(record);
  } catch (err) {
    // Another tab stored the same text between our lookup and our add: the unique index refused it.
    if ((err as { name?: string })?.name !== 'ConstraintError') throw err;
    const existing = await (await getDb()).getFromIndex('documents', 'by-hash', record.hash);
    if (!existing) throw err;
    return { doc: existing, duplicate: true };
  }
}

async function storeOnce(record: DocumentRecord): Promise<AddDocumentResult> {
  const db = await getDb();
  return mapQuota(`The document “${record.title}”`, async () => {
    const tx = db.transaction(['documents', 'docTexts'], 'readwrite');
    const existing = await tx.objectStore('documents').index('by-hash').get(record.hash);
    if (existing) {
      await tx.done;
      return { doc: existing, duplicate: true };
    }
    const meta = metaOf(record);
    await Promise.all([
      tx.objectStore('documents').add(meta),
      tx.objectStore('docTexts').put({ id: record.id, text: record.text }),
      tx.done,
    ]);
    return { doc: meta, duplicate: false };
  });
}

/** Every document's metadata, oldest first (no texts are loaded). */
export async function listDocuments(): Promise<DocumentMeta[]> {
  const db = await getDb();
  return db.getAllFromIndex('documents', 'by-created');
}

export async function getDocumentMeta(id: string): Promise<DocumentMeta | undefined> {
  return (await getDb()).get('documents', id);
}

/** A document with its text, or undefined. */
export async function getDocument(id: string): Promise<DocumentRecord | undefined> {
  const db = await getDb();
  const tx = db.transaction(['documents', 'docTexts'], 'readonly');
  const [meta, body] = await Promise.all([
    tx.objectStore('documents').get(id),
    tx.objectStore('docTexts').get(id),
    tx.done,
  ]);
  if (!meta) return undefined;
  return { ...meta, text: body?.text ?? '' };
}

export async function getDocumentText(id: string): Promise<string> {
  const body = await (await getDb()).get('docTexts', id);
  if (!body) throw new NotFoundError('The document');
  return body.text;
}

/** Delete a document and its text in one transaction. Runs keep their own copies of chunks. */
export async function deleteDocument(id: string): Promise<void> {
  const db = await getDb();
  const tx = db.transaction(['documents', 'docTexts'], 'readwrite');
  await Promise.all([tx.objectStore('documents').delete(id), tx.objectStore('docTexts').delete(id), tx.done]);
}

/** Delete every document. */
export async function deleteAllDocuments(): Promise<void> {
  const db = await getDb();
  const tx = db.transaction(['documents', 'docTexts'], 'readwrite');
  await Promise.all([tx.objectStore('documents').clear(), tx.objectStore('docTexts').clear(), tx.done]);
}
