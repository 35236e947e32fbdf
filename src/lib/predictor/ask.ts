/**
 * One complete predictor answer for the sweep (command line and page): a streamed chat
 * completion through the same client as the Send panel (client.ts: retries, idle timeout, named
 * errors), at temperature 0. A partial answer (the stream dropped or went silent) is thrown as
 * its named error, so the sweep pauses instead of judging half an answer.
 */
import { streamAnswer } from './client';
import type { ChatMessage } from './payload';

export interface PredictorEndpoint {
  baseUrl: string;
  apiKey: string;
  model: string;
}

export async function askPredictor(endpoint: PredictorEndpoint, messages: ChatMessage[], signal?: AbortSignal): Promise<string> {
  const result = await streamAnswer({
    baseUrl: endpoint.baseUrl,
    apiKey: endpoint.apiKey,
    model: endpoint.model,
    messages,
    signal,
    temperature: 0,
    streamUsage: false,
  });
  if (result.partial) {
    if (result.error) throw result.error;
    throw new Error(`The predictor's answer ended early (${result.outcome}).`);
  }
  return result.text;
}
