/**
 * UTF-8 encoding and incremental decoding, written out because the pure-code build has neither
 * TextEncoder nor TextDecoder in its type library.
 *
 * The streaming decoder turns a stream of byte chunks (one per token) into text without ever
 * splitting a multi-byte character: an incomplete trailing sequence waits for the next chunk.
 * Malformed bytes become U+FFFD (one per maximal invalid subpart, as TextDecoder does).
 */

/** UTF-8 bytes of a JS string; lone surrogates are encoded as U+FFFD. */
export function utf8Encode(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let cp = text.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdbff) {
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (next >= 0xdc00 && next <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else cp = 0xfffd;
    } else if (cp >= 0xdc00 && cp <= 0xdfff) cp = 0xfffd;
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
    else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
  }
  return Uint8Array.from(out);
}

/** Length of the UTF-8 sequence a lead byte announces, or 0 when it cannot start one. */
export function utf8SequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/** Valid range of the second byte given the lead (excludes overlongs and surrogates). */
function secondByteOk(lead: number, b: number): boolean {
  if (lead === 0xe0) return b >= 0xa0 && b <= 0xbf;
  if (lead === 0xed) return b >= 0x80 && b <= 0x9f;
  if (lead === 0xf0) return b >= 0x90 && b <= 0xbf;
  if (lead === 0xf4) return b >= 0x80 && b <= 0x8f;
  return b >= 0x80 && b <= 0xbf;
}

export class Utf8StreamDecoder {
  private pending: number[] = [];

  /** Add bytes; returns the text that is now complete. */
  push(bytes: ArrayLike<number>): string {
    for (let i = 0; i < bytes.length; i++) this.pending.push(bytes[i]);
    return this.drain(false);
  }

  /** End of stream: any incomplete sequence becomes U+FFFD. */
  flush(): string {
    return this.drain(true);
  }

  private drain(final: boolean): string {
    const p = this.pending;
    let text = '';
    let i = 0;
    while (i < p.length) {
      const lead = p[i];
      const len = utf8SequenceLength(lead);
      if (len === 1) {
        text += String.fromCharCode(lead);
        i++;
        continue;
      }
      if (len === 0) {
        text += '\ufffd';
        i++;
        continue;
      }
      // Walk the continuation bytes that are present; stop at the first bad one.
      let ok = 1;
      while (ok < len && i + ok < p.length) {
        const b = p[i + ok];
        const good = ok === 1 ? secondByteOk(lead, b) : b >= 0x80 && b <= 0xbf;
        if (!good) break;
        ok++;
      }
      if (ok === len) {
        let cp = lead & (len === 2 ? 0x1f : len === 3 ? 0x0f : 0x07);
        for (let k = 1; k < len; k++) cp = (cp << 6) | (p[i + k] & 63);
        text += String.fromCodePoint(cp);
        i += len;
      } else if (i + ok === p.length && !final) {
        break; // a valid prefix waiting for more bytes
      } else {
        text += '\ufffd';
        i += ok;
      }
    }
    this.pending = p.slice(i);
    return text;
  }
}

/** Decode a complete byte sequence. */
export function utf8Decode(bytes: ArrayLike<number>): string {
  const d = new Utf8StreamDecoder();
  return d.push(bytes) + d.flush();
}
