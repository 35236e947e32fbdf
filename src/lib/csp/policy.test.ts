import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CSP_DIRECTIVES, connectAllowed, cspString, parseCsp } from './policy';

const page = 'http://127.0.0.1:4173';

describe('the Content-Security-Policy', () => {
  it('has the directives the brief asks for', () => {
    const p = parseCsp(cspString({ meta: false }));
    expect(p.get('object-src')).toEqual(["'none'"]);
    expect(p.get('base-uri')).toEqual(["'none'"]);
    expect(p.get('default-src')).toEqual(["'none'"]);
    expect(p.get('script-src')).toEqual(["'self'", "'wasm-unsafe-eval'"]);
    expect(p.get('style-src')).toEqual(["'self'"]);
    expect(p.get('worker-src')).toEqual(["'self'"]);
    expect(p.get('frame-ancestors')).toEqual(["'none'"]);
    for (const sources of p.values()) {
      expect(sources).not.toContain("'unsafe-inline'");
      expect(sources).not.toContain("'unsafe-eval'");
      expect(sources).not.toContain('blob:');
      expect(sources).not.toContain('data:');
    }
  });

  it('leaves header-only directives out of the meta tag', () => {
    expect(cspString({ meta: true })).not.toContain('frame-ancestors');
    expect(cspString({ meta: false })).toContain("frame-ancestors 'none'");
  });

  it('allows https endpoints, loopback http and the own origin; refuses other plain http', () => {
    const meta = cspString({ meta: true });
    expect(connectAllowed(meta, 'https://api.openai.com/v1/chat/completions', page)).toBe(true);
    expect(connectAllowed(meta, 'http://127.0.0.1:8787/v1/models', page)).toBe(true);
    expect(connectAllowed(meta, 'http://localhost:11434/v1/models', page)).toBe(true);
    expect(connectAllowed(meta, `${page}/models/stories260K/tok512.bin`, page)).toBe(true);
    expect(connectAllowed(meta, 'http://192.168.1.20:8000/v1/models', page)).toBe(false);
    expect(connectAllowed(meta, 'http://example.com/v1', page)).toBe(false);
    expect(connectAllowed(meta, 'ws://127.0.0.1:1/', page)).toBe(false);
    expect(connectAllowed(meta, 'not a url', page)).toBe(false);
  });

  it('matches the source forms it claims to', () => {
    const p = "connect-src 'self' http://*.lan:8000 https://api.example.com";
    expect(connectAllowed(p, 'http://box.lan:8000/v1', page)).toBe(true);
    expect(connectAllowed(p, 'http://box.lan:8001/v1', page)).toBe(false);
    expect(connectAllowed(p, 'https://box.lan:8000/v1', page)).toBe(true); // http source allows the https upgrade
    expect(connectAllowed(p, 'https://api.example.com/v1', page)).toBe(true);
    expect(connectAllowed(p, 'https://api.example.com:8443/v1', page)).toBe(false);
    expect(connectAllowed("default-src 'none'", 'https://a.b/', page)).toBe(false);
    expect(connectAllowed('script-src *', 'http://a.b/', page)).toBe(true);
  });

  it('is documented source by source in the README table', () => {
    const readme = readFileSync(resolve(import.meta.dirname, '../../../README.md'), 'utf8');
    for (const d of CSP_DIRECTIVES) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${d.name}\``));
      expect(row, `README row for ${d.name}`).toBeDefined();
      for (const s of d.sources) expect(row, `${d.name} ${s.value}`).toContain(`\`${s.value}\``);
    }
  });
});
