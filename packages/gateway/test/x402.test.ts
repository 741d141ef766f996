/**
 * The gateway's x402 v2 helpers: the requirements and the 402 (decoded back with `@x402/core`'s own
 * header codec, as `@x402/fetch` reads them), PAYMENT-SIGNATURE decoding that refuses malformed and
 * oversized input by name, PAYMENT-RESPONSE encoding, and the unused part of a payment.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodePaymentRequiredHeader,
  decodePaymentResponseHeader,
  encodePaymentSignatureHeader,
} from '@x402/core/http';
import { GatewayError, GatewayErrorCode } from '../src/errors.js';
import {
  decodePaymentSignature,
  encodePaymentResponse,
  MAX_PAYMENT_SIGNATURE_CHARS,
  paymentRequiredResponse,
  paymentRequirementsFor,
  X402_HEADERS,
  x402Unused,
} from '../src/x402.js';

const TOKEN = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const PAY_TO = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const opts = {
  chainId: 31337,
  token: { address: TOKEN, eip712: { name: 'Subnet USD', version: '1' } },
  payTo: PAY_TO,
  amount: 1_234n,
  resource: 'http://127.0.0.1:8080/v1/chat/completions',
  description: 'devnet-chat, up to 64 tokens',
};

const payload = {
  x402Version: 2,
  accepted: paymentRequirementsFor(opts),
  payload: {
    signature: `0x${'ab'.repeat(65)}`,
    authorization: {
      from: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
      to: PAY_TO,
      value: '1234',
      validAfter: '0',
      validBefore: '9999999999',
      nonce: `0x${'01'.repeat(32)}`,
    },
  },
};

function refusedWith(value: string | string[] | undefined, pattern: RegExp): void {
  assert.throws(
    () => decodePaymentSignature(value),
    (err: unknown) => {
      assert.ok(err instanceof GatewayError);
      assert.equal(err.code, GatewayErrorCode.INVALID_REQUEST);
      assert.equal(err.meta?.param, 'PAYMENT-SIGNATURE');
      assert.match(err.message, pattern);
      return true;
    },
  );
}

describe('x402 helpers', () => {
  it('builds exact EVM requirements for the upper-bound price', () => {
    assert.deepEqual(paymentRequirementsFor(opts), {
      scheme: 'exact',
      network: 'eip155:31337',
      asset: TOKEN,
      amount: '1234',
      payTo: PAY_TO,
      maxTimeoutSeconds: 300,
      extra: { name: 'Subnet USD', version: '1' },
    });
    assert.equal(
      paymentRequirementsFor({ ...opts, amount: '7', maxTimeoutSeconds: 60 }).maxTimeoutSeconds,
      60,
    );
    assert.throws(() => paymentRequirementsFor({ ...opts, amount: 0n }), /positive integer/);
    assert.throws(() => paymentRequirementsFor({ ...opts, amount: '1.5' }), /positive integer/);
    assert.throws(() => paymentRequirementsFor({ ...opts, payTo: 'gateway' }), /payTo/);
    assert.throws(
      () => paymentRequirementsFor({ ...opts, token: { ...opts.token, address: '0x12' } }),
      /asset/,
    );
    assert.throws(() => paymentRequirementsFor({ ...opts, maxTimeoutSeconds: 0 }), /maxTimeoutSeconds/);
  });

  it('answers 402 with the PAYMENT-REQUIRED header x402 clients decode', () => {
    const answer = paymentRequiredResponse({ ...opts, error: 'invalid_exact_evm_signature' });
    assert.equal(answer.status, 402);
    assert.equal(answer.headers['cache-control'], 'no-store');
    const header = answer.headers[X402_HEADERS.PAYMENT_REQUIRED];
    assert.ok(header !== undefined);
    const decoded = decodePaymentRequiredHeader(header);
    assert.deepEqual(decoded, answer.body);
    assert.equal(decoded.x402Version, 2);
    assert.equal(decoded.error, 'invalid_exact_evm_signature');
    assert.deepEqual(decoded.resource, {
      url: opts.resource,
      description: opts.description,
      mimeType: 'application/json',
    });
    assert.deepEqual(decoded.accepts, [paymentRequirementsFor(opts)]);
    assert.equal(paymentRequiredResponse(opts).body.error, 'Payment required');
  });

  it('decodes a PAYMENT-SIGNATURE header', () => {
    const header = encodePaymentSignatureHeader(payload as never);
    assert.deepEqual(decodePaymentSignature(header), payload);
    assert.deepEqual(decodePaymentSignature(` ${header} `), payload);
  });

  it('refuses a missing, repeated, oversized, non-base64, non-JSON or invalid PAYMENT-SIGNATURE', () => {
    refusedWith(undefined, /missing/);
    refusedWith('', /missing/);
    const header = encodePaymentSignatureHeader(payload as never);
    refusedWith([header, header], /more than once/);
    refusedWith('A'.repeat(MAX_PAYMENT_SIGNATURE_CHARS + 4), /longer than 16384/);
    refusedWith('not base64!', /not base64-encoded JSON/);
    refusedWith(Buffer.from('{"x402Version":').toString('base64'), /not base64-encoded JSON/);
    refusedWith(Buffer.from('[]').toString('base64'), /not an x402 payment payload/);
    refusedWith(
      Buffer.from(JSON.stringify({ ...payload, accepted: { scheme: 'exact' } })).toString('base64'),
      /not an x402 payment payload \(accepted/,
    );
    refusedWith(
      Buffer.from(JSON.stringify({ ...payload, x402Version: 3 })).toString('base64'),
      /not an x402 payment payload/,
    );
  });

  it('encodes PAYMENT-RESPONSE', () => {
    const ok = { success: true, transaction: `0x${'cd'.repeat(32)}`, network: 'eip155:31337', payer: PAY_TO };
    assert.deepEqual(decodePaymentResponseHeader(encodePaymentResponse(ok)), ok);
    const failed = { success: false, transaction: '', network: 'eip155:31337', errorReason: 'x' };
    assert.deepEqual(decodePaymentResponseHeader(encodePaymentResponse(failed)), failed);
  });

  it('credits back what the bound paid for and the request did not use', () => {
    assert.equal(x402Unused(1_000n, 377n), 623n);
    assert.equal(x402Unused(1_000n, 1_000n), 0n);
    assert.equal(x402Unused(1_000n, 1_001n), 0n);
    assert.throws(() => x402Unused(-1n, 0n), RangeError);
  });
});
