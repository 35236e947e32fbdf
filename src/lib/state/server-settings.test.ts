import { describe, expect, it } from 'vitest';
import { cspString } from '../csp/policy';
import { HostSettings } from './server-settings.svelte';

const meta = cspString({ meta: true });
const page = (origin: string, cspPolicy: string | null = meta) => ({ protocol: new URL(origin).protocol, origin, cspPolicy });

function at(baseURL: string): HostSettings {
  const s = new HostSettings();
  s.baseURL = baseURL;
  return s;
}

describe('HostSettings: why a page cannot reach a server, and whose confirmation it needs', () => {
  it('an HTTPS page cannot call http:// on the LAN (mixed content), and says what to do', () => {
    const reason = at('http://192.168.1.20:11434').blockedReason(page('https://precis.example'));
    expect(reason).toMatch(/served over HTTPS and cannot call http:\/\/192\.168\.1\.20:11434 \(mixed content\)/);
    expect(reason).toMatch(/Serve the model over HTTPS, or open this app over http:\/\/localhost/);
  });

  it('loopback over http is fine from an HTTPS page, and needs no confirmation', () => {
    const s = at('http://127.0.0.1:11434');
    expect(s.blockedReason(page('https://precis.example'))).toBeNull();
    expect(s.loopback).toBe(true);
    expect(s.needsConfirmation).toBe(false);
  });

  it("the app's own policy allows plain http only on this device", () => {
    expect(at('http://gpu-box.lan:8000').blockedReason(page('http://localhost:4173'))).toMatch(/Content-Security-Policy allows plain http only on this device/);
    expect(at('https://gpu-box.example:8000').blockedReason(page('http://localhost:4173'))).toBeNull();
    // Without a policy (the dev server) only mixed content can block.
    expect(at('http://gpu-box.lan:8000').blockedReason(page('http://localhost:5173', null))).toBeNull();
  });

  it('a host that is not this device needs that very host confirmed; changing the URL asks again', () => {
    const s = at('https://gpu-box.example:8000');
    expect(s.needsConfirmation).toBe(true);
    s.confirm(true);
    expect(s.confirmedHost).toBe('gpu-box.example:8000');
    expect(s.needsConfirmation).toBe(false);
    s.baseURL = 'https://other.example:8000';
    expect(s.needsConfirmation).toBe(true);
  });

  it('a URL that does not parse is a problem in words, not a block', () => {
    const s = at('not a url');
    expect(s.urlProblem).toBeTruthy();
    expect(s.blockedReason(page('https://precis.example'))).toBeNull();
  });
});
