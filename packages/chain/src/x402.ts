/**
 * The x402 facilitator of a node (issue 15): verifies and settles x402 v2 `exact` EVM payments (EIP-3009
 * `transferWithAuthorization` signed by the payer to this node's hotkey) in process, with `@x402/core`'s
 * facilitator and `@x402/evm`'s exact scheme over this package's viem clients. No hosted facilitator: the
 * hotkey itself submits the transfer and pays its gas. Backs `chain_verifyX402V1` and `chain_settleX402V1`,
 * whose result shapes these are.
 *
 * Before the library's checks (signature, recipient, validity window, amount, on-chain simulation: nonce
 * unused, balance) it refuses, with a named reason, what the library leaves to a resource server: a payload
 * or requirements that do not parse as x402 v2, a payload whose `accepted` is not the requirements it is
 * checked against, requirements for another network, another token than `token` or another payee than the
 * hotkey, and payloads that are not EIP-3009 (Permit2 needs a proxy contract this chain does not have).
 */
import type { chain_settleX402V1, chain_verifyX402V1, ResultOf } from '@subnet/engine-api';
import { x402Facilitator } from '@x402/core/facilitator';
import { parsePaymentPayload, parsePaymentRequirements } from '@x402/core/schemas';
import type { PaymentPayload, PaymentRequirements } from '@x402/core/types';
import { eip3009ABI, toFacilitatorEvmSigner } from '@x402/evm';
import { registerExactEvmScheme } from '@x402/evm/exact/facilitator';
import {
  type Account,
  type Address,
  type Chain,
  getAddress,
  isAddress,
  type PublicClient,
  type Transport,
  type WalletClient,
} from 'viem';

export type X402VerifyResult = ResultOf<typeof chain_verifyX402V1>;
export type X402SettleResult = ResultOf<typeof chain_settleX402V1>;

/**
 * Reasons this module adds to `@x402/evm`'s (`invalid_exact_evm_*`, e.g. `…_signature`,
 * `…_recipient_mismatch`, `…_payload_authorization_valid_before`, `…_payload_authorization_value_mismatch`,
 * `…_nonce_already_used`, `…_insufficient_balance`).
 */
export const X402Reason = {
  /** The payment payload is not an x402 v2 payload (`error` names the field). */
  INVALID_PAYLOAD: 'invalid_x402_payload',
  /** The requirements are not x402 v2 payment requirements. */
  INVALID_REQUIREMENTS: 'invalid_x402_requirements',
  /** `x402Version` is not 2. */
  UNSUPPORTED_VERSION: 'invalid_x402_version',
  /** The payload's `accepted` differs from the requirements (scheme, network, asset, amount or payTo). */
  ACCEPTED_MISMATCH: 'invalid_x402_accepted_mismatch',
  /** The requirements are for another chain than `eip155:<chainId>`. */
  WRONG_NETWORK: 'invalid_x402_network',
  /** The requirements name another asset than the payment token. */
  WRONG_ASSET: 'invalid_x402_asset',
  /** The requirements pay another address than this node's hotkey. */
  WRONG_PAY_TO: 'invalid_x402_pay_to',
  /** Not an EIP-3009 authorization (Permit2 payloads are not accepted on this chain). */
  UNSUPPORTED_PAYLOAD_TYPE: 'unsupported_payload_type',
} as const;

export interface X402FacilitatorOpts {
  publicClient: PublicClient<Transport, Chain | undefined>;
  /** A wallet client that can send as `account` (the node's hotkey). */
  walletClient: WalletClient<Transport, Chain | undefined, Account | undefined>;
  /** The hotkey: the payee (`payTo`) of every payment and the sender of `transferWithAuthorization`. */
  account: Account;
  chainId: number;
  /** The payment token; when given, requirements for any other asset are refused. */
  token?: Address;
  /** Receipt wait bound of a settlement (ms). Default 60 s. */
  confirmationTimeoutMs?: number;
}

