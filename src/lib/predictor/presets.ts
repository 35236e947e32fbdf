/**
 * Endpoint presets: any OpenAI-compatible server works; these only fill the base URL and a
 * sensible default model. Hosted URLs are the providers' documented OpenAI-compatible roots.
 * `streamUsage` says whether the server is known to accept `stream_options.include_usage`; the
 * client also retries once without it when a server rejects the field, so a wrong guess costs
 * one extra request, never a failure.
 */

export type PresetId =
  | 'openai'
  | 'openrouter'
  | 'groq'
  | 'together'
  | 'mistral'
  | 'deepseek'
  | 'ollama'
  | 'lmstudio'
  | 'vllm'
  | 'custom';

export interface PredictorPreset {
  id: PresetId;
  label: string;
  baseUrl: string;
  defaultModel: string;
  /** Runs on this machine: no key needed, no money spent, but its CORS setting matters. */
  local: boolean;
  streamUsage: boolean;
  /** One line shown under the preset: where to get a key, or how to allow this page (CORS). */
  note: string;
}

export const PRESETS: readonly PredictorPreset[] = [
  {
    id: 'openai',
    label: 'OpenAI',
    baseUrl: 'https://api.openai.com/v1',
    defaultModel: 'gpt-4o-mini',
    local: false,
    streamUsage: true,
    note: 'Keys from platform.openai.com. The API accepts requests straight from a browser.',
  },
  {
    id: 'openrouter',
    label: 'OpenRouter',
    baseUrl: 'https://openrouter.ai/api/v1',
    defaultModel: 'openai/gpt-4o-mini',
    local: false,
    streamUsage: true,
    note: 'Keys from openrouter.ai. Model ids carry the vendor, e.g. anthropic/claude-3.5-haiku.',
  },
  {
    id: 'groq',
    label: 'Groq',
    baseUrl: 'https://api.groq.com/openai/v1',
    defaultModel: 'llama-3.1-8b-instant',
    local: false,
    streamUsage: true,
    note: 'Keys from console.groq.com.',
  },
  {
    id: 'together',
    label: 'Together AI',
    baseUrl: 'https://api.together.xyz/v1',
    defaultModel: 'meta-llama/Llama-3.3-70B-Instruct-Turbo',
    local: false,
    streamUsage: true,
    note: 'Keys from api.together.xyz.',
  },
  {
    id: 'mistral',
    label: 'Mistral',
    baseUrl: 'https://api.mistral.ai/v1',
    defaultModel: 'mistral-small-latest',
    local: false,
    streamUsage: false,
    note: 'Keys from console.mistral.ai.',
  },
  {
    id: 'deepseek',
    label: 'DeepSeek',
    baseUrl: 'https://api.deepseek.com/v1',
    defaultModel: 'deepseek-chat',
    local: false,
    streamUsage: true,
    note: 'Keys from platform.deepseek.com.',
  },
  {
    id: 'ollama',
    label: 'Ollama (this machine)',
    baseUrl: 'http://localhost:11434/v1',
    defaultModel: 'llama3.2',
    local: true,
    streamUsage: true,
    note: 'No key needed (any text works). Start Ollama with OLLAMA_ORIGINS set to this page\'s origin so the browser may call it.',
  },
  {
    id: 'lmstudio',
    label: 'LM Studio (this machine)',
    baseUrl: 'http://localhost:1234/v1',
    defaultModel: '',
    local: true,
    streamUsage: true,
    note: 'No key needed. Turn on "Enable CORS" in LM Studio\'s server settings; test the connection to list its models.',
  },
  {
    id: 'vllm',
    label: 'vLLM (this machine)',
    baseUrl: 'http://localhost:8000/v1',
    defaultModel: '',
    local: true,
    streamUsage: true,
    note: 'Key only if the server was started with --api-key. Start it with --allowed-origins for this page.',
  },
  {
    id: 'custom',
    label: 'Other OpenAI-compatible endpoint',
    baseUrl: '',
    defaultModel: '',
    local: false,
    streamUsage: true,
    note: 'Any server speaking /v1/chat/completions; it must allow this page by CORS.',
  },
];

export function presetById(id: string): PredictorPreset | undefined {
  return PRESETS.find((p) => p.id === id);
}

/** The preset whose base URL matches, so a typed URL still gets the right hints. */
export function presetForBaseUrl(baseUrl: string): PredictorPreset | undefined {
  const norm = normalizeBaseUrl(baseUrl);
  return PRESETS.find((p) => p.baseUrl !== '' && normalizeBaseUrl(p.baseUrl) === norm);
}

export function normalizeBaseUrl(baseUrl: string): string {
  return baseUrl.trim().replace(/\/+$/, '');
}

/** The host the request goes to, for display ("api.openai.com", "127.0.0.1:8787"). */
export function hostOf(baseUrl: string): string {
  try {
    return new URL(normalizeBaseUrl(baseUrl)).host;
  } catch {
    return normalizeBaseUrl(baseUrl) || '(no endpoint)';
  }
}

/** localhost, 127.x and [::1]: the request does not leave this machine. */
export function isLocalHost(baseUrl: string): boolean {
  try {
    const h = new URL(normalizeBaseUrl(baseUrl)).hostname;
    return h === 'localhost' || h === '[::1]' || h === '::1' || /^127\./.test(h);
  } catch {
    return false;
  }
}
