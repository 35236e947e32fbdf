/**
 * Read a text file as a stream, so a 50 MB file never blocks the page: bytes are decoded chunk
 * by chunk (`TextDecoderStream`) and progress is reported as they arrive.
 *
 * Before streaming, a sample of the start decides what the file is: UTF-16 by its byte-order
 * mark; binary when it holds NUL bytes, many control characters or mostly invalid UTF-8;
 * Windows-1252 when it is not valid UTF-8 but otherwise looks like text (older files).
 */
import { BinaryFileError, EmptyFileError } from './errors';

export const SAMPLE_BYTES = 64 * 1024;

export type TextEncodingName = 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252';

/** Decide the encoding of a file from its first bytes, or return 'binary'. */
export function sniffEncoding(sample: Uint8Array): TextEncodingName | 'binary' {
  if (sample[0] === 0xff && sample[1] === 0xfe) return 'utf-16le';
  if (sample[0] === 0xfe && sample[1] === 0xff) return 'utf-16be';
  let controls = 0;
  for (const b of sample) {
    if (b === 0) return 'binary';
    // Tab, LF, VT, FF, CR and ESC appear in real text; other C0 controls do not.
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0b && b !== 0x0c && b !== 0x0d && b !== 0x1b) controls++;
  }
  if (controls > sample.length * 0.01) return 'binary';
  const decoded = new TextDecoder('utf-8').decode(sample, { stream: true });
  let invalid = 0;
  for (let i = decoded.indexOf('\uFFFD'); i !== -1; i = decoded.indexOf('\uFFFD', i + 1)) invalid++;
  if (invalid === 0) return 'utf-8';
  // Binary data nearly always trips the NUL or control checks above; this catches the rest
  // while leaving room for accent-heavy legacy text (well under a third of its characters).
  if (invalid > decoded.length * 0.3) return 'binary';
  return 'windows-1252';
}

/** Normalise line ends to `\n` (the chunker and the offsets count on it). */
export function normaliseNewlines(text: string): string {
  return text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
}

/**
 * Read a file's text. `onProgress(fraction)` is called as bytes arrive.
 * Throws `EmptyFileError` or `BinaryFileError`.
 */
export async function readTextFile(file: File, onProgress?: (fraction: number) => void): Promise<string> {
  if (file.size === 0) throw new EmptyFileError(file.name);
  const sample = new Uint8Array(await file.slice(0, SAMPLE_BYTES).arrayBuffer());
  const encoding = sniffEncoding(sample);
  if (encoding === 'binary') throw new BinaryFileError(file.name);
  let bytesRead = 0;
  const counter = new TransformStream<Uint8Array<ArrayBuffer>, Uint8Array<ArrayBuffer>>({
    transform(chunk, controller) {
      bytesRead += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
  const reader = file.stream().pipeThrough(counter).pipeThrough(new TextDecoderStream(encoding)).getReader();
  const parts: string[] = [];
  const isUtf8 = encoding === 'utf-8' || encoding === 'windows-1252';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      // A NUL past the sample means binary after all (e.g. text header on a binary body).
      if (isUtf8 && value.includes('\0')) throw new BinaryFileError(file.name);
      parts.push(value);
      onProgress?.(Math.min(1, bytesRead / file.size));
    }
  } catch (err) {
    await reader.cancel().catch(() => undefined);
    throw err;
  }
  const text = normaliseNewlines(parts.join(''));
  if (text.trim() === '') throw new EmptyFileError(file.name);
  return text;
}
