/**
 * A generate-only compressor for the command lines (workers/engines/chat/): Ollama, LM Studio,
 * llama-server or any OpenAI-compatible chat endpoint writes the compressions; the engine chosen
 * with the engine flags (cli/engines.ts) only scores them. Flags:
 *   --compressor ollama|lmstudio|llama-server|openai-chat --compressor-url URL
 *   --compressor-model NAME [--compressor-concurrency K] [--compressor-no-stream]
 *   [--confirm-host HOST]
 * The compressor receives the raw contexts: a host that is not this machine (not loopback) is
 * refused with ServerHostNotConfirmedError unless --confirm-host names it. Its API key, if any,
 * comes from PRECIS_COMPRESSOR_API_KEY.
 */
import { ServerHostNotConfirmedError } from '../src/lib/core/server-errors';
import { hostOf, isLoopbackUrl } from '../src/lib/core/server-host';
import { ChatCompressor } from '../workers/engines/chat/compressor';
import { CHAT_KINDS, isChatServerKind, type ChatServerKind } from '../workers/engines/chat/wire';
import { required, UsageError } from './shared';

export const COMPRESSOR_ARGS = {
  compressor: 'string',
  'compressor-url': 'string',
  'compressor-model': 'string',
  'compressor-concurrency': 'number',
  'compressor-no-stream': 'boolean',
  'confirm-host': 'string',
} as const;

export const COMPRESSOR_USAGE = `
Generate-only compressor (optional; the engine above then only scores):
  --compressor K          ollama, lmstudio, llama-server or openai-chat (any OpenAI-compatible
                          /v1/chat/completions). It writes each compression from the chat template;
                          the scorer re-tokenises the text (MI is then the scorer's view of the text)
  --compressor-url URL    default per kind: ${Object.entries(CHAT_KINDS).map(([k, p]) => `${k} ${p.baseURL}`).join(', ')}
  --compressor-model NAME the model name (Ollama: e.g. llama3.1:8b; llama-server: may be left out)
  --compressor-concurrency K  requests in flight (default: ollama 2, lmstudio 2, llama-server 4, openai-chat 4)
  --compressor-no-stream  ask for whole answers instead of streamed ones
  --confirm-host HOST     required when the compressor is not on this machine: raw contexts go to HOST
  The compressor's API key, if any, comes from the environment variable PRECIS_COMPRESSOR_API_KEY.
  --max-tokens counts the compressor's tokens; the scorer's count of the same text may differ.
`;

type CompressorArgs = { compressor?: string; 'compressor-url'?: string; 'compressor-model'?: string; 'compressor-concurrency'?: number; 'compressor-no-stream'?: boolean; 'confirm-host'?: string };

/** The compressor the flags name, connected and checked; null without --compressor. */
export async function compressorFromArgs(args: CompressorArgs): Promise<ChatCompressor | null> {
  const kind = args.compressor;
  if (kind === undefined) {
    for (const flag of ['compressor-url', 'compressor-model', 'compressor-concurrency'] as const) {
      if (args[flag] !== undefined) throw new UsageError(`--${flag} needs --compressor.`);
    }
    return null;
  }
  if (!isChatServerKind(kind)) throw new UsageError(`--compressor must be one of ${Object.keys(CHAT_KINDS).join(', ')} (got "${kind}").`);
  const concurrency = args['compressor-concurrency'];
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1)) throw new UsageError('--compressor-concurrency needs a whole number >= 1.');
  const model = kind === 'llama-server' ? (args['compressor-model'] ?? '') : required(args['compressor-model'], 'compressor-model');
  return connectCompressor({
    kind,
    baseURL: args['compressor-url'],
    model,
    concurrency,
    stream: !args['compressor-no-stream'],
    confirmHost: args['confirm-host'],
    apiKey: process.env.PRECIS_COMPRESSOR_API_KEY || undefined,
  });
}

/**
 * Connect a generate-only compressor for a command line (mi's flags, a sweep's config): the
 * kind's default address when none is given, and a host that is not this machine refused with
 * ServerHostNotConfirmedError unless `confirmHost` names it (raw contexts go there).
 */
export async function connectCompressor(o: {
  kind: ChatServerKind;
  baseURL?: string;
  model: string;
  concurrency?: number;
  stream: boolean;
  confirmHost?: string;
  apiKey?: string;
}): Promise<ChatCompressor> {
  const baseURL = o.baseURL ?? CHAT_KINDS[o.kind].baseURL;
  const host = hostOf(baseURL);
  if (!isLoopbackUrl(baseURL) && o.confirmHost !== host) throw new ServerHostNotConfirmedError(host);
  return ChatCompressor.connect({ kind: o.kind, baseURL, model: o.model, concurrency: o.concurrency, stream: o.stream, apiKey: o.apiKey });
}
