/**
 * Which endpoint a key belongs to. A key is entered for one origin (scheme, host and port of the
 * base URL) and is only ever sent there: after the base URL moves to another origin, the key
 * stays unused until the user confirms it for the new origin or enters another. Remembered keys
 * are kept per origin.
 *
 * `KeyRing` holds the keys of this visit (memory) and the remembered ones (persisted by the
 * caller), both by origin. Plain TypeScript, no DOM.
 */
import { normalizeBaseUrl } from './presets';

/** The origin of a base URL ("https://api.openai.com"), or '' when it is not an http(s) URL. */
export function originOf(baseUrl: string): string {
  try {
    const u = new URL(normalizeBaseUrl(baseUrl));
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : '';
  } catch {
    return '';
  }
}

/** localhost (and its subdomains), 127.0.0.0/8 and [::1]: traffic that stays on this machine. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/** A plain-http endpoint on another machine: the key and the payload would cross the network unencrypted. */
export function isPlainHttpRemote(baseUrl: string): boolean {
  try {
    const u = new URL(normalizeBaseUrl(baseUrl));
    return u.protocol === 'http:' && !isLoopbackHost(u.hostname);
  } catch {
    return false;
  }
}

export class KeyRing {
  /** Keys entered or confirmed during this visit, by origin. */
  readonly #session = new Map<string, string>();
  /** Keys the user asked to remember on this device, by origin. */
  #remembered = new Map<string, string>();

  constructor(remembered: Record<string, string> = {}) {
    for (const [origin, key] of Object.entries(remembered)) if (origin && key) this.#remembered.set(origin, key);
  }

  /** The key known for `origin` (this visit first, then remembered), or undefined. */
  keyFor(origin: string): string | undefined {
    if (!origin) return undefined;
    return this.#session.get(origin) ?? this.#remembered.get(origin);
  }

  /** Record `key` as belonging to `origin` for this visit, and remember it if asked. */
  set(origin: string, key: string, remember: boolean): void {
    if (!origin) return;
    if (!key) {
      this.#session.delete(origin);
      this.#remembered.delete(origin);
      return;
    }
    this.#session.set(origin, key);
    if (remember) this.#remembered.set(origin, key);
  }

  /** Copy every key of this visit into the remembered set (the user ticked "remember"). */
  rememberAll(): void {
    for (const [origin, key] of this.#session) this.#remembered.set(origin, key);
  }

  /** Drop every remembered key (unticked "remember"); this visit's keys stay usable. */
  forgetRemembered(): void {
    this.#remembered.clear();
  }

  /** Drop every key, of this visit and remembered. */
  clear(): void {
    this.#session.clear();
    this.#remembered.clear();
  }

  /** The remembered keys, for the settings store. */
  remembered(): Record<string, string> {
    return Object.fromEntries(this.#remembered);
  }
}
