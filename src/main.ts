import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { compressor } from './lib/worker/client';

const app = mount(App, { target: document.getElementById('app')! });

// End-to-end tests reach the worker's API directly with ?e2e=1 (e.g. the real-model log-prob check).
if (new URLSearchParams(location.search).has('e2e')) {
  (window as unknown as { __precisCompressor: unknown }).__precisCompressor = compressor();
}

export default app;
