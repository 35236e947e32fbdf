// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { classifyWebGpu, type AdapterSnapshot } from '../../lib/webgpu/readiness';
import { WebGpuState, type WebGpuStateDeps } from '../../lib/webgpu/webgpu-state.svelte';
import type { ModelRecordLike } from '../../lib/webgpu/catalog';
import ModelCatalog from './ModelCatalog.svelte';
import WebGpuStatus from './WebGpuStatus.svelte';

const swiftshader: AdapterSnapshot = {
  vendor: 'google',
  architecture: 'swiftshader',
  device: '',
  description: '',
  isFallbackAdapter: true,
  features: ['subgroups'],
  limits: {
    maxBufferSize: 1 << 30,
    maxStorageBufferBindingSize: 1 << 30,
    maxComputeWorkgroupStorageSize: 32768,
    maxStorageBuffersPerShaderStage: 10,
    maxComputeInvocationsPerWorkgroup: 256,
  },
};

const records: ModelRecordLike[] = ['Qwen2.5-1.5B-Instruct-q4f16_1-MLC', 'Qwen2.5-1.5B-Instruct-q4f32_1-MLC', 'SmolLM2-360M-Instruct-q4f32_1-MLC'].map((id) => ({
  model: `https://huggingface.co/mlc-ai/${id}`,
  model_id: id,
  model_lib: `https://libs/${id}.wasm`,
  vram_required_MB: 1888.97,
}));

function deps(adapter: AdapterSnapshot | null, over: Partial<WebGpuStateDeps> = {}): WebGpuStateDeps {
  return {
    probe: async () =>
      classifyWebGpu({ secureContext: true, hasNavigatorGpu: true, adapter, requestError: null, hostname: '127.0.0.1', protocol: 'http:' }),
    modelList: async () => records,
    listCached: async () => [{ modelId: 'SmolLM2-360M-Instruct-q4f32_1-MLC', bytes: 230e6, complete: true }],
    deleteCached: vi.fn(async () => undefined),
    estimate: async () => ({ usageBytes: 230e6, quotaBytes: 10e9, persisted: false }),
    exactBytes: async () => null,
    ...over,
  };
}

afterEach(() => cleanup());

describe('WebGpuStatus', () => {
  it('shows an adapter without shader-f16', async () => {
    render(WebGpuStatus, { webgpu: new WebGpuState(deps(swiftshader)) });
    const el = await screen.findByTestId('webgpu-status');
    await waitFor(() => expect(el.dataset.available).toBe('true'));
    expect(el.dataset.shaderF16).toBe('false');
    expect(el.textContent).toMatch(/without shader-f16/);
  });

  it('explains a missing adapter and leaves out data-shader-f16', async () => {
    render(WebGpuStatus, { webgpu: new WebGpuState(deps(null)) });
    const el = await screen.findByTestId('webgpu-status');
    await waitFor(() => expect(el.dataset.available).toBe('false'));
    expect(el.dataset.shaderF16).toBeUndefined();
    expect(el.textContent).toMatch(/no usable GPU adapter/);
    expect(el.textContent).toMatch(/reference engine/);
  });
});

describe('ModelCatalog', () => {
  it('lists f32 variants, confirms the size before loading, and shows a load error', async () => {
    const onLoad = vi.fn(async () => {
      throw Object.assign(new Error('Could not download it: offline.'), { name: 'ModelDownloadError' });
    });
    render(ModelCatalog, { webgpu: new WebGpuState(deps(swiftshader)), onLoad });
    await waitFor(() => expect(screen.getAllByTestId('webllm-model').length).toBe(2));
    const ids = screen.getAllByTestId('webllm-model').map((li) => li.dataset.modelId);
    expect(ids).toEqual(['SmolLM2-360M-Instruct-q4f32_1-MLC', 'Qwen2.5-1.5B-Instruct-q4f32_1-MLC']);
    const qwen = screen.getAllByTestId('webllm-model')[1];
    await fireEvent.click(qwen.querySelector('button')!);
    const confirm = await screen.findByTestId('webllm-confirm');
    expect(confirm.textContent).toMatch(/about .* \(estimate\)/);
    expect(onLoad).not.toHaveBeenCalled();
    await fireEvent.click(screen.getByTestId('engine-load-confirm'));
    await waitFor(() => expect(screen.getByTestId('webllm-load-status').dataset.state).toBe('error'));
    expect(onLoad).toHaveBeenCalledWith('Qwen2.5-1.5B-Instruct-q4f32_1-MLC', expect.any(Function));
    expect(screen.getByTestId('webllm-load-error').textContent).toMatch(/ModelDownloadError: Could not download it: offline/);
  });

  it('lists cached models with sizes, deletes, and shows the storage estimate', async () => {
    const d = deps(swiftshader);
    render(ModelCatalog, { webgpu: new WebGpuState(d) });
    const item = await screen.findByTestId('webllm-cached-model');
    expect(item.textContent).toMatch(/SmolLM2-360M.*230 MB/);
    expect(screen.getByTestId('storage-estimate').textContent).toMatch(/230 MB of the 10.00 GB/);
    await fireEvent.click(screen.getByTestId('webllm-cached-delete'));
    await waitFor(() => expect(d.deleteCached).toHaveBeenCalledWith('SmolLM2-360M-Instruct-q4f32_1-MLC'));
  });
});