export interface X402Facilitator {
  /** `eip155:<chainId>`. */
  readonly network: `eip155:${number}`;
  /** The payee every accepted payment pays (the hotkey). */
  readonly payTo: Address;
  verify(paymentPayload: unknown, paymentRequirements: unknown): Promise<X402VerifyResult>;
  settle(paymentPayload: unknown, paymentRequirements: unknown): Promise<X402SettleResult>;
}

type Checked =
  | { ok: true; payload: PaymentPayload; requirements: PaymentRequirements; payer: string | undefined }
  | { ok: false; reason: string; payer: string | undefined };

const sameAddress = (a: string, b: string): boolean =>
  isAddress(a, { strict: false }) && isAddress(b, { strict: false }) && getAddress(a) === getAddress(b);

/** Creates the in-process facilitator of a node (see the module comment). */
export function createX402Facilitator(opts: X402FacilitatorOpts): X402Facilitator {
  const { publicClient, walletClient, account, chainId } = opts;
  const network = `eip155:${chainId}` as const;
  const payTo = getAddress(account.address);
  const signer = toFacilitatorEvmSigner(
    {
      address: payTo,
      readContract: (args) => publicClient.readContract(args as never),
      verifyTypedData: (args) => publicClient.verifyTypedData(args as never),
      writeContract: (args) =>
        walletClient.writeContract({ ...args, account, chain: walletClient.chain } as never),
      sendTransaction: (args) =>
        walletClient.sendTransaction({ ...args, account, chain: walletClient.chain } as never),
      waitForTransactionReceipt: (args) => publicClient.waitForTransactionReceipt(args),
      getCode: (args) => publicClient.getCode(args),
    },
    { confirmationTimeoutMs: opts.confirmationTimeoutMs ?? 60_000 },
  );
  const facilitator = new x402Facilitator();
  // simulateInSettle: a replayed or underfunded authorization is refused with its named reason before any
  // transaction is sent (and so costs the hotkey no gas), not by a reverted estimate.
  registerExactEvmScheme(facilitator, { signer, networks: network, simulateInSettle: true });

  const check = (rawPayload: unknown, rawRequirements: unknown): Checked => {
    const p = parsePaymentPayload(rawPayload);
    const payer = payerOf(rawPayload);
    if (!p.success) return { ok: false, reason: X402Reason.INVALID_PAYLOAD, payer };
    const r = parsePaymentRequirements(rawRequirements);
    if (!r.success) return { ok: false, reason: X402Reason.INVALID_REQUIREMENTS, payer };
    const payload = p.data as PaymentPayload;
    const requirements = r.data as PaymentRequirements;
    if (payload.x402Version !== 2) return { ok: false, reason: X402Reason.UNSUPPORTED_VERSION, payer };
    if (requirements.network !== network) return { ok: false, reason: X402Reason.WRONG_NETWORK, payer };
    if (opts.token !== undefined && !sameAddress(requirements.asset, opts.token))
      return { ok: false, reason: X402Reason.WRONG_ASSET, payer };
    if (!sameAddress(requirements.payTo, payTo)) return { ok: false, reason: X402Reason.WRONG_PAY_TO, payer };
    const a = payload.accepted;
    if (
      a.scheme !== requirements.scheme ||
      a.network !== requirements.network ||
      !sameAddress(a.asset, requirements.asset) ||
      !sameAddress(a.payTo, requirements.payTo) ||
      a.amount !== requirements.amount
    )
      return { ok: false, reason: X402Reason.ACCEPTED_MISMATCH, payer };
    if (!wellFormedEip3009(payload.payload))
      return { ok: false, reason: X402Reason.UNSUPPORTED_PAYLOAD_TYPE, payer };
    return { ok: true, payload, requirements, payer };
  };

  /**
   * `@x402/evm` names why a simulated transfer failed (nonce used, balance short) with one Multicall3 read,
   * which a chain without Multicall3 (anvil, a fresh devnet) cannot answer: then it says only
   * `…_transaction_simulation_failed`. Read the two facts directly instead.
   */
  const diagnose = async (reason: string | undefined, c: Extract<Checked, { ok: true }>): Promise<string> => {
    if (reason !== SIMULATION_FAILED) return reason ?? 'invalid';
    const auth = (
      c.payload.payload as { authorization: { from: Address; nonce: `0x${string}`; value: string } }
    ).authorization;
    const asset = getAddress(c.requirements.asset);
    try {
      const [used, balance] = await Promise.all([
        publicClient.readContract({
          address: asset,
          abi: eip3009ABI,
          functionName: 'authorizationState',
          args: [auth.from, auth.nonce],
        }),
        publicClient.readContract({
          address: asset,
          abi: eip3009ABI,
          functionName: 'balanceOf',
          args: [auth.from],
        }),
      ]);
      if (used === true) return NONCE_USED;
      if (typeof balance === 'bigint' && balance < BigInt(auth.value)) return INSUFFICIENT_BALANCE;
    } catch {
      // The token lacks one of the reads: keep the library's reason.
    }
    return reason;
  };

  return {
    network,
    payTo,
    async verify(rawPayload, rawRequirements) {
      const c = check(rawPayload, rawRequirements);
      if (!c.ok) return withPayer<X402VerifyResult>({ isValid: false, invalidReason: c.reason }, c.payer);
      const res = await facilitator.verify(c.payload, c.requirements);
      const out: X402VerifyResult = res.isValid
        ? { isValid: true }
        : { isValid: false, invalidReason: await diagnose(res.invalidReason, c) };
      return withPayer(out, res.payer ?? c.payer);
    },
    async settle(rawPayload, rawRequirements) {
      const c = check(rawPayload, rawRequirements);
      if (!c.ok)
        return withPayer<X402SettleResult>(
          { success: false, errorReason: c.reason, transaction: '', network },
          c.payer,
        );
      const res = await facilitator.settle(c.payload, c.requirements);
      const out: X402SettleResult = {
        success: res.success,
        transaction: res.transaction,
        network: res.network,
      };
      if (!res.success) out.errorReason = await diagnose(res.errorReason ?? 'settlement_failed', c);
      return withPayer(out, res.payer ?? c.payer);
    },
  };
}

