/**
 * A generate-only compressor (Ollama, LM Studio, llama-server, any OpenAI-compatible chat
 * endpoint) as page state: its settings, the models the server lists, and the connection the
 * worker holds. The loaded engine becomes the scorer. The host rule is the scoring server's
 * (HostSettings): loopback without asking, any other host only once the person confirmed it by
 * name, and the worker checks it again. The API key stays in memory.
 */
import { errorMessage, errorName } from '../core/errors';
import { corsSwitch } from '../core/server-errors';
import type { ModelInfo } from '../core/engine';
import { CHAT_KINDS, type ChatServerKind } from '../../../workers/engines/chat/wire';
import type { TextCompressorInfo } from '../../../workers/contract';
import { compressor } from '../worker/client';
import { HostSettings } from './server-settings.svelte';

export type ChatCompressorState = 'idle' | 'listing' | 'connecting' | 'ready' | 'error';

export { CHAT_KINDS, type ChatServerKind };

export class ChatCompressorStore extends HostSettings {
  kind = $state<ChatServerKind>('ollama');
  model = $state('');
  concurrency = $state(CHAT_KINDS.ollama.concurrency);
  apiKey = $state('');
  /** What GET /v1/models listed last (empty until listed). */
  models = $state<string[]>([]);
  state = $state<ChatCompressorState>('idle');
  info = $state<TextCompressorInfo | null>(null);
  errorName = $state<string | null>(null);
  message = $state('');

  constructor() {
    super();
    this.baseURL = CHAT_KINDS.ollama.baseURL;
  }

  /** Connected: runs are written by this server and scored by the loaded engine. */
  get ready(): boolean {
    return this.state === 'ready' && this.info !== null;
  }

  get busy(): boolean {
    return this.state === 'listing' || this.state === 'connecting';
  }

  /** The model field may stay empty only for llama-server (it serves one model). */
  get modelMissing(): boolean {
    return this.model.trim() === '' && !CHAT_KINDS[this.kind].ignoresModelName;
  }

  setKind(kind: ChatServerKind): void {
    const previous = CHAT_KINDS[this.kind];
    this.kind = kind;
    if (this.concurrency === previous.concurrency) this.concurrency = CHAT_KINDS[kind].concurrency;
    if (this.baseURL === previous.baseURL) this.baseURL = CHAT_KINDS[kind].baseURL;
    this.models = [];
  }

  /** The server's own switch for letting this page's origin call it. */
  corsHint(origin: string): string {
    return corsSwitch(this.kind, origin);
  }

  /**
   * Why the loaded engine cannot score for this compressor, in words, or null: none loaded, or
   * the scorer is the very server the compressor is (use it as compressor and scorer directly).
   */
  scorerProblem(scorer: ModelInfo | null): string | null {
    if (!scorer) return 'Load a scorer first (Compressor engine or Inference server, above): it scores what this server writes.';
    if (scorer.serverHost && this.host && scorer.serverHost === this.host) {
      return `The scorer is the same server (${this.host}). A server that can score should write and score its own compressions: use it alone in the Inference server panel.`;
    }
    return null;
  }

  private config() {
    return {
      kind: this.kind,
      baseURL: this.baseURL.trim(),
      model: this.model.trim(),
      concurrency: this.concurrency,
      apiKey: this.apiKey || undefined,
    };
  }

  private failed(err: unknown): void {
    this.state = 'error';
    this.errorName = errorName(err);
    this.message = errorMessage(err);
  }

  /** Ask the server which models it has (sends no document text). */
  async listModels(): Promise<void> {
    if (this.urlProblem || this.busy) return;
    this.state = 'listing';
    this.errorName = null;
    try {
      const { model: _model, ...config } = this.config();
      this.models = await compressor().listChatModels(config);
      if (this.model.trim() === '' && this.models.length > 0) this.model = this.models[0];
      this.state = this.info ? 'ready' : 'idle';
      this.message = `${this.host} lists ${this.models.length} model${this.models.length === 1 ? '' : 's'}.`;
    } catch (err) {
      this.failed(err);
    }
  }

  async connect(): Promise<void> {
    if (this.urlProblem || this.busy || this.needsConfirmation || this.modelMissing) return;
    this.state = 'connecting';
    this.errorName = null;
    this.info = null;
    this.message = `Connecting to ${this.host}…`;
    try {
      this.info = await compressor().connectTextCompressor({
        config: this.config(),
        confirmedHost: this.loopback ? undefined : (this.confirmedHost ?? undefined),
      });
      this.state = 'ready';
      this.message = `${this.info.id} on ${this.info.host} writes the compressions.`;
    } catch (err) {
      this.failed(err);
    }
  }

  async disconnect(): Promise<void> {
    await compressor().disconnectTextCompressor();
    this.info = null;
    this.state = 'idle';
    this.errorName = null;
    this.message = '';
  }
}
