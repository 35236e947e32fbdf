/**
 * Incremental detokenisation for streaming: the text a new id adds is the difference between
 * decoding all ids so far and the text already emitted. A trailing U+FFFD means a multi-byte
 * character is still incomplete, so it is held back until the next id completes it.
 */
export class TextStream {
  private ids: number[] = [];
  private emitted = '';

  constructor(private readonly decode: (ids: number[]) => string) {}

  push(id: number): string {
    this.ids.push(id);
    const full = this.decode(this.ids);
    if (full.endsWith('\uFFFD')) return '';
    if (!full.startsWith(this.emitted)) {
      // Decoding is not always prefix-stable (e.g. a leading-space rule); resync without repeats.
      this.emitted = full;
      return '';
    }
    const delta = full.slice(this.emitted.length);
    this.emitted = full;
    return delta;
  }
}
