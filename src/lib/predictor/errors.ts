/**
 * Named errors of the cloud predictor client.
 *
 * Every class sets `name` to its own class name so callers switch on `err.name` (the house rule,
 * because errors may cross comlink or be stored). Messages are plain advice for the person using
 * the app. Invariant: no message, field or cause here ever holds the API key, request headers or
 * the request body; the SDK's own error objects are never kept as `cause`, since they carry the
 * response headers.
 */

export type PredictorErrorName =
  | 'InvalidApiKeyError'
  | 'ModelNotFoundError'
  | 'RateLimitError'
  | 'PredictorServerError'
  | 'PredictorRequestError'
  | 'NetworkError'
  | 'StreamDroppedError'
  | 'PredictorTimeoutError'
  | 'PredictorCancelledError'
  | 'PredictorSettingsError'
  | 'KeyNotConfirmedError'
  | 'InsecureEndpointError'
  | 'EndpointBlockedError'
  | 'AnswerTooLongError'
  | 'PredictorDeadlineError';

export class PredictorError extends Error {
  constructor(
    name: PredictorErrorName,
    message: string,
    /** HTTP status when the endpoint answered; undefined when it never did. */
    readonly status?: number,
  ) {
    super(message);
    this.name = name;
  }
}

export class InvalidApiKeyError extends PredictorError {
  constructor(host: string, status: 401 | 403 = 401) {
    super(
      'InvalidApiKeyError',
      status === 403
        ? `${host} refused the request (403): this key may not use this model or endpoint. Check the key's permissions.`
        : `${host} did not accept the API key (401). Check that the key is right and belongs to this endpoint.`,
      status,
    );
  }
}

export class ModelNotFoundError extends PredictorError {
  constructor(host: string, model: string) {
    super(
      'ModelNotFoundError',
      `${host} does not know the model "${model}" (404). Pick a model from the connection test's list, ` +
        'or check the base URL (it usually ends in /v1).',
      404,
    );
  }
}

export class RateLimitError extends PredictorError {
  constructor(
    host: string,
    readonly attempts: number,
    readonly retryAfterMs?: number,
  ) {
    super(
      'RateLimitError',
      `${host} is rate-limiting this key (429) and still was after ${attempts} attempts. ` +
        (retryAfterMs !== undefined ? `It asks to wait ${Math.ceil(retryAfterMs / 1000)} s. ` : '') +
        'Wait a little and send again, or check the plan and quota of the key.',
      429,
    );
  }
}

export class PredictorServerError extends PredictorError {
  constructor(host: string, status: number, readonly attempts: number) {
    super(
      'PredictorServerError',
      `${host} failed with a server error (${status}) after ${attempts} attempts. The problem is on the endpoint's side; try again later.`,
      status,
    );
  }
}

/** Any other 4xx: the endpoint rejected the request itself (bad parameters, context too long...). */
export class PredictorRequestError extends PredictorError {
  constructor(host: string, status: number, detail: string) {
    super('PredictorRequestError', `${host} rejected the request (${status}): ${detail}`, status);
  }
}

/**
 * The endpoint could not be reached. In a browser a CORS refusal looks exactly like this (fetch
 * gives no detail, and the SDK reports "Connection error."), so the message names both causes.
 */
export class NetworkError extends PredictorError {
  constructor(host: string, origin?: string) {
    super(
      'NetworkError',
      `Could not reach ${host}. Either the network or the server is down, or the server blocks requests ` +
        'from this page (CORS). For CORS the server must answer the browser\'s OPTIONS preflight and send ' +
        `Access-Control-Allow-Origin: ${origin ?? 'this page\'s origin'} (or *), ` +
        'Access-Control-Allow-Headers: authorization, content-type (and the other requested headers) and ' +
        'Access-Control-Allow-Methods: GET, POST, OPTIONS. For Ollama set OLLAMA_ORIGINS to this origin; ' +
        'in LM Studio turn on "Enable CORS"; for vLLM pass --allowed-origins.',
    );
  }
}

