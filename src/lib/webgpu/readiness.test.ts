import { describe, expect, it } from 'vitest';
import { assertWebGpuUsable, probeWebGpu, type ProbeEnvironment } from './readiness';

const swiftshaderLimits = {
  maxBufferSize: 1 << 30,
  maxStorageBufferBindingSize: 1 << 30,
  maxComputeWorkgroupStorageSize: 32768,
  maxStorageBuffersPerShaderStage: 10,
  maxComputeInvocationsPerWorkgroup: 256,
};

function fakeAdapter(opts: { features?: string[]; limits?: Partial<typeof swiftshaderLimits>; fallback?: boolean } = {}) {
  return {
    info: { vendor: 'google', architecture: 'swiftshader', device: '', description: '', isFallbackAdapter: opts.fallback ?? true },
    features: new Set(opts.features ?? ['subgroups', 'timestamp-query']),
    limits: { ...swiftshaderLimits, ...opts.limits },
  };
}

function env(over: Partial<ProbeEnvironment> & { adapter?: unknown; throws?: boolean } = {}): ProbeEnvironment {
  const { adapter, throws, ...rest } = over;
  return {
    isSecureContext: true,
    location: { hostname: '127.0.0.1', protocol: 'http:' },
    navigator: {
      gpu: {
        requestAdapter: async () => {
          if (throws) throw new Error('boom');
          return adapter === undefined ? fakeAdapter() : adapter;
        },
      },
    },
    ...rest,
  };
}

describe('probeWebGpu', () => {
  it('reports a software adapter without shader-f16 as available, f32 only', async () => {
    const r = await probeWebGpu(env());
    expect(r.available).toBe(true);
    expect(r.reason).toBeNull();
    expect(r.shaderF16).toBe(false);
    expect(r.adapter?.vendor).toBe('google');
    expect(r.adapter?.architecture).toBe('swiftshader');
    expect(r.adapter?.isFallbackAdapter).toBe(true);
    expect(r.summary).toContain('without shader-f16');
    expect(r.advice.join(' ')).toMatch(/f32/);
    expect(() => assertWebGpuUsable(r)).not.toThrow();
  });

  it('reports shader-f16 when the adapter has it', async () => {
    const r = await probeWebGpu(env({ adapter: fakeAdapter({ features: ['shader-f16'], fallback: false }) }));
    expect(r.available).toBe(true);
    expect(r.shaderF16).toBe(true);
    expect(r.summary).toContain('with shader-f16');
  });

  it('explains an insecure context (LAN over http) without asking for an adapter', async () => {
    let asked = false;
    const r = await probeWebGpu({
      isSecureContext: false,
      location: { hostname: '192.168.1.20', protocol: 'http:' },
      navigator: { gpu: { requestAdapter: async () => ((asked = true), fakeAdapter()) } },
    });
    expect(asked).toBe(false);
    expect(r.available).toBe(false);
    expect(r.reason).toBe('insecure-context');
    expect(r.shaderF16).toBeNull();
    expect(r.advice.join(' ')).toMatch(/LAN address/);
    expect(r.advice.join(' ')).toMatch(/HTTPS/);
  });

  it('explains a browser without navigator.gpu', async () => {
    const r = await probeWebGpu({ isSecureContext: true, navigator: {} });
    expect(r.reason).toBe('no-navigator-gpu');
    expect(r.summary).toMatch(/does not offer WebGPU/);
    expect(r.advice.join(' ')).toMatch(/Chrome/);
  });

  it('explains a null adapter (headless Chromium without --enable-unsafe-webgpu)', async () => {
    const r = await probeWebGpu(env({ adapter: null }));
    expect(r.available).toBe(false);
    expect(r.reason).toBe('no-adapter');
    expect(r.advice.join(' ')).toMatch(/enable-unsafe-webgpu/);
    expect(() => assertWebGpuUsable(r)).toThrowError(expect.objectContaining({ name: 'WebGpuUnavailableError' }));
  });

  it('catches a throwing requestAdapter', async () => {
    const r = await probeWebGpu(env({ throws: true }));
    expect(r.reason).toBe('adapter-request-failed');
    expect(r.summary).toContain('boom');
  });

  it('rejects limits below web-llm minimums (Firefox workgroup storage 16 KiB)', async () => {
    const r = await probeWebGpu(env({ adapter: fakeAdapter({ limits: { maxComputeWorkgroupStorageSize: 16384 } }) }));
    expect(r.available).toBe(false);
    expect(r.reason).toBe('limits-too-small');
    expect(r.limitProblems).toEqual([{ limit: 'maxComputeWorkgroupStorageSize', requiredMin: 32768, actual: 16384 }]);
  });

  it('flags small buffers as a warning, not a failure', async () => {
    const r = await probeWebGpu(env({ adapter: fakeAdapter({ limits: { maxBufferSize: 1 << 28, maxStorageBufferBindingSize: 1 << 27 } }) }));
    expect(r.available).toBe(true);
    expect(r.smallBuffers).toBe(true);
    expect(r.advice.join(' ')).toMatch(/128 MB/);
  });
});
