/**
 * The seams inside the gateway: the OpenAI-compatible HTTP front (`openai/`) talks to a {@link Router}
 * (which miner serves a request, with failover), a {@link KeyAuthority} (who is calling) and a
 * {@link Limiter} (whether they may), and reports usage to a {@link UsageSink}. The stack wires the real
 * ones; tests can wire any.
 */
import type { AppGenerateEventSchema, app_embedV1, app_generateV1 } from '@subnet/engine-api';
import type { z } from 'zod';

/** One generation in the synapse/app shape (`app_generateV1` params). */
export type GenerateParams = z.input<typeof app_generateV1.params>;
/** Its events: tokens, then one done with finish reason and usage (counted by the model's tokenizer). */
export type GenerateEvent = z.output<typeof AppGenerateEventSchema>;
/** An embedding request (`app_embedV1` params) and its result. */
export type EmbedParams = z.input<typeof app_embedV1.params>;
export type EmbedResult = z.output<typeof app_embedV1.result>;

export interface RouteContext {
  /** Aborts when the client goes away or the deadline passes. */
  signal: AbortSignal;
  /** The gateway's id of this request (appears in logs and outcomes). */
  requestId: string;
  /**
   * Told the hotkey of each miner whose attempt delivered the first event (the last call names the miner
   * that served the request): metering pays that miner for it.
   */
  served?: (hotkey: string) => void;
}

/** Chooses miners and relays requests to them. Throws GatewayError (MODEL_NOT_FOUND, NO_MINER, …). */
export interface Router {
  /**
   * A generation's events from one miner. Miners that fail before the first event are replaced by others
   * (up to `gateway.maxAttempts`); a failure after it ends the iteration with UPSTREAM_FAILED.
   */
  generate(params: GenerateParams, ctx: RouteContext): AsyncIterable<GenerateEvent>;
  /**
   * A whole generation's events, for a client that did not ask to stream: since nothing reaches the client
   * before the end, a miner that fails at any point is replaced by another (up to `gateway.maxAttempts`).
   */
  complete(params: GenerateParams, ctx: RouteContext): Promise<GenerateEvent[]>;
  embed(params: EmbedParams, ctx: RouteContext): Promise<EmbedResult>;
  /** The models some connected miner serves now, with their owners' counts. */
  models(opts?: { signal?: AbortSignal }): Promise<{ id: string; miners: number }[]>;
}

/** A key as the front door needs it. */
export interface KeyRecord {
  id: string;
  name: string;
  requestsPerMinute: number;
  tokensPerMinute: number;
  /**
   * Set on a key bound to a client's spending authorization (`POST /v1/payments/keys`): its requests are
   * metered and charged (`payments/`). Admin-made keys have none and are free.
   */
  account?: { client: string; digest: string };
}

export interface KeyAuthority {
  /** The live (not revoked) key whose secret this is, or undefined. Must be fast: called per request. */
  authenticate(secret: string): KeyRecord | undefined;
}

export type LimitDecision = { ok: true } | { ok: false; retryAfterS: number; reason: 'requests' | 'tokens' };

export interface Limiter {
  /** Takes one request (and `tokens` estimated tokens) from the key's buckets, or says when to retry. */
  admit(key: KeyRecord, tokens: number): LimitDecision;
  /** Settles a request's real token count against its estimate (the difference is taken or given back). */
  settle(key: KeyRecord, estimated: number, actual: number): void;
}

export interface UsageSink {
  /** Records one finished request of a key (successful or not) for accounting. */
  record(keyId: string, usage: { promptTokens: number; completionTokens: number; ok: boolean }): void;
  /** Records a request refused by the limiter. */
  rejected(keyId: string): void;
}