/** The stream ended before a finish reason or [DONE]: the partial answer is kept and marked. */
export class StreamDroppedError extends PredictorError {
  constructor(host: string, readonly partialText: string) {
    super(
      'StreamDroppedError',
      partialText
        ? `The connection to ${host} ended in the middle of the answer. What arrived is kept and marked as partial; send again for a full answer.`
        : `The connection to ${host} ended before any of the answer arrived. Nothing was kept; send again.`,
    );
  }
}

export class PredictorTimeoutError extends PredictorError {
  constructor(host: string, readonly timeoutMs: number) {
    super(
      'PredictorTimeoutError',
      `${host} did not answer within ${Math.round(timeoutMs / 1000)} s. The endpoint may be overloaded or the model still loading; try again.`,
    );
  }
}

/** Cancellation by the user is a normal outcome; callers show "cancelled", not a failure. */
export class PredictorCancelledError extends PredictorError {
  constructor() {
    super('PredictorCancelledError', 'The request was cancelled.');
  }
}

export class PredictorSettingsError extends PredictorError {
  constructor(detail: string) {
    super('PredictorSettingsError', detail);
  }
}

/**
 * The key in memory was entered for another origin than the current base URL's. Nothing is sent
 * (not even without the key) until the user confirms the key for this origin or enters another.
 */
export class KeyNotConfirmedError extends PredictorError {
  constructor(
    readonly keyOrigin: string,
    readonly origin: string,
  ) {
    super(
      'KeyNotConfirmedError',
      keyOrigin
        ? `The API key was entered for ${keyOrigin}, not for ${origin}. Nothing was sent. Confirm the key for ${origin} in the predictor settings, or enter the key for ${origin}.`
        : `The API key was entered before an endpoint was set. Nothing was sent. Confirm it for ${origin} in the predictor settings, or enter it again.`,
    );
  }
}

/** A plain-http endpoint on another machine, not yet accepted by the user. */
export class InsecureEndpointError extends PredictorError {
  constructor(readonly origin: string) {
    super(
      'InsecureEndpointError',
      `${origin} is plain http on another machine: the key and the compressions would cross the network unencrypted. ` +
        'Nothing was sent. Use https, or confirm that you accept this in the predictor settings.',
    );
  }
}

/** The page's Content-Security-Policy does not allow this endpoint, so the browser would refuse the request. */
export class EndpointBlockedError extends PredictorError {
  constructor(readonly origin: string) {
    super(
      'EndpointBlockedError',
      `This page's Content-Security-Policy does not allow requests to ${origin} (plain http is allowed only to this ` +
        'machine: localhost or 127.0.0.1). Nothing was sent. Use an https endpoint, or reach the server through a ' +
        'loopback address (for example an SSH tunnel).',
    );
  }
}

/** The answer passed the size cap: the stream was stopped; what arrived is kept. */
export class AnswerTooLongError extends PredictorError {
  constructor(
    host: string,
    readonly maxChars: number,
  ) {
    super(
      'AnswerTooLongError',
      `The answer from ${host} passed ${maxChars.toLocaleString('en-US')} characters, so it was stopped there. ` +
        'What arrived is kept and marked as cut. The server may ignore max_tokens; lower the answer length or ask a shorter question.',
    );
  }
}

/** The whole answer took longer than the overall deadline (the endpoint kept sending, but too slowly). */
export class PredictorDeadlineError extends PredictorError {
  constructor(
    host: string,
    readonly deadlineMs: number,
  ) {
    super(
      'PredictorDeadlineError',
      `The answer from ${host} was not finished after ${Math.round(deadlineMs / 1000)} s, the longest an answer may take, ` +
        'so it was stopped. What arrived is kept and marked as cut. Raise the time limit in the predictor settings if the model is just slow.',
    );
  }
}

/**
 * Strip anything that looks like a bearer token or key from text before it is shown or stored.
 * Server error bodies sometimes echo the key ("Incorrect API key provided: sk-...").
 */
export function redactSecrets(text: string, apiKey?: string): string {
  let out = text;
  if (apiKey && apiKey.length >= 4) out = out.split(apiKey).join('[key hidden]');
  return out
    .replace(/Bearer\s+[A-Za-z0-9._\-]+/gi, 'Bearer [key hidden]')
    .replace(/\b(sk|gsk|rk|pk|key)[-_][A-Za-z0-9._\-]{6,}/gi, '[key hidden]');
}
