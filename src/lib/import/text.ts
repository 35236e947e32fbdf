/**
 * Read a text file as a stream, so a 50 MB file never blocks the page: bytes are decoded chunk
 * by chunk (`TextDecoderStream`) and progress is reported as they arrive.
 *
 * Before streaming, a sample of the start decides what the file is: UTF-16 by its byte-order
 * mark; binary when it holds NUL bytes, many control characters or mostly invalid UTF-8;
 * Windows-1252 only when invalid UTF-8 sequences outnumber valid multi-byte characters (an
 * older file with accents); otherwise UTF-8, where each invalid sequence becomes U+FFFD (as
 * `TextDecoder` does) and the caller is told how many there were. One stray byte in a UTF-8
 * file therefore no longer turns every accented letter of it into mojibake.
 */
import { BinaryFileError, EmptyFileError } from './errors';

export const SAMPLE_BYTES = 64 * 1024;

export type TextEncodingName = 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252';

/**
 * Follows the WHATWG UTF-8 decoder (what `TextDecoder` does) over bytes given in parts and
 * counts what it meets: `invalid` is the number of U+FFFD it emits for invalid sequences,
 * `multiByte` the number of valid characters of two to four bytes. Linear, no allocation.
 */
export class Utf8Census {
  invalid = 0;
  multiByte = 0;
  private needed = 0;
  private seen = 0;
  private lower = 0x80;
  private upper = 0xbf;

  push(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (this.needed === 0) {
        if (b <= 0x7f) continue;
        if (b >= 0xc2 && b <= 0xdf) this.needed = 1;
        else if (b >= 0xe0 && b <= 0xef) {
          if (b === 0xe0) this.lower = 0xa0;
          if (b === 0xed) this.upper = 0x9f;
          this.needed = 2;
        } else if (b >= 0xf0 && b <= 0xf4) {
          if (b === 0xf0) this.lower = 0x90;
          if (b === 0xf4) this.upper = 0x8f;
          this.needed = 3;
        } else this.invalid++;
        continue;
      }
      if (b < this.lower || b > this.upper) {
        // The sequence is cut short; the decoder reads this byte again as a new start.
        this.reset();
        this.invalid++;
        i--;
        continue;
      }
      this.lower = 0x80;
      this.upper = 0xbf;
      if (++this.seen === this.needed) {
        this.multiByte++;
        this.reset();
      }
    }
  }

  /** The input ended: a sequence left open is one more U+FFFD. */
  end(): void {
    if (this.needed !== 0) this.invalid++;
    this.reset();
  }

  private reset(): void {
    this.needed = 0;
    this.seen = 0;
    this.lower = 0x80;
    this.upper = 0xbf;
  }
}

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
  // The sample may end inside a character: its open tail is not counted (no end()).
  const census = new Utf8Census();
  census.push(sample);
  if (census.invalid === 0) return 'utf-8';
  // Binary data nearly always trips the NUL or control checks above; this catches the rest
  // while leaving room for accent-heavy legacy text.
  if (census.invalid > sample.length * 0.3) return 'binary';
  return census.invalid > census.multiByte ? 'windows-1252' : 'utf-8';
}

/** Normalise line ends to `\n` (the chunker and the offsets count on it). */
export function normaliseNewlines(text: string): string {
  return text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
}

export interface DecodedText {
  text: string;
  encoding: TextEncodingName;
  /** Invalid UTF-8 sequences replaced by U+FFFD (0 for other encodings). */
  replacedSequences: number;
}

/**
 * Read a file's text. `onProgress(fraction)` is called as bytes arrive.
 * Throws `EmptyFileError` or `BinaryFileError`.
 */
export async function readTextFile(file: File, onProgress?: (fraction: number) => void): Promise<string> {
  return (await decodeTextFile(file, onProgress)).text;
}

/** `readTextFile` that also says which encoding was used and how many bytes were bad. */
export async function decodeTextFile(file: File, onProgress?: (fraction: number) => void): Promise<DecodedText> {
  if (file.size === 0) throw new EmptyFileError(file.name);
  const sample = new Uint8Array(await file.slice(0, SAMPLE_BYTES).arrayBuffer());
  const encoding = sniffEncoding(sample);
  if (encoding === 'binary') throw new BinaryFileError(file.name);
  const census = encoding === 'utf-8' ? new Utf8Census() : null;
  let bytesRead = 0;
  const counter = new TransformStream<Uint8Array<ArrayBuffer>, Uint8Array<ArrayBuffer>>({
    transform(chunk, controller) {
      bytesRead += chunk.byteLength;
      census?.push(chunk);
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
  census?.end();
  const text = normaliseNewlines(parts.join(''));
  if (text.trim() === '') throw new EmptyFileError(file.name);
  return { text, encoding, replacedSequences: census?.invalid ?? 0 };
}
