/**
 * ONNX weight variants (dtypes) as transformers.js 4.3 names them, the file each one loads, and
 * the choice of a dtype for a device. Pure.
 *
 * File names follow transformers.js's DEFAULT_DTYPE_SUFFIX_MAPPING (src/utils/dtypes.js):
 * `onnx/model{suffix}.onnx`, e.g. q4f16 -> onnx/model_q4f16.onnx, q8 -> onnx/model_quantized.onnx.
 */
import { UnsupportedDtypeError } from './errors';

export const DTYPE_SUFFIX = {
  fp32: '',
  fp16: '_fp16',
  int8: '_int8',
  uint8: '_uint8',
  q8: '_quantized',
  q4: '_q4',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
} as const;

export type OnnxDtype = keyof typeof DTYPE_SUFFIX;
export type OnnxDevice = 'wasm' | 'webgpu' | 'cpu';

export const DTYPES = Object.keys(DTYPE_SUFFIX) as OnnxDtype[];

export function isOnnxDtype(value: string): value is OnnxDtype {
  return Object.hasOwn(DTYPE_SUFFIX, value);
}

/** `onnx/model_q4.onnx` for q4 (the single-file decoder of an onnx-community export). */
export function dtypeFile(dtype: OnnxDtype): string {
  return `onnx/model${DTYPE_SUFFIX[dtype]}.onnx`;
}

/** The dtype whose file this is (`onnx/model_q4.onnx` -> q4), or null for another file. */
export function dtypeOfFile(file: string): OnnxDtype | null {
  const m = /(?:^|\/)model((?:_[a-z0-9]+)?)\.onnx$/.exec(file);
  if (!m) return null;
  for (const d of DTYPES) if (DTYPE_SUFFIX[d] === m[1]) return d;
  return null;
}

/** Dtypes that need f16 arithmetic on the device (WebGPU's `shader-f16`). */
export function needsF16(dtype: OnnxDtype): boolean {
  return dtype === 'fp16' || dtype === 'q4f16';
}

/**
 * Preference order by device: on WebGPU with shader-f16, q4f16 (4-bit weights, f16 activations:
 * the smallest and fastest there); WebGPU without it, q4 then fp32; on the CPU (WASM or
 * onnxruntime-node), q4 (MatMulNBits kernels, a quarter of fp32's bytes), then q8, then fp32.
 * fp32 comes last among real choices everywhere but is always accepted when it is the only file.
 */
export function dtypePreference(device: OnnxDevice, shaderF16: boolean): OnnxDtype[] {
  if (device === 'webgpu') return shaderF16 ? ['q4f16', 'q4', 'fp16', 'fp32', 'q8'] : ['q4', 'fp32', 'q8'];
  return ['q4', 'q8', 'fp32', 'int8', 'uint8', 'bnb4', 'fp16', 'q4f16'];
}

/**
 * The dtype to load: the requested one (checked against the files and the device), else the
 * model's own `transformers.js_config.dtype` when its file exists, else the first preferred one
 * whose file exists. Throws UnsupportedDtypeError naming what is available.
 */
export function chooseDtype(opts: {
  requested?: string | null;
  configDtype?: string | null;
  available: OnnxDtype[];
  device: OnnxDevice;
  shaderF16: boolean;
  model: string;
}): OnnxDtype {
  const { requested, configDtype, available, device, shaderF16, model } = opts;
  const list = available.length ? available.join(', ') : 'none';
  if (requested) {
    if (!isOnnxDtype(requested)) {
      throw new UnsupportedDtypeError(requested, available, `"${requested}" is not a dtype this engine knows (${DTYPES.join(', ')}). ${model} has: ${list}.`);
    }
    if (!available.includes(requested)) {
      throw new UnsupportedDtypeError(requested, available, `${model} has no ${requested} weights (${dtypeFile(requested)}). Available: ${list}.`);
    }
    if (device === 'webgpu' && needsF16(requested) && !shaderF16) {
      throw new UnsupportedDtypeError(requested, available, `${requested} needs the GPU feature shader-f16, which this adapter lacks. Use q4 or fp32, or the wasm device.`);
    }
    return requested;
  }
  const usable = available.filter((d) => !(device === 'webgpu' && needsF16(d) && !shaderF16));
  if (configDtype && isOnnxDtype(configDtype) && usable.includes(configDtype)) return configDtype;
  for (const d of dtypePreference(device, shaderF16)) if (usable.includes(d)) return d;
  throw new UnsupportedDtypeError('', available, `${model} has no ONNX weights this device can run (found: ${list}; expected files like onnx/model_q4.onnx).`);
}
