/**
 * The Content-Security-Policy of the built app, defined once. The Vite plugin
 * (`scripts/vite-csp.ts`) puts it in a `<meta http-equiv>` tag of the built index.html and sends
 * it as a header from `vite preview`; the page reads the meta tag back to tell whether a
 * predictor endpoint is reachable under it (`connectAllowed`). The README's CSP table lists the
 * same directives and reasons (a unit test keeps the two in step).
 *
 * To extend it (a new engine, a service worker, a local inference server), add a source with its
 * reason to the directive below; keep each source as narrow as the feature allows.
 *
 * Pure: no DOM, no Node.
 */

export interface CspSource {
  /** A CSP source expression or keyword, e.g. `'self'`, `https:`, `'wasm-unsafe-eval'`. */
  readonly value: string;
  /** Why the app needs it (shown in the README table). */
  readonly why: string;
}

export interface CspDirective {
  readonly name: string;
  readonly sources: readonly CspSource[];
  /** What the directive governs, in plain words. */
  readonly governs: string;
  /** Directives a `<meta>` policy ignores (frame-ancestors, sandbox, report-uri): header only. */
  readonly headerOnly?: boolean;
}

/** Loopback hosts a plain-http endpoint may use (a model server on this device). */
export const LOOPBACK_HTTP_SOURCES = ['http://localhost:*', 'http://127.0.0.1:*'] as const;

export const CSP_DIRECTIVES: readonly CspDirective[] = [
  {
    name: 'default-src',
    governs: 'every fetch kind not named below',
    sources: [{ value: "'none'", why: 'nothing is allowed unless a directive below allows it' }],
  },
  {
    name: 'script-src',
    governs: 'scripts and WebAssembly compilation',
    sources: [
      { value: "'self'", why: "the app's own bundled modules (no inline script, no eval)" },
      {
        value: "'wasm-unsafe-eval'",
        why: 'web-llm compiles its model libraries and tokenizer, and ONNX Runtime Web its WASM binary (served from this origin), with WebAssembly.instantiate (neither needs JavaScript eval)',
      },
    ],
  },
  {
    name: 'worker-src',
    governs: 'Web Workers (and service workers)',
    sources: [
      {
        value: "'self'",
        why: "the compressor worker, the pdf.js worker, the service worker (sw.js) and ONNX Runtime Web's WASM threads (module workers started from its own .mjs in the build) are files of the build; no blob: workers",
      },
    ],
  },
  {
    name: 'style-src',
    governs: 'style sheets and style attributes',
    sources: [
      {
        value: "'self'",
        why: "the built CSS files only: no <style> elements and no style attributes in markup (dynamic styles go through CSSOM, which CSP does not block)",
      },
    ],
  },
  {
    name: 'img-src',
    governs: 'images',
    sources: [{ value: "'self'", why: 'the favicon and the app icons' }],
  },
  {
    name: 'manifest-src',
    governs: 'the web app manifest',
    sources: [{ value: "'self'", why: 'an installable app reads its manifest from the same origin' }],
  },
  {
    name: 'connect-src',
    governs: 'fetch, XHR, WebSocket and EventSource',
    sources: [
      { value: "'self'", why: 'model files served at /models/ by the same host' },
      {
        value: 'https:',
        why: 'the predictor endpoint is any https origin the user types; web-llm downloads weights from huggingface.co (and its CDN) and model libraries from raw.githubusercontent.com',
      },
      ...LOOPBACK_HTTP_SOURCES.map((value) => ({
        value,
        why: 'an OpenAI-compatible server on this device (plain http never leaves the machine); other plain-http hosts are blocked',
      })),
    ],
  },
  {
    name: 'object-src',
    governs: '<object> and <embed> plugins',
    sources: [{ value: "'none'", why: 'no plugins' }],
  },
  {
    name: 'base-uri',
    governs: 'the <base> element',
    sources: [{ value: "'none'", why: 'no injected <base> can re-point relative URLs' }],
  },
  {
    name: 'form-action',
    governs: 'form submissions',
    sources: [{ value: "'none'", why: 'no form is ever submitted to a server' }],
  },
  {
    name: 'frame-ancestors',
    governs: 'who may embed the app in a frame',
    headerOnly: true,
    sources: [{ value: "'none'", why: 'no page may frame the app (clickjacking); a meta tag cannot set this, so only the header has it' }],
  },
];

/** The policy as one header or meta value. `meta` drops the directives a meta tag ignores. */
export function cspString(opts: { meta: boolean }, directives: readonly CspDirective[] = CSP_DIRECTIVES): string {
  return directives
    .filter((d) => !(opts.meta && d.headerOnly))
    .map((d) => [d.name, ...d.sources.map((s) => s.value)].join(' '))
    .join('; ');
}

/** Parse a policy string into directive name → source list (lower-cased names). */
export function parseCsp(policy: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of policy.split(';')) {
    const tokens = part.trim().split(/\s+/).filter(Boolean);
    if (tokens.length === 0) continue;
    const name = tokens[0].toLowerCase();
    if (!out.has(name)) out.set(name, tokens.slice(1));
  }
  return out;
}

/**
 * Would `connect-src` of `policy` allow a fetch to `url` from a page at `pageOrigin`? Covers the
 * source forms this project uses: `'none'`, `'self'`, `*`, schemes (`https:`), and
 * `scheme://host[:port|:*]` with an optional `*.` host wildcard. Returns true when the policy has
 * neither connect-src nor default-src.
 */
export function connectAllowed(policy: string, url: string, pageOrigin: string): boolean {
  const parsed = parseCsp(policy);
  const sources = parsed.get('connect-src') ?? parsed.get('default-src');
  if (!sources) return true;
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return false;
  }
  const page = new URL(pageOrigin);
  return sources.some((source) => sourceMatches(source, target, page));
}

function defaultPort(scheme: string): string {
  return scheme === 'https:' || scheme === 'wss:' ? '443' : scheme === 'http:' || scheme === 'ws:' ? '80' : '';
}

function sourceMatches(source: string, target: URL, page: URL): boolean {
  const s = source.toLowerCase();
  if (s === "'none'") return false;
  if (s === "'self'") return target.origin === page.origin;
  if (s === '*') return target.protocol === 'http:' || target.protocol === 'https:' || target.protocol === page.protocol;
  if (/^[a-z][a-z0-9+.-]*:$/.test(s)) {
    // A scheme source; http: also allows https: (CSP3 upgrade rule).
    return target.protocol === s || (s === 'http:' && target.protocol === 'https:');
  }
  const m = /^(?:([a-z][a-z0-9+.-]*):\/\/)?(\*\.)?([a-z0-9.-]+)(?::(\*|\d+))?(\/.*)?$/.exec(s);
  if (!m) return false;
  const [, scheme, wildcard, host, port] = m;
  if (scheme) {
    const allowed = target.protocol === `${scheme}:` || (scheme === 'http' && target.protocol === 'https:');
    if (!allowed) return false;
  } else if (target.protocol !== page.protocol && !(page.protocol === 'http:' && target.protocol === 'https:')) {
    return false;
  }
  const targetHost = target.hostname.toLowerCase();
  if (wildcard) {
    if (!targetHost.endsWith(`.${host}`)) return false;
  } else if (targetHost !== host) {
    return false;
  }
  if (port === '*') return true;
  const targetPort = target.port || defaultPort(target.protocol);
  const wantPort = port ?? defaultPort(scheme ? `${scheme}:` : target.protocol);
  return targetPort === wantPort;
}
