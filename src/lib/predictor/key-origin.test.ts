import { describe, expect, it } from 'vitest';
import { KeyRing, isLoopbackHost, isPlainHttpRemote, originOf } from './key-origin';

describe('originOf', () => {
  it('gives scheme, host and port, and nothing for what is not an http(s) URL', () => {
    expect(originOf('https://api.openai.com/v1')).toBe('https://api.openai.com');
    expect(originOf('https://API.openai.com:443/v1/')).toBe('https://api.openai.com');
    expect(originOf('http://127.0.0.1:8787/v1')).toBe('http://127.0.0.1:8787');
    expect(originOf(' http://localhost:11434/v1 ')).toBe('http://localhost:11434');
    expect(originOf('https://a.example/v1')).not.toBe(originOf('https://a.example:8443/v1'));
    expect(originOf('')).toBe('');
    expect(originOf('api.openai.com/v1')).toBe('');
    expect(originOf('ftp://host/v1')).toBe('');
    expect(originOf('javascript:alert(1)')).toBe('');
  });
});

describe('loopback and plain http', () => {
  it('knows which hosts stay on this machine', () => {
    for (const h of ['localhost', 'LOCALHOST', 'api.localhost', '127.0.0.1', '127.1.2.3', '[::1]', '::1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['localhost.evil.com', '127.0.0.1.nip.io', '10.0.0.1', '192.168.1.20', 'example.com', '[::2]']) expect(isLoopbackHost(h), h).toBe(false);
  });

  it('flags plain http to another machine only', () => {
    expect(isPlainHttpRemote('http://192.168.1.20:8000/v1')).toBe(true);
    expect(isPlainHttpRemote('http://api.example.com/v1')).toBe(true);
    expect(isPlainHttpRemote('http://127.0.0.1:8787/v1')).toBe(false);
    expect(isPlainHttpRemote('http://localhost:11434/v1')).toBe(false);
    expect(isPlainHttpRemote('http://[::1]:8000/v1')).toBe(false);
    expect(isPlainHttpRemote('https://api.example.com/v1')).toBe(false);
    expect(isPlainHttpRemote('not a url')).toBe(false);
  });
});

describe('KeyRing', () => {
  it('keeps keys by origin, this visit before remembered', () => {
    const ring = new KeyRing({ 'https://a.example': 'sk-remembered-a' });
    expect(ring.keyFor('https://a.example')).toBe('sk-remembered-a');
    expect(ring.keyFor('https://b.example')).toBeUndefined();
    expect(ring.keyFor('')).toBeUndefined();
    ring.set('https://a.example', 'sk-typed-a', false);
    ring.set('https://b.example', 'sk-typed-b', false);
    expect(ring.keyFor('https://a.example')).toBe('sk-typed-a');
    expect(ring.remembered()).toEqual({ 'https://a.example': 'sk-remembered-a' });
    ring.rememberAll();
    expect(ring.remembered()).toEqual({ 'https://a.example': 'sk-typed-a', 'https://b.example': 'sk-typed-b' });
  });

  it('an empty key removes the origin; forgetting clears the remembered set or everything', () => {
    const ring = new KeyRing();
    ring.set('https://a.example', 'sk-a', true);
    ring.set('https://b.example', 'sk-b', true);
    ring.set('https://a.example', '', true);
    expect(ring.keyFor('https://a.example')).toBeUndefined();
    ring.forgetRemembered();
    expect(ring.remembered()).toEqual({});
    expect(ring.keyFor('https://b.example')).toBe('sk-b');
    ring.clear();
    expect(ring.keyFor('https://b.example')).toBeUndefined();
  });

  it('never files a key under no origin', () => {
    const ring = new KeyRing({ '': 'sk-x' });
    ring.set('', 'sk-y', true);
    expect(ring.remembered()).toEqual({});
  });
});
