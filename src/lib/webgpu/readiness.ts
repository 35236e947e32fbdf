/**
 * WebGPU readiness: can this browser run a web-llm model, and if not, why and what to do.
 *
 * Runs before anything downloads (web-llm itself only finds out after fetching the config and the
 * model library). `probeWebGpu()` gathers facts from the environment; `classifyWebGpu()` is the
 * pure judgement, tested with fake navigator objects. Works on the main thread and in workers.
 * It never requests a device: only an adapter, so probing costs no GPU memory.
 */
import { WebGpuUnavailableError, type WebGpuUnavailableReason } from './errors';

export { WebGpuUnavailableError } from './errors';

/**
 * Minimums web-llm 0.2.86 asks for when it creates its device (`detectGPUDevice`): it prefers
 * 1 GiB buffers but falls back to these, and fails below them.
 */
export const WEBLLM_MIN_LIMITS = {
  maxBufferSize: 1 << 28,
  maxStorageBufferBindingSize: 1 << 27,
  maxComputeWorkgroupStorageSize: 32 << 10,
  maxStorageBuffersPerShaderStage: 10,
} as const;

/** The sizes web-llm prefers; below them large models may fail to allocate. */
export const WEBLLM_PREFERRED_BUFFER_BYTES = 1 << 30;

export type LimitName = keyof typeof WEBLLM_MIN_LIMITS;

export interface AdapterSnapshot {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  features: string[];
  limits: Record<LimitName, number> & { maxComputeInvocationsPerWorkgroup: number };
}

export interface ProbeFacts {
  secureContext: boolean;
  hasNavigatorGpu: boolean;
  adapter: AdapterSnapshot | null;
  /** Message of an exception thrown by requestAdapter, if any. */
  requestError: string | null;
  /** The page's hostname, to explain why a LAN address over http is not secure. */
  hostname: string | null;
  protocol: string | null;
}

export interface LimitProblem {
  limit: LimitName;
  requiredMin: number;
  actual: number;
}

export interface WebGpuReport {
  available: boolean;
  /** Why it is unavailable; null when available. */
  reason: WebGpuUnavailableReason | null;
  secureContext: boolean;
  hasNavigatorGpu: boolean;
  adapter: AdapterSnapshot | null;
  /** null when there is no adapter to ask. */
  shaderF16: boolean | null;
  limitProblems: LimitProblem[];
  /** Buffers smaller than web-llm's preferred 1 GiB: larger models may not fit. */
  smallBuffers: boolean;
  /** One plain-words sentence. */
  summary: string;
  /** What the person can do, most useful first. */
  advice: string[];
}

const BROWSERS =
  'WebGPU runs in Chrome or Edge 113+ on Windows, macOS and ChromeOS, Chrome 121+ on Android, ' +
  'Safari 26 on macOS/iOS, and Firefox 141+ on Windows. On Linux, Chrome needs ' +
  'chrome://flags/#enable-unsafe-webgpu (and often #enable-vulkan).';

function describeAdapter(a: AdapterSnapshot): string {
  const name = [a.vendor, a.architecture, a.device].filter((s) => s).join(' ') || 'an unnamed adapter';
  const desc = a.description ? ` (${a.description})` : '';
  return `${name}${desc}${a.isFallbackAdapter ? ', a software fallback adapter' : ''}`;
}

function mb(bytes: number): string {
  return `${Math.round(bytes / (1 << 20))} MB`;
}

function isLoopback(host: string | null): boolean {
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]' || host === '::1' || !!host?.endsWith('.localhost');
}

