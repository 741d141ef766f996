/**
 * x402 v2 for the gateway (issue 15): the HTTP side of a request paid with no account. The gateway answers a
 * request that carries neither an API key nor a payment with HTTP 402 and a `PAYMENT-REQUIRED` header (the
 * base64 JSON `PaymentRequired`: scheme `exact` on `eip155:<chainId>`, the payment token, the gateway's
 * hotkey as payee and the request's upper-bound price); the client signs an EIP-3009 authorization for it
 * and retries with `PAYMENT-SIGNATURE`; the gateway verifies and settles it through its chain stack
 * (`chain_verifyX402V1`, `chain_settleX402V1`) and answers with `PAYMENT-RESPONSE`. These helpers build and
 * parse those headers with `@x402/core`'s http utilities and schemas; they talk to nothing.
 */
import {
  decodePaymentSignatureHeader,
  encodePaymentRequiredHeader,
  encodePaymentResponseHeader,
} from '@x402/core/http';
import { parsePaymentPayload } from '@x402/core/schemas';
import type { PaymentPayload, PaymentRequired, PaymentRequirements, SettleResponse } from '@x402/core/types';
import { GatewayError, GatewayErrorCode } from './errors.js';

/** The x402 v2 header names (HTTP headers are case-insensitive; node lowercases what it receives). */
export const X402_HEADERS = {
  PAYMENT_REQUIRED: 'PAYMENT-REQUIRED',
  PAYMENT_SIGNATURE: 'PAYMENT-SIGNATURE',
  PAYMENT_RESPONSE: 'PAYMENT-RESPONSE',
} as const;

/** The protocol version these helpers speak. */
export const X402_VERSION = 2;

/** The longest `PAYMENT-SIGNATURE` accepted (characters of base64); an EIP-3009 payload is about 1.5 KiB. */
export const MAX_PAYMENT_SIGNATURE_CHARS = 16 * 1024;

/** Default `maxTimeoutSeconds`: how long the signed authorization must stay valid for the request. */
export const DEFAULT_X402_TIMEOUT_S = 300;