function withPayer<T extends { payer?: string | undefined }>(result: T, payer: string | undefined): T {
  if (payer !== undefined) result.payer = payer;
  return result;
}

/** The authorization's `from`, when the payload carries one that is an address (for the result's `payer`). */
function payerOf(raw: unknown): string | undefined {
  const from = (raw as { payload?: { authorization?: { from?: unknown } } } | null)?.payload?.authorization
    ?.from;
  return typeof from === 'string' && isAddress(from, { strict: false }) ? getAddress(from) : undefined;
}

const SIMULATION_FAILED = 'invalid_exact_evm_transaction_simulation_failed';
const NONCE_USED = 'invalid_exact_evm_nonce_already_used';
const INSUFFICIENT_BALANCE = 'invalid_exact_evm_insufficient_balance';

const UINT = /^\d{1,78}$/;
const NONCE = /^0x[0-9a-fA-F]{64}$/;
const SIGNATURE = /^0x([0-9a-fA-F]{2})+$/;

/** The fields `@x402/evm` converts with `BigInt` / `getAddress` have the right form (else it would throw). */
function wellFormedEip3009(p: Record<string, unknown>): boolean {
  const sig = p.signature;
  const auth = p.authorization as Record<string, unknown> | undefined;
  if (auth === undefined || typeof sig !== 'string' || !SIGNATURE.test(sig) || sig.length > 2 + 2 * 4096)
    return false;
  const { from, to, value, validAfter, validBefore, nonce } = auth;
  return (
    typeof from === 'string' &&
    isAddress(from, { strict: false }) &&
    typeof to === 'string' &&
    isAddress(to, { strict: false }) &&
    [value, validAfter, validBefore].every((v) => typeof v === 'string' && UINT.test(v)) &&
    typeof nonce === 'string' &&
    NONCE.test(nonce)
  );
}
