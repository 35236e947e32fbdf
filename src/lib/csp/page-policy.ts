/**
 * The policy this page runs under, read from its own meta tag (the built app has one; the dev
 * server and unit tests have none). Lets the app refuse a request the browser would block,
 * with a named error, instead of sending it into a CSP refusal that looks like a network error.
 */
import { connectAllowed } from './policy';

export function pagePolicy(): string | null {
  const doc = (globalThis as { document?: Document }).document;
  const meta = doc?.querySelector?.('meta[http-equiv="Content-Security-Policy" i]');
  return meta?.getAttribute('content') ?? null;
}

/** Would this page's policy let it connect to `url`? True when the page has no policy. */
export function pageMayConnect(url: string, policy: string | null = pagePolicy()): boolean {
  if (!policy) return true;
  const origin = (globalThis as { location?: { origin?: string } }).location?.origin;
  if (!origin || origin === 'null') return true;
  return connectAllowed(policy, url, origin);
}
