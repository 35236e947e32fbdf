/**
 * The settings of a server compressor (vLLM or SGLang over HTTP) as page state, and the privacy
 * rule that goes with it: a compressor receives raw document text, so a loopback address
 * (this device) may be used without asking, and any other host only after the person ticks a
 * confirmation that names it ("raw documents will be sent to HOST"). The confirmation belongs
 * to that host: change the address and it is asked again. The API key stays in memory.
 */
import type { PromptStyle } from '../core/engine';
import { errorMessage } from '../core/errors';
import { corsSwitch, type ServerKind } from '../core/server-errors';
import { hostOf, isLoopbackUrl, parseBaseUrl } from '../core/server-host';
import { connectAllowed } from '../csp/policy';

export type ScoringKind = 'vllm' | 'sglang';

export const KIND_DEFAULTS: Record<ScoringKind, { port: number; concurrency: number; label: string }> = {
  vllm: { port: 8000, concurrency: 8, label: 'vLLM (OpenAI-compatible server)' },
  sglang: { port: 30000, concurrency: 8, label: 'SGLang (native /generate)' },
};

/** What a server panel needs to know about this page: its protocol, origin and CSP. */
export function pageContext(): { protocol: string; origin: string; cspPolicy: string | null } {
  return {
    protocol: location.protocol,
    origin: location.origin,
    cspPolicy: document.querySelector<HTMLMetaElement>('meta[http-equiv="Content-Security-Policy"]')?.content ?? null,
  };
}

/**
 * The address of a server that receives raw document text, and the privacy rule that goes with
 * it (see the module note). Shared by the scoring-server settings and the generate-only
 * compressor (chat-compressor.svelte.ts).
 */
export class HostSettings {
  baseURL = $state('http://127.0.0.1:8000');
  /** The host the person confirmed raw documents may go to (null: none). */
  confirmedHost = $state<string | null>(null);

  /** The base URL's problem in words, or null when it parses. */
  get urlProblem(): string | null {
    try {
      parseBaseUrl(this.baseURL);
      return null;
    } catch (err) {
      return errorMessage(err);
    }
  }

  get host(): string | null {
    return this.urlProblem ? null : hostOf(this.baseURL);
  }

  get loopback(): boolean {
    return this.urlProblem === null && isLoopbackUrl(this.baseURL);
  }

  /** True when connecting needs (and lacks) the person's confirmation of the host. */
  get needsConfirmation(): boolean {
    return this.host !== null && !this.loopback && this.confirmedHost !== this.host;
  }

  /** Why this page cannot reach the URL at all (mixed content, the app's CSP), or null. */
  blockedReason(page: { protocol: string; origin: string; cspPolicy: string | null }): string | null {
    if (this.urlProblem) return null;
    const url = parseBaseUrl(this.baseURL);
    if (page.protocol === 'https:' && url.protocol === 'http:' && !this.loopback) {
      return `This page is served over HTTPS and cannot call http://${url.host} (mixed content). Serve the model over HTTPS, or open this app over http://localhost.`;
    }
    if (page.cspPolicy && !connectAllowed(page.cspPolicy, `${url.origin}/v1/models`, page.origin)) {
      return `This app's Content-Security-Policy allows plain http only on this device (localhost, 127.0.0.1): use https:// for ${url.host}, or a loopback address.`;
    }
    return null;
  }

  confirm(checked: boolean): void {
    this.confirmedHost = checked ? this.host : null;
  }
}

export class ServerSettings extends HostSettings {
  kind = $state<ScoringKind>('vllm');
  servedModel = $state('');
  promptStyle = $state<PromptStyle>('chat');
  concurrency = $state(KIND_DEFAULTS.vllm.concurrency);
  apiKey = $state('');

  /** The server's own switch for letting this page's origin call it. */
  corsHint(origin: string): string {
    return corsSwitch(this.kind as ServerKind, origin);
  }

  setKind(kind: ScoringKind): void {
    const previous = KIND_DEFAULTS[this.kind];
    this.kind = kind;
    if (this.concurrency === previous.concurrency) this.concurrency = KIND_DEFAULTS[kind].concurrency;
    // Follow the kind's usual port while the address is still a default one.
    const defaultUrl = (p: number) => `http://127.0.0.1:${p}`;
    if (this.baseURL === defaultUrl(previous.port)) this.baseURL = defaultUrl(KIND_DEFAULTS[kind].port);
  }
}
