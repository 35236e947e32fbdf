/**
 * How the server HTTP layer names a failure in a browser: the page's globals (location,
 * navigator.permissions, crossOriginIsolated, window) are stubbed as a browser page or worker
 * would have them, and `fetch` fails the way Chromium's does (a TypeError with no status).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ServerHttp } from './http';

const failing: typeof fetch = async () => {
  throw new TypeError('Failed to fetch');
};

function http(root: string, fetchImpl: typeof fetch = failing) {
  return new ServerHttp({ kind: 'ollama', root, timeoutMs: 5_000, retries: 0, fetch: fetchImpl });
}

function asPage(origin: string, extra: { crossOriginIsolated?: boolean; denied?: string } = {}) {
  const url = new URL(origin);
  vi.stubGlobal('window', {});
  vi.stubGlobal('location', { protocol: url.protocol, hostname: url.hostname, origin: url.origin });
  vi.stubGlobal('crossOriginIsolated', extra.crossOriginIsolated ?? false);
  vi.stubGlobal('navigator', {
    permissions: {
      query: async ({ name }: { name: string }) => {
        if (name === extra.denied) return { state: 'denied' };
        throw new TypeError(`'${name}' is not a valid permission name`);
      },
    },
  });
}

const nameOf = (p: Promise<unknown>) => p.then(() => 'resolved', (e: Error) => `${e.name}: ${e.message}`);

afterEach(() => vi.unstubAllGlobals());

describe('server HTTP failures, as a browser page sees them', () => {
  it('an HTTPS page refuses http:// off this device before anything is sent (mixed content)', async () => {
    asPage('https://precis.example');
    const sent: string[] = [];
    const spy: typeof fetch = async (input) => {
      sent.push(String(input));
      throw new TypeError('Failed to fetch');
    };
    expect(await nameOf(http('http://192.168.1.20:11434', spy).get('/v1/models'))).toMatch(
      /^ServerMixedContentError: This page is served over HTTPS and cannot call http:\/\/192\.168\.1\.20:11434 \(mixed content\)/,
    );
    expect(sent).toEqual([]);
  });

  it('an HTTPS page may still call http:// on loopback (browsers treat it as potentially trustworthy)', async () => {
    asPage('https://precis.example');
    expect(await nameOf(http('http://127.0.0.1:11434').get('/v1/models'))).not.toMatch(/MixedContent/);
  });

  it("Chrome's local-network permission refused is named as such", async () => {
    asPage('https://precis.example', { denied: 'local-network-access' });
    expect(await nameOf(http('https://192.168.1.20:8443').get('/v1/models'))).toMatch(/^ServerLocalNetworkError: /);
    asPage('https://precis.example', { denied: 'loopback-network' });
    expect(await nameOf(http('http://127.0.0.1:11434').get('/v1/models'))).toMatch(/^ServerLocalNetworkError: /);
  });

  it('a cross-origin-isolated page cannot tell CORS from down: both causes and the server\'s switch are named', async () => {
    asPage('http://localhost:4173', { crossOriginIsolated: true });
    const message = await nameOf(http('http://127.0.0.1:11434').get('/v1/models'));
    expect(message).toMatch(/^ServerUnreachableError: /);
    expect(message).toMatch(/down/);
    expect(message).toMatch(/OLLAMA_ORIGINS/);
  });

  it('elsewhere a no-cors probe that gets an answer means CORS refused it; no answer means down', async () => {
    asPage('http://localhost:4173');
    const corsOnly: typeof fetch = async (_input, init) => {
      if (init?.mode === 'no-cors') return new Response(null, { status: 200 });
      throw new TypeError('Failed to fetch');
    };
    expect(await nameOf(http('http://127.0.0.1:11434', corsOnly).get('/v1/models'))).toMatch(/^ServerCorsError: .*OLLAMA_ORIGINS/);
    expect(await nameOf(http('http://127.0.0.1:11434').get('/v1/models'))).toMatch(/^ServerUnreachableError: /);
  });
});
