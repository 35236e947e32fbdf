/**
 * The first screen's free generation: type a prompt, watch the continuation stream in with a
 * live tokens-per-second figure, stop it at any time. Stopping is a normal outcome.
 */
import type { Prompt, PromptStyle, SamplingSettings, StopReason, TokenEvent } from '../core/engine';
import { errorMessage, errorName } from '../core/errors';
import { compressor, proxy } from '../worker/client';

export type PlaygroundState = 'idle' | 'running' | 'done' | 'interrupted' | 'error';

export class Playground {
  prompt = $state('Once upon a time');
  settings = $state<SamplingSettings>({ temperature: 0.8, topP: 1, maxTokens: 200, seed: 42 });
  output = $state('');
  tokens = $state(0);
  tokensPerSecond = $state(0);
  state = $state<PlaygroundState>('idle');
  stopReason = $state<StopReason | null>(null);
  error = $state<string | null>(null);

  /** Story models continue raw text; instruction models get the prompt as a user turn. */
  async generate(style: PromptStyle = 'plain'): Promise<void> {
    if (this.state === 'running') return;
    this.output = '';
    this.tokens = 0;
    this.tokensPerSecond = 0;
    this.error = null;
    this.stopReason = null;
    this.state = 'running';
    let started = 0;
    // Token callbacks travel on their own message port, so one can land after the reply: the
    // reply's text is final and later token events are dropped.
    let finished = false;
    try {
      const reply = await compressor().generate(
        { prompt: this.asPrompt(style), settings: $state.snapshot(this.settings) },
        proxy((e: TokenEvent) => {
          // Time from the first token so the figure is decode speed, not prefill plus decode.
          if (finished) return;
          if (e.index === 0) started = performance.now();
          this.output += e.text;
          this.tokens = e.index + 1;
          const elapsedS = (performance.now() - started) / 1000;
          if (e.index > 0 && elapsedS > 0) this.tokensPerSecond = e.index / elapsedS;
        }),
      );
      finished = true;
      this.stopReason = reply.stopReason;
      this.output = reply.text;
      this.tokens = reply.ids.length;
      this.state = reply.stopReason === 'interrupted' ? 'interrupted' : 'done';
    } catch (err) {
      finished = true;
      this.state = 'error';
      this.error = `${errorName(err)}: ${errorMessage(err)}`;
    }
  }

  private asPrompt(style: PromptStyle): Prompt {
    return style === 'chat'
      ? { kind: 'chat', messages: [{ role: 'user', content: this.prompt }] }
      : { kind: 'plain', text: this.prompt };
  }

  async interrupt(): Promise<void> {
    await compressor().interrupt();
  }
}
