/**
 * HTTP for the server engines: JSON POST/GET with a deadline, retries with backoff on 429 and
 * 503 (honouring Retry-After), an abort signal for interrupt(), and every failure turned into a
 * named error (server-errors.ts). In a browser, a fetch that fails without a status is told
 * apart: mixed content (an HTTPS page calling http:// off this device), Chrome's local-network
 * permission refused, a CORS refusal (the server answers a no-cors probe), or a server that is
 * down.
 */
import { InterruptedError, PrecisError } from '../../../src/lib/core/errors';
import {
  ServerAuthError,
  authHint,
  ServerCorsError,
  ServerHttpError,
  ServerLocalNetworkError,
  ServerMixedContentError,
  ServerModelNotServedError,
  ServerResponseError,
  ServerTimeoutError,
  ServerUnreachableError,
  type ServerKind,
} from '../../../src/lib/core/server-errors';
import { isLoopbackHostname, isPrivateNetworkHostname } from '../../../src/lib/core/server-host';

export interface HttpOptions {
  kind: ServerKind;
  /** Root of the server, without a trailing slash (e.g. http://127.0.0.1:8000). */
  root: string;
  apiKey?: string;
  timeoutMs: number;
  /** Retries after a 429 or 503 (default 4). */
  retries?: number;
  /** First backoff in ms, doubled each time, capped at 8 s (default 500). */
  backoffMs?: number;
  fetch?: typeof fetch;
  /** The served model name, to name it in a 404. */
  model?: string;
}

export interface HttpStats {
  requests: number;
  retries: number;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(new InterruptedError('The server request'));
    }, { once: true });
  });

/** The server's own error message from an error body (vLLM, SGLang, OpenAI shapes), trimmed. */
export function serverMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: unknown; message?: unknown; detail?: unknown };
    const e = body.error;
    const msg =
      (e && typeof e === 'object' && typeof (e as { message?: unknown }).message === 'string' && (e as { message: string }).message) ||
      (typeof e === 'string' && e) ||
      (typeof body.message === 'string' && body.message) ||
      (typeof body.detail === 'string' && body.detail) ||
      (Array.isArray(body.detail) && JSON.stringify(body.detail)) ||
      '';
    return String(msg).slice(0, 300);
  } catch {
    return text.slice(0, 200);
  }
}

export class ServerHttp {
  readonly stats: HttpStats = { requests: 0, retries: 0 };
  private readonly host: string;
  private readonly controllers = new Set<AbortController>();

  constructor(readonly options: HttpOptions) {
    this.host = new URL(options.root).host;
  }

  /** Abort every request in flight (they reject with InterruptedError). */
  abortAll(): void {
    for (const c of this.controllers) c.abort();
    this.controllers.clear();
  }

  get(path: string): Promise<unknown> {
    return this.request('GET', path, undefined);
  }

  post(path: string, body: unknown): Promise<unknown> {
    return this.request('POST', path, body);
  }

  /**
   * POST and read the answer as it streams: `read` gets the response once its status is 2xx
   * and `touch`, to call whenever bytes arrive (the deadline is then the longest silence, not
   * the whole answer). Retries, named HTTP errors and browser failure classes are as for post.
   * A connection that drops while `read` is reading is a ServerResponseError.
   */
  postStream<T>(path: string, body: unknown, read: (response: Response, touch: () => void) => Promise<T>): Promise<T> {
    return this.request('POST', path, body, read) as Promise<T>;
  }

