/**
 * Fetch a URL into an ArrayBuffer, reporting bytes as they arrive. Used for model files served
 * by the app's own origin (reference checkpoints); web-llm downloads report through web-llm.
 */
export class ModelFetchError extends Error {
  constructor(url: string, detail: string) {
    super(`Could not download ${url}: ${detail}`);
    this.name = 'ModelDownloadError';
  }
}

export async function fetchWithProgress(
  url: string,
  onBytes: (loadedBytes: number, totalBytes: number | null) => void,
): Promise<ArrayBuffer> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (err) {
    // Offline, a model file loads only from what the service worker stored on an earlier visit.
    throw new ModelFetchError(
      url,
      `the network request failed (${(err as Error).message}). If this device is offline, the file is not stored on it for offline use: connect once to store it.`,
    );
  }
  if (!response.ok) throw new ModelFetchError(url, `the server answered ${response.status}.`);
  const header = response.headers.get('content-length');
  const totalBytes = header ? Number(header) : null;
  if (!response.body) {
    const buf = await response.arrayBuffer();
    onBytes(buf.byteLength, totalBytes);
    return buf;
  }
  const reader = response.body.getReader();
  const parts: Uint8Array[] = [];
  let loadedBytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    loadedBytes += value.byteLength;
    onBytes(loadedBytes, totalBytes);
  }
  const out = new Uint8Array(loadedBytes);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out.buffer;
}