/** Pure judgement of the probe facts. */
export function classifyWebGpu(f: ProbeFacts): WebGpuReport {
  const base = {
    secureContext: f.secureContext,
    hasNavigatorGpu: f.hasNavigatorGpu,
    adapter: f.adapter,
    shaderF16: f.adapter ? f.adapter.features.includes('shader-f16') : null,
    limitProblems: [] as LimitProblem[],
    smallBuffers: false,
  };
  const unavailable = (reason: WebGpuUnavailableReason, summary: string, advice: string[]): WebGpuReport => ({
    ...base,
    available: false,
    reason,
    summary,
    advice: [...advice, 'Meanwhile the built-in reference engine (small CPU model) still works.'],
  });

  if (!f.secureContext) {
    const where = f.hostname ? ` (${f.protocol ?? 'http:'}//${f.hostname})` : '';
    return unavailable(
      'insecure-context',
      `WebGPU is unavailable: this page${where} is not a secure context, and browsers only offer WebGPU to secure pages.`,
      [
        'Open the app over HTTPS, or on http://localhost / http://127.0.0.1 on the same machine.',
        isLoopback(f.hostname)
          ? 'This looks like a local address, so the browser may be treating the page as insecure for another reason (an embedded frame or a policy).'
          : 'A LAN address over plain http (e.g. http://192.168.1.20:4173) is not a secure context; use HTTPS or a tunnel instead.',
      ],
    );
  }
  if (!f.hasNavigatorGpu) {
    return unavailable('no-navigator-gpu', 'WebGPU is unavailable: this browser does not offer WebGPU (navigator.gpu is missing).', [
      BROWSERS,
      'If you use a supported browser, check that WebGPU is not disabled by a flag, policy or privacy setting.',
    ]);
  }
  if (f.requestError !== null) {
    return unavailable('adapter-request-failed', `WebGPU is unavailable: asking for a GPU adapter failed (${f.requestError}).`, [
      'Update the browser and the graphics driver, then reload.',
      BROWSERS,
    ]);
  }
  if (!f.adapter) {
    return unavailable(
      'no-adapter',
      'WebGPU is unavailable: the browser offers WebGPU but found no usable GPU adapter (the GPU may be blocklisted or missing).',
      [
        'Update the graphics driver; check chrome://gpu for "WebGPU: Hardware accelerated".',
        'On Linux or in headless Chrome, start it with --enable-unsafe-webgpu (Chrome flag #enable-unsafe-webgpu).',
        BROWSERS,
      ],
    );
  }
  const limits = f.adapter.limits;
  const problems: LimitProblem[] = [];
  for (const key of Object.keys(WEBLLM_MIN_LIMITS) as LimitName[]) {
    if (limits[key] < WEBLLM_MIN_LIMITS[key]) problems.push({ limit: key, requiredMin: WEBLLM_MIN_LIMITS[key], actual: limits[key] });
  }
  base.limitProblems = problems;
  base.smallBuffers =
    limits.maxBufferSize < WEBLLM_PREFERRED_BUFFER_BYTES || limits.maxStorageBufferBindingSize < WEBLLM_PREFERRED_BUFFER_BYTES;
  if (problems.length > 0) {
    const list = problems.map((p) => `${p.limit} is ${p.actual}, web-llm needs at least ${p.requiredMin}`).join('; ');
    return unavailable('limits-too-small', `WebGPU works here, but the adapter ${describeAdapter(f.adapter)} is too limited for web-llm: ${list}.`, [
      'Try Chrome or Edge (Firefox currently reports a 16 KiB workgroup storage limit that web-llm cannot use).',
      'Update the browser and the graphics driver.',
    ]);
  }
  const f16 = base.shaderF16 === true;
  const advice: string[] = [];
  if (!f16) advice.push('This GPU has no shader-f16, so the catalog offers the f32 model variants (larger downloads, slower).');
  if (f.adapter.isFallbackAdapter) advice.push('This is a software adapter: models will run, but expect seconds per token. A real GPU is much faster.');
  if (base.smallBuffers) advice.push(`GPU buffers are limited to ${mb(Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize))}; pick a small model.`);
  return {
    ...base,
    available: true,
    reason: null,
    summary: `WebGPU is available: ${describeAdapter(f.adapter)}, ${f16 ? 'with' : 'without'} shader-f16.`,
    advice,
  };
}

/** The part of `navigator`/`self` the probe reads; tests pass fakes. */
export interface ProbeEnvironment {
  isSecureContext?: boolean;
  location?: { hostname: string; protocol: string };
  navigator?: { gpu?: { requestAdapter(options?: { powerPreference?: string }): Promise<unknown> } };
}

function readAdapter(raw: unknown): AdapterSnapshot {
  const a = raw as {
    info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
    isFallbackAdapter?: boolean;
    features?: Iterable<string>;
    limits?: Record<string, number>;
  };
  const lim = a.limits ?? {};
  const num = (k: string) => (typeof lim[k] === 'number' ? lim[k] : 0);
  return {
    vendor: a.info?.vendor ?? '',
    architecture: a.info?.architecture ?? '',
    device: a.info?.device ?? '',
    description: a.info?.description ?? '',
    // `isFallbackAdapter` moved from the adapter to adapter.info in recent Chromium.
    isFallbackAdapter: a.info?.isFallbackAdapter ?? a.isFallbackAdapter ?? false,
    features: a.features ? [...a.features].sort() : [],
    limits: {
      maxBufferSize: num('maxBufferSize'),
      maxStorageBufferBindingSize: num('maxStorageBufferBindingSize'),
      maxComputeWorkgroupStorageSize: num('maxComputeWorkgroupStorageSize'),
      maxStorageBuffersPerShaderStage: num('maxStorageBuffersPerShaderStage'),
      maxComputeInvocationsPerWorkgroup: num('maxComputeInvocationsPerWorkgroup'),
    },
  };
}

/** Gather the facts from the environment and judge them. Never throws. */
export async function probeWebGpu(env: ProbeEnvironment = globalThis as unknown as ProbeEnvironment): Promise<WebGpuReport> {
  const facts: ProbeFacts = {
    secureContext: env.isSecureContext === true,
    hasNavigatorGpu: !!env.navigator?.gpu,
    adapter: null,
    requestError: null,
    hostname: env.location?.hostname ?? null,
    protocol: env.location?.protocol ?? null,
  };
  if (facts.secureContext && env.navigator?.gpu) {
    try {
      const raw = await env.navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
      facts.adapter = raw ? readAdapter(raw) : null;
    } catch (err) {
      facts.requestError = err instanceof Error ? err.message : String(err);
    }
  }
  return classifyWebGpu(facts);
}

/** Throw the named error when the report says WebGPU cannot run web-llm. */
export function assertWebGpuUsable(report: WebGpuReport): void {
  if (!report.available) throw new WebGpuUnavailableError(report.reason ?? 'no-adapter', `${report.summary} ${report.advice[0] ?? ''}`.trim());
}
