import { describe, expect, it } from 'vitest';
import { serverRoot } from './server-host';

describe('serverRoot', () => {
  it('keeps the origin and any path prefix, without a trailing slash or a final /v1', () => {
    expect(serverRoot('http://127.0.0.1:8000')).toEqual({ root: 'http://127.0.0.1:8000', host: '127.0.0.1:8000' });
    expect(serverRoot('http://127.0.0.1:8000/v1/')).toEqual({ root: 'http://127.0.0.1:8000', host: '127.0.0.1:8000' });
    expect(serverRoot('https://GPU.example/sglang/v1')).toEqual({ root: 'https://gpu.example/sglang', host: 'gpu.example' });
    expect(serverRoot('http://[::1]:11434/')).toEqual({ root: 'http://[::1]:11434', host: '[::1]:11434' });
  });

  it('refuses what is not an http(s) address', () => {
    expect(() => serverRoot('ftp://h/')).toThrow(/must start with http:\/\/ or https:\/\//);
  });
});