/** What one request costs and whom it pays; the same options build the requirements and the 402. */
export interface X402PriceOpts {
  chainId: number;
  /** The payment token and its EIP-712 domain (`chain_getPaymentsV1` `token.address` / `token.eip712`). */
  token: { address: string; eip712: { name: string; version: string } };
  /** The gateway's hotkey address (`chain_getPaymentsV1` `gateway`). */
  payTo: string;
  /** The request's upper-bound price in token units (see docs/payments.md, "x402"). */
  amount: bigint | string;
  /** The resource paid for: the request URL. */
  resource: string;
  description?: string;
  mimeType?: string;
  maxTimeoutSeconds?: number;
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const UINT = /^\d{1,78}$/;

/** The x402 v2 `exact` payment requirements for one request. */
export function paymentRequirementsFor(opts: X402PriceOpts): PaymentRequirements {
  const amount = typeof opts.amount === 'bigint' ? opts.amount.toString() : opts.amount;
  if (!UINT.test(amount) || BigInt(amount) <= 0n)
    throw new RangeError(`x402 amount must be a positive integer of token units, got ${amount}`);
  if (!ADDRESS.test(opts.token.address))
    throw new RangeError(`x402 asset is not an address: ${opts.token.address}`);
  if (!ADDRESS.test(opts.payTo)) throw new RangeError(`x402 payTo is not an address: ${opts.payTo}`);
  const maxTimeoutSeconds = opts.maxTimeoutSeconds ?? DEFAULT_X402_TIMEOUT_S;
  if (!Number.isInteger(maxTimeoutSeconds) || maxTimeoutSeconds <= 0)
    throw new RangeError(`x402 maxTimeoutSeconds must be a positive integer, got ${maxTimeoutSeconds}`);
  return {
    scheme: 'exact',
    network: `eip155:${opts.chainId}`,
    asset: opts.token.address,
    amount,
    payTo: opts.payTo,
    maxTimeoutSeconds,
    extra: { name: opts.token.eip712.name, version: opts.token.eip712.version },
  };
}

/** A 402 answer: status, headers (`PAYMENT-REQUIRED`, JSON content type, no caching) and body. */
export interface PaymentRequiredAnswer {
  status: 402;
  headers: Record<string, string>;
  /** The same `PaymentRequired` the header carries, as the JSON body. */
  body: PaymentRequired;
}

/**
 * The 402 for a request: `PaymentRequired` (x402 v2) with one `exact` option, in the `PAYMENT-REQUIRED`
 * header (base64 JSON, what `@x402/fetch` reads) and as the body. `error` says why (e.g. a refused payment's
 * reason when answering a bad `PAYMENT-SIGNATURE`).
 */
export function paymentRequiredResponse(opts: X402PriceOpts & { error?: string }): PaymentRequiredAnswer {
  const body: PaymentRequired = {
    x402Version: X402_VERSION,
    error: opts.error ?? 'Payment required',
    resource: {
      url: opts.resource,
      ...(opts.description !== undefined && { description: opts.description }),
      mimeType: opts.mimeType ?? 'application/json',
    },
    accepts: [paymentRequirementsFor(opts)],
  };
  return {
    status: 402,
    headers: {
      [X402_HEADERS.PAYMENT_REQUIRED]: encodePaymentRequiredHeader(body),
      'content-type': 'application/json',
      'cache-control': 'no-store',
    },
    body,
  };
}

const invalid = (why: string): GatewayError =>
  new GatewayError(
    GatewayErrorCode.INVALID_REQUEST,
    `Invalid ${X402_HEADERS.PAYMENT_SIGNATURE} header: ${why}`,
    {
      meta: { param: X402_HEADERS.PAYMENT_SIGNATURE },
    },
  );

/**
 * Decodes a `PAYMENT-SIGNATURE` header into an x402 v2 payment payload. Refuses (GatewayError
 * INVALID_REQUEST, `param` `PAYMENT-SIGNATURE`, the message saying why) a missing, repeated, oversized,
 * non-base64, non-JSON or schema-invalid value, and any version but 2. It checks the form only: the
 * signature, amount, payee and expiry are the facilitator's (`chain_verifyX402V1`).
 */
export function decodePaymentSignature(headerValue: string | readonly string[] | undefined): PaymentPayload {
  if (headerValue === undefined || headerValue === '') throw invalid('missing');
  if (typeof headerValue !== 'string') throw invalid('sent more than once');
  const value = headerValue.trim();
  if (value.length > MAX_PAYMENT_SIGNATURE_CHARS)
    throw invalid(`longer than ${MAX_PAYMENT_SIGNATURE_CHARS} characters (${value.length})`);
  let decoded: unknown;
  try {
    decoded = decodePaymentSignatureHeader(value);
  } catch {
    throw invalid('not base64-encoded JSON');
  }
  const parsed = parsePaymentPayload(decoded);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalid(
      `not an x402 payment payload (${issue === undefined ? 'invalid' : `${issue.path.join('.') || 'value'}: ${issue.message}`})`,
    );
  }
  const payload = parsed.data as PaymentPayload;
  if (payload.x402Version !== X402_VERSION)
    throw invalid(`x402Version ${payload.x402Version} is not supported (only ${X402_VERSION})`);
  return payload;
}

/** The settlement result the gateway reports (`chain_settleX402V1`'s result). */
export interface X402Settlement {
  success: boolean;
  errorReason?: string | undefined;
  payer?: string | undefined;
  transaction: string;
  network: string;
}

/** The `PAYMENT-RESPONSE` header value (base64 JSON `SettleResponse`) for a settlement. */
export function encodePaymentResponse(settlement: X402Settlement): string {
  const response: SettleResponse = {
    success: settlement.success,
    transaction: settlement.transaction,
    network: settlement.network as SettleResponse['network'],
    ...(settlement.payer !== undefined && { payer: settlement.payer }),
    ...(settlement.errorReason !== undefined && { errorReason: settlement.errorReason }),
  };
  return encodePaymentResponseHeader(response);
}

/**
 * The unused part of an x402 payment: what the client paid (the upper bound) less what the request cost
 * at the price block, credited back to its prepaid account (`chain_depositForV1`). Never negative: a cost
 * above the paid bound (which the bound rules out) is capped at what was paid.
 */
export function x402Unused(paid: bigint, cost: bigint): bigint {
  if (paid < 0n || cost < 0n) throw new RangeError('x402 amounts are never negative');
  return cost >= paid ? 0n : paid - cost;
}
