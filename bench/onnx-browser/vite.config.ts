/** Build of the `bench:onnx` browser harness (not part of the app's build). */
import { defineConfig } from 'vite';
import { resolve } from 'node:path';
import { webllmModels } from '../../scripts/webllm-models-plugin.ts';

export default defineConfig({
  root: import.meta.dirname,
  base: './',
  logLevel: 'warn',
  plugins: [webllmModels()],
  worker: { format: 'es', plugins: () => [webllmModels()] },
  build: { target: 'es2022', outDir: resolve(process.env.PRECIS_BENCH_OUT ?? '/tmp/precis-bench-onnx'), emptyOutDir: true, chunkSizeWarningLimit: 7000 },
});