  private async request<T>(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    read?: (response: Response, touch: () => void) => Promise<T>,
  ): Promise<unknown> {
    const { retries = 4, backoffMs = 500 } = this.options;
    const url = this.options.root + path;
    this.refuseMixedContent(url);
    for (let attempt = 0; ; attempt++) {
      const controller = new AbortController();
      this.controllers.add(controller);
      let timedOut = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const touch = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          timedOut = true;
          controller.abort();
        }, this.options.timeoutMs);
      };
      touch();
      const settle = () => {
        clearTimeout(timer);
        this.controllers.delete(controller);
      };
      let response: Response;
      try {
        this.stats.requests++;
        const headers: Record<string, string> = {};
        if (body !== undefined) headers['Content-Type'] = 'application/json';
        if (this.options.apiKey) headers.Authorization = `Bearer ${this.options.apiKey}`;
        response = await (this.options.fetch ?? fetch)(url, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: controller.signal,
        });
      } catch (err) {
        settle();
        if (timedOut) throw new ServerTimeoutError(this.host, this.options.timeoutMs);
        if (controller.signal.aborted) throw new InterruptedError('The server request');
        throw await this.classifyNetworkError(url, err);
      }
      try {
        if ((response.status === 429 || response.status === 503) && attempt < retries) {
          await response.text().catch(() => '');
          settle();
          this.stats.retries++;
          const after = Number(response.headers.get('retry-after'));
          const waitMs = Number.isFinite(after) && after > 0 ? Math.min(after * 1000, 30_000) : Math.min(backoffMs * 2 ** attempt, 8000);
          await sleep(waitMs);
          continue;
        }
        if (read && response.ok) return await read(response, touch);
        const text = await response.text();
        if (!response.ok) throw this.httpError(response.status, text);
        try {
          return JSON.parse(text) as unknown;
        } catch {
          throw new ServerResponseError(this.host, `${path} did not return JSON (${text.slice(0, 80).replace(/\s+/g, ' ')}…).`);
        }
      } catch (err) {
        if (timedOut) throw new ServerTimeoutError(this.host, this.options.timeoutMs);
        if (controller.signal.aborted) throw new InterruptedError('The server request');
        if (err instanceof PrecisError) throw err;
        throw new ServerResponseError(this.host, `the connection dropped while ${path} was answering (${err instanceof Error ? err.message : String(err)}).`);
      } finally {
        settle();
      }
    }
  }

  private httpError(status: number, text: string): Error {
    const message = serverMessage(text);
    if (status === 401 || status === 403) return new ServerAuthError(this.host, status, authHint(this.options.kind));
    if (status === 404 && this.options.model && /model/i.test(message)) {
      return new ServerModelNotServedError(this.host, this.options.model, []);
    }
    return new ServerHttpError(this.host, status, message);
  }

  private refuseMixedContent(url: string): void {
    const page = typeof location !== 'undefined' ? location : null;
    if (!page || page.protocol !== 'https:') return;
    const target = new URL(url);
    if (target.protocol === 'http:' && !isLoopbackHostname(target.hostname)) throw new ServerMixedContentError(target.host);
  }

  /** A fetch rejected without a status: name the reason as precisely as the browser lets us. */
  private async classifyNetworkError(url: string, err: unknown): Promise<Error> {
    const target = new URL(url);
    const inBrowser = typeof window !== 'undefined' || typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined';
    if (!inBrowser) {
      const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
      return new ServerUnreachableError(this.host, cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : ''));
    }
    const page = typeof location !== 'undefined' ? location : null;
    const localTarget = isLoopbackHostname(target.hostname) || isPrivateNetworkHostname(target.hostname);
    if (page && localTarget && !isLoopbackHostname(page.hostname)) {
      // Chrome's Local Network Access: a public page asks before reaching the local network.
      try {
        const perms = (navigator as { permissions?: { query(d: { name: string }): Promise<{ state: string }> } }).permissions;
        for (const name of ['local-network-access', 'loopback-network', 'local-network']) {
          const status = await perms?.query({ name }).catch(() => null);
          if (status && status.state === 'denied') return new ServerLocalNetworkError(target.host);
        }
      } catch {
        // The permission is unknown to this browser: fall through.
      }
    }
    // A no-cors probe resolves (opaque) when the server is up: the real request was refused by CORS.
    try {
      const probe = new AbortController();
      const t = setTimeout(() => probe.abort(), 3000);
      await (this.options.fetch ?? fetch)(this.options.root + '/', { mode: 'no-cors', signal: probe.signal });
      clearTimeout(t);
      return new ServerCorsError(this.host, this.options.kind, page?.origin ?? 'this page');
    } catch {
      return new ServerUnreachableError(this.host);
    }
  }
}

/** Run `tasks` with at most `limit` in flight; results keep their order. Stops at the first error. */
export async function pooled<T>(limit: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  let failed: unknown = null;
  const worker = async () => {
    while (failed === null && next < tasks.length) {
      const i = next++;
      try {
        results[i] = await tasks[i]();
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, tasks.length)) }, worker));
  if (failed !== null) throw failed;
  return results;
}
