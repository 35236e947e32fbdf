/** SHA-256 of text (UTF-8), lowercase hex: the key that detects an identical document. */
export async function sha256Hex(text: string): Promise<string> {
  const bytes = new TextEncoder().encode(text);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}

/** A cheap token estimate (about four characters per token) until a model's tokenizer counts. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
