/**
 * Named errors of the inference-server engines (vLLM, SGLang, generate-only OpenAI-compatible
 * servers). Like every error in errors.ts, each sets `name` to its class name, says what happened
 * and what to do, and never carries an API key or document text.
 */
import { PrecisError } from './errors';

/** What kind of server a URL is, for messages that name the server's own switches. */
export type ServerKind = 'vllm' | 'sglang' | 'openai-chat' | 'ollama' | 'lmstudio' | 'llama-server';

/** The server generates but does not return one log-probability per prompt token. */
export class ServerCannotScoreError extends PrecisError {
  constructor(readonly host: string, detail: string) {
    super(
      'ServerCannotScoreError',
      `This server cannot score text: use it to generate, with another scorer. (${host}: ${detail})`,
    );
  }
}

export class ServerUnreachableError extends PrecisError {
  constructor(readonly host: string, detail = '') {
    super('ServerUnreachableError', `The server at ${host} did not answer${detail ? `: ${detail}` : ''}. Check that it is running and that the address and port are right.`);
  }
}

export class ServerTimeoutError extends PrecisError {
  constructor(readonly host: string, readonly timeoutMs: number) {
    super('ServerTimeoutError', `The server at ${host} did not answer within ${Math.round(timeoutMs / 1000)} s. It may be overloaded or stuck; try again, or lower the concurrency.`);
  }
}

/** Any other HTTP failure, with the server's own message (never the request body). */
export class ServerHttpError extends PrecisError {
  constructor(readonly host: string, readonly status: number, detail: string) {
    super('ServerHttpError', `The server at ${host} answered HTTP ${status}${detail ? `: ${detail}` : ''}.`);
  }
}

export class ServerAuthError extends PrecisError {
  constructor(readonly host: string, readonly status: number, hint = 'vLLM and SGLang: --api-key') {
    super('ServerAuthError', `The server at ${host} refused the API key (HTTP ${status}). Check the key the server was started with (${hint}).`);
  }
}

/** Where each server kind's API key is set, for ServerAuthError. */
export function authHint(kind: ServerKind): string {
  switch (kind) {
    case 'llama-server':
      return 'llama-server: --api-key';
    case 'lmstudio':
      return 'LM Studio: "Require Authentication" in the server settings';
    case 'ollama':
      return 'Ollama itself has no keys: a proxy in front of it asked for one';
    case 'openai-chat':
      return 'the key the endpoint expects';
    default:
      return 'vLLM and SGLang: --api-key';
  }
}

export class ServerModelNotServedError extends PrecisError {
  constructor(readonly host: string, readonly model: string, readonly served: string[]) {
    super(
      'ServerModelNotServedError',
      `The server at ${host} does not serve a model named "${model}"` +
        (served.length ? `; it serves: ${served.slice(0, 8).join(', ')}.` : '.'),
    );
  }
}

/** Malformed JSON, a missing field, or a different number of entries than asked for. */
export class ServerResponseError extends PrecisError {
  constructor(readonly host: string, detail: string) {
    super('ServerResponseError', `The server at ${host} sent an answer this app cannot use: ${detail}`);
  }
}

/** vLLM clamps -inf log-probs to -9999; averaging those in would silently distort the estimate. */
export class ServerClampedLogprobError extends PrecisError {
  constructor(readonly host: string, readonly count: number) {
    super(
      'ServerClampedLogprobError',
      `The server at ${host} returned ${count} clamped log-probabilit${count === 1 ? 'y' : 'ies'} (-9999, its stand-in for minus infinity): ` +
        'a token had probability zero under its settings. The estimate is not computed from clamped values.',
    );
  }
}

/** How to let this page's origin call a server, in the server's own words. */
export function corsSwitch(kind: ServerKind, origin: string): string {
  switch (kind) {
    case 'vllm':
      return `start vLLM with --allowed-origins '["${origin}"]'`;
    case 'sglang':
      return 'SGLang allows every origin by default; check a proxy in front of it';
    case 'ollama':
      return `set OLLAMA_ORIGINS=${origin} in the environment of the Ollama server and restart it (it allows only localhost, 127.0.0.1 and 0.0.0.0 origins by default)`;
    case 'lmstudio':
      return 'turn on "Enable CORS" in LM Studio\'s Developer tab (server settings), or start the server with `lms server start --cors`';
    case 'llama-server':
      return 'llama-server allows every origin by itself (it has no CORS switch); a proxy in front of it must pass the CORS headers through';
    default:
      return `allow the origin ${origin} in the server's CORS settings`;
  }
}

export class ServerCorsError extends PrecisError {
  constructor(readonly host: string, kind: ServerKind, origin: string) {
    super('ServerCorsError', `The browser blocked the answer from ${host} (CORS): the server does not allow this page's origin. To fix it, ${corsSwitch(kind, origin)}.`);
  }
}

export class ServerMixedContentError extends PrecisError {
  constructor(readonly host: string) {
    super(
      'ServerMixedContentError',
      `This page is served over HTTPS and cannot call http://${host} (mixed content). ` +
        'Use the server over HTTPS, or open this app over http://localhost.',
    );
  }
}

/** Chrome asks before an HTTPS page may reach the local network; the prompt was refused or not shown. */
export class ServerLocalNetworkError extends PrecisError {
  constructor(readonly host: string) {
    super(
      'ServerLocalNetworkError',
      `The browser did not let this page reach ${host} on your local network. Chrome asks for permission ` +
        '("Look for and connect to any device on your local network"); allow it in the address bar\'s site settings and try again.',
    );
  }
}

export class ServerTemperatureError extends PrecisError {
  constructor(readonly temperature: number) {
    super(
      'ServerTemperatureError',
      `vLLM and SGLang return prompt log-probabilities of the raw logits (temperature 1), so a server cannot score at temperature ${temperature}. ` +
        'Sample at temperature 1 (or 0) to measure MI with a server scorer.',
    );
  }
}

/** A generate-only server answered without any text. */
export class ServerEmptyAnswerError extends PrecisError {
  constructor(readonly host: string, finishReason: string | null, thoughtOnly: boolean) {
    super(
      'ServerEmptyAnswerError',
      `The server at ${host} answered with no text (finish_reason ${finishReason ?? 'missing'}).` +
        (thoughtOnly
          ? ' The model wrote only its reasoning ("thinking"), which used the budget: turn thinking off for this model or raise the token budget.'
          : ' Check that the model is a chat model and that the token budget is not too small.'),
    );
  }
}

/** A compressor that receives raw document text on a host that is not this device. */
export class ServerHostNotConfirmedError extends PrecisError {
  constructor(readonly host: string) {
    super('ServerHostNotConfirmedError', `Raw documents would be sent to ${host}, which is not this device. Confirm that host first.`);
  }
}
