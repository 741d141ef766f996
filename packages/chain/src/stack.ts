/**
 * The chain stack: serves `chain_*` over the Engine API. Reads go straight to the chain; writes (service
 * info, weights) are signed with this node's hotkey, unlocked from its wallet at start (read-only when
 * no password is configured). The salt and vector of a weight commit are written durably to
 * `<dataDir>/weights/` before the commit is sent (`weightsStore.ts`), so a node killed at any point after the
 * send still reveals; the reveal opens the record of the commit the chain holds. Epoch inputs are served only
 * once the epoch's last block is `chain.confirmations` deep, and cached by that block's hash
 * (`epochInputsCache.ts`), so a reorg that replaces it is read again, never answered from the cache.
 */
import { join } from 'node:path';
import type { Config } from '@subnet/config';
import {
  chainErrors,
  chainMethods,
  chainPaymentMethods,
  defineApi,
  defineStack,
  EngineError,
  type Handlers,
  paymentErrors,
} from '@subnet/engine-api';
import { fromPush } from '@subnet/utils';
import { DEFAULT_PASSWORD_ENV, unlockNodeHotkey } from '@subnet/wallet';
import type { Address, Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { defaultConfirmations, EpochInputsCache } from './epochInputsCache.js';
import { ChainError, ChainErrorCode } from './errors.js';
import {
  epochInputsToJson,
  epochResultsToJson,
  epochToJson,
  metagraphToJson,
  neuronToJson,
  subnetToJson,
} from './json.js';
import { watchMetagraph } from './metagraph.js';
import { loadNetwork } from './network.js';
import {
  AuthorizationError,
  checkAuthorization,
  claimMinerEarnings,
  depositFor,
  getMinerEarnings,
  getPaymentAccount,
  getPaymentTerms,
  paymentContracts,
  settlePayments,
  signReceiptKey,
  signUsageReceipt,
} from './payments.js';
import { createSubnetClient, type SubnetClient } from './subnetClient.js';
import { loadCommitRecord, pruneCommitRecords, saveCommitRecord } from './weightsStore.js';
import { createX402Facilitator, type X402Facilitator } from './x402.js';

/** The chain stack's methods: chain.ts's and the payment methods of chainPayments.ts (x402 included). */
export const chainApi = defineApi([...chainMethods, ...chainPaymentMethods]);

/** What the chain stack reads from the node config. */
export interface ChainStackOpts {
  dataDir: string;
  chain: Config['chain'];
}

/** Maps a chain failure to the Engine API's chain error codes. */
function engineError(err: unknown): EngineError {
  if (err instanceof EngineError) return err;
  if (err instanceof AuthorizationError) {
    return EngineError.of(paymentErrors.INVALID_AUTHORIZATION, err.message, { reason: err.reason });
  }
  if (!(err instanceof ChainError)) return EngineError.std('INTERNAL_ERROR', (err as Error).message);
  switch (err.code) {
    case ChainErrorCode.REVERTED:
      return EngineError.of(chainErrors.REVERTED, err.message, {
        errorName: err.errorName,
        args: (err.meta?.errorArgs ?? []).map(String),
      });
    case ChainErrorCode.RPC_TIMEOUT:
    case ChainErrorCode.RPC_UNREACHABLE:
      return EngineError.of(chainErrors.RPC_UNREACHABLE, err.message);
    case ChainErrorCode.NOT_FOUND:
      return EngineError.of(chainErrors.NOT_FOUND, err.message);
    case ChainErrorCode.NO_ACCOUNT:
      return EngineError.of(chainErrors.NO_ACCOUNT, err.message);
    case ChainErrorCode.NO_COMMIT:
      return EngineError.of(chainErrors.NO_COMMIT, err.message);
    case ChainErrorCode.EPOCH_NOT_ENDED:
      return EngineError.of(chainErrors.EPOCH_NOT_ENDED, err.message);
    case ChainErrorCode.EPOCH_NOT_CONFIRMED:
      return EngineError.of(chainErrors.EPOCH_NOT_CONFIRMED, err.message, {
        endBlock: Number(err.meta?.endBlock ?? 0n),
        depth: Number(err.meta?.depth ?? 0n),
        confirmations: err.meta?.confirmations ?? 0,
      });
    case ChainErrorCode.INVALID_INPUT:
      return EngineError.std('INVALID_PARAMS', err.message);
    case ChainErrorCode.PAYMENTS_NOT_DEPLOYED:
      return EngineError.of(paymentErrors.PAYMENTS_NOT_DEPLOYED, err.message);
    default:
      return EngineError.std('INTERNAL_ERROR', err.message);
  }
}

/** Runs `work`, turning chain failures into Engine API errors. */
async function guard<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw engineError(err);
  }
}

/** The chain stack's handlers over an SDK (exported for tests). */
export function chainHandlers(
  opts: ChainStackOpts,
  sdk: SubnetClient,
  signer: SubnetClient | undefined,
): Handlers<typeof chainApi> {
  const needSigner = (): SubnetClient => {
    if (signer === undefined) {
      throw new ChainError(
        ChainErrorCode.NO_ACCOUNT,
        `no unlocked hotkey: set chain.passwordFile or ${DEFAULT_PASSWORD_ENV} for wallet ${opts.chain.wallet}`,
      );
    }
    return signer;
  };
  const weightsDir = join(opts.dataDir, 'weights');
  const confirmations = opts.chain.confirmations ?? defaultConfirmations(sdk.chain.chain.id);
  const epochInputs = new EpochInputsCache();

  return {
    chain_getStatusV1: () =>
      guard(async () => ({
        chainId: sdk.chain.chain.id,
        blockNumber: Number(await sdk.getCurrentBlock()),
        rpcUrl: sdk.chain.rpcUrl,
        contracts: { ...sdk.chain.contracts },
        hotkey: signer?.address ?? null,
      })),
    chain_listSubnetsV1: () => guard(async () => ({ subnets: (await sdk.getSubnets()).map(subnetToJson) })),
    chain_getSubnetV1: ({ netuid }) => guard(async () => subnetToJson(await sdk.getSubnetInfo(netuid))),
    chain_getMetagraphV1: ({ netuid }) =>
      guard(async () => {
        await sdk.getSubnetInfo(netuid); // NOT_FOUND for an unknown subnet
        return metagraphToJson(await sdk.getMetagraph(netuid));
      }),
    chain_getNeuronV1: ({ netuid, uid, hotkey }) =>
      guard(async () => neuronToJson(await sdk.getNeuronInfo(netuid, uid ?? (hotkey as Address)))),
    chain_updateServiceInfoV1: ({ netuid, peerId, multiaddrs, metadata }) =>
      guard(async () => {
        const s = needSigner();
        const me = await sdk.getNeuronInfo(netuid, s.address as Address);
        const { hash } = await s.updateServiceInfo({ netuid, uid: me.uid, peerId, multiaddrs, metadata });
        return { txHash: hash };
      }),
    chain_commitWeightsV1: ({ netuid, uids, weights }) =>
      guard(async () => {
        const s = needSigner();
        const hotkey = s.address as Address;
        try {
          const c = await s.commitWeights({
            netuid,
            uids,
            weights,
            beforeSend: (prepared) => saveCommitRecord(weightsDir, hotkey, prepared),
          });
          // The chain now holds this commit: every other record of this hotkey is stale.
          await pruneCommitRecords(weightsDir, netuid, hotkey, new Set([c.commitHash]));
          return { txHash: c.hash, epoch: Number(c.epoch), commitHash: c.commitHash };
        } catch (err) {
          // Refused at simulation (nothing sent): drop the record unless the chain holds its hash.
          if (err instanceof ChainError && err.code === ChainErrorCode.REVERTED) {
            const pending = await s.getPendingWeightsCommit(netuid, hotkey).catch(() => undefined);
            if (pending !== undefined) {
              await pruneCommitRecords(
                weightsDir,
                netuid,
                hotkey,
                new Set(pending === null ? [] : [pending.commitHash]),
              );
            }
          }
          throw err;
        }
      }),
    chain_revealWeightsV1: ({ netuid }) =>
      guard(async () => {
        const s = needSigner();
        const hotkey = s.address as Address;
        const pending = await s.getPendingWeightsCommit(netuid, hotkey);
        if (pending === null) {
          throw new ChainError(
            ChainErrorCode.NO_COMMIT,
            `no pending weight commit in subnet ${netuid}; commit first`,
          );
        }
        const c = await loadCommitRecord(weightsDir, netuid, hotkey, pending.commitHash);
        if (c === undefined) {
          throw new ChainError(
            ChainErrorCode.NO_COMMIT,
            `the pending commit ${pending.commitHash} of subnet ${netuid} has no salt saved under ${weightsDir}; commit again`,
          );
        }
        const { hash } = await s.revealWeights({ netuid, uids: c.uids, weights: c.weights, salt: c.salt });
        await pruneCommitRecords(weightsDir, netuid, hotkey, new Set());
        return { txHash: hash, epoch: Number(c.epoch) };
      }),
    chain_getEpochInputsV1: ({ netuid, epoch }) =>
      guard(async () =>
        epochInputsToJson(await sdk.getEpochInputs(netuid, epoch, { confirmations, cache: epochInputs })),
      ),
    chain_getEpochV1: ({ netuid, epoch }) =>
      guard(async () => epochToJson(await sdk.getEpoch(netuid, epoch))),
    chain_getEpochResultsV1: ({ netuid, epoch }) =>
      guard(async () => {
        const r = await sdk.getEpochResults(netuid, epoch);
        if (r === undefined) {
          throw new ChainError(ChainErrorCode.NOT_FOUND, `subnet ${netuid} has no finalised epoch yet`);
        }
        return epochResultsToJson(r);
      }),
    chain_snapshotValidatorsV1: ({ netuid }) =>
      guard(async () => {
        const r = await needSigner().snapshotValidators(netuid);
        return { epoch: Number(r.epoch), taken: r.taken, txHash: r.hash, gasUsed: Number(r.gasUsed) };
      }),
    chain_proposeEpochV1: ({ netuid, epoch, root, resultsHash, total, results }) =>
      guard(async () => {
        const tx = await needSigner().proposeEpoch({
          netuid,
          epoch,
          root: root as Hex,
          resultsHash: resultsHash as Hex,
          total: BigInt(total),
          results: results as Hex,
        });
        return { txHash: tx.hash, gasUsed: Number(tx.gasUsed) };
      }),
    chain_attestEpochV1: ({ netuid, epoch, root, resultsHash }) =>
      guard(async () => {
        const tx = await needSigner().attestEpoch({
          netuid,
          epoch,
          root: root as Hex,
          resultsHash: resultsHash as Hex,
        });
        return { txHash: tx.hash, gasUsed: Number(tx.gasUsed) };
      }),
    chain_claimEmissionV1: ({ netuid, epoch, uid, account, amount, proof, toStake }) =>
      guard(async () => {
        const tx = await needSigner().claimEmission({
          netuid,
          epoch,
          uid,
          account: account as Address,
          amount: BigInt(amount),
          proof: proof as Hex[],
          toStake,
        });
        return { txHash: tx.hash, gasUsed: Number(tx.gasUsed) };
      }),
    chain_recordEpochResultsV1: ({ netuid, epoch, results }) =>
      guard(async () => {
        const tx = await needSigner().recordEpochResults({
          netuid,
          epoch,
          ...(results === undefined ? {} : { results: results as Hex }),
        });
        return { txHash: tx.hash, gasUsed: Number(tx.gasUsed) };
      }),
    chain_slashWrongRootsV1: ({ netuid, epoch }) =>
      guard(async () => {
        const r = await needSigner().slashWrongRoots({ netuid, epoch });
        return {
          slashed: r.slashed.map((x) => ({ hotkey: x.hotkey, amount: x.amount.toString(), txHash: x.hash })),
        };
      }),
    ...paymentHandlers(sdk, signer, needSigner),
    // A full buffer drops a block or snapshot: the next one supersedes it.
    chain_watchBlocksV1: (_p, ctx) =>
      fromPush(ctx.signal, (push, fail, signal) => {
        const unwatch = sdk.chain.public.watchBlocks({
          onBlock: (b) => push({ number: Number(b.number), hash: b.hash, timestamp: Number(b.timestamp) }),
          onError: (err) => fail(engineError(err)),
          emitOnBegin: true,
        });
        signal.addEventListener('abort', unwatch, { once: true });
      }),
    chain_watchMetagraphV1: ({ netuid }, ctx) =>
      fromPush(ctx.signal, (push, fail, signal) => {
        watchMetagraph(
          sdk.chain,
          { netuid },
          { onChange: (m) => push(metagraphToJson(m)), onError: (err) => fail(engineError(err)), signal },
        );
      }),
  };
}

const amount = (v: bigint): string => v.toString();

/** The payment methods (chainPayments.ts): reads with the SDK, writes and signatures with the hotkey. */
function paymentHandlers(
  sdk: SubnetClient,
  signer: SubnetClient | undefined,
  needSigner: () => SubnetClient,
): Pick<
  Handlers<typeof chainApi>,
  | 'chain_getPaymentsV1'
  | 'chain_getPaymentAccountV1'
  | 'chain_checkAuthorizationV1'
  | 'chain_signUsageReceiptV1'
  | 'chain_signReceiptKeyV1'
  | 'chain_settlePaymentsV1'
  | 'chain_depositForV1'
  | 'chain_getMinerEarningsV1'
  | 'chain_claimMinerEarningsV1'
  | 'chain_verifyX402V1'
  | 'chain_settleX402V1'
> {
  // The in-process x402 facilitator (x402.ts): made on first use, over the hotkey's clients.
  let x402: X402Facilitator | undefined;
  const facilitator = (): X402Facilitator => {
    if (x402 !== undefined) return x402;
    const chain = needSigner().chain;
    const { token } = paymentContracts(chain);
    const wallet = chain.wallet as NonNullable<typeof chain.wallet>;
    x402 = createX402Facilitator({
      publicClient: chain.public,
      walletClient: wallet,
      account: wallet.account,
      chainId: chain.chain.id,
      token,
    });
    return x402;
  };
  const authorization = (a: {
    client: string;
    gateway: string;
    cap: string;
    expiry: string;
    nonce: string;
  }) => ({
    client: a.client as Address,
    gateway: a.gateway as Address,
    cap: BigInt(a.cap),
    expiry: BigInt(a.expiry),
    nonce: a.nonce as Hex,
  });
  return {
    chain_getPaymentsV1: ({ netuid }) =>
      guard(async () => {
        const t = await getPaymentTerms(sdk.chain, netuid);
        return {
          chainId: t.chainId,
          block: Number(t.block),
          token: t.token,
          escrow: t.escrow,
          pricing: t.pricing,
          noticePeriodS: t.noticePeriodS,
          gateway: signer?.address ?? null,
          models: t.models.map((m) => ({
            model: m.model,
            modelId: m.modelId,
            promptPerMillion: amount(m.promptPerMillion),
            completionPerMillion: amount(m.completionPerMillion),
            effectiveBlock: Number(m.effectiveBlock),
            pending:
              m.pending === null
                ? null
                : {
                    promptPerMillion: amount(m.pending.promptPerMillion),
                    completionPerMillion: amount(m.pending.completionPerMillion),
                    effectiveBlock: Number(m.pending.effectiveBlock),
                  },
          })),
          split: t.split,
          splitPending:
            t.splitPending === null
              ? null
              : { ...t.splitPending, effectiveBlock: Number(t.splitPending.effectiveBlock) },
        };
      }),
    chain_getPaymentAccountV1: ({ client, gateway }) =>
      guard(async () => {
        const g = (gateway ?? needSigner().address) as Address;
        const a = await getPaymentAccount(sdk.chain, { client: client as Address, gateway: g });
        return {
          client: a.client,
          gateway: a.gateway,
          balance: amount(a.balance),
          pendingWithdrawal: amount(a.pendingWithdrawal),
          withdrawableAt: Number(a.withdrawableAt),
          spendable: amount(a.spendable),
          walletBalance: amount(a.walletBalance),
        };
      }),
    chain_checkAuthorizationV1: ({ authorization: a, signature }) =>
      guard(async () => {
        const r = await checkAuthorization(sdk.chain, {
          authorization: authorization(a),
          signature: signature as Hex,
          gateway: needSigner().address as Address,
        });
        return { digest: r.digest, collected: amount(r.collected) };
      }),
    chain_signUsageReceiptV1: ({ receipt }) =>
      guard(async () => {
        const r = await signUsageReceipt(needSigner().chain, {
          ...receipt,
          requestId: receipt.requestId as Hex,
          client: receipt.client as Address,
          miner: receipt.miner as Address,
          priceBlock: BigInt(receipt.priceBlock),
          cost: BigInt(receipt.cost),
          cumulative: BigInt(receipt.cumulative),
        });
        return {
          receipt: {
            ...r.receipt,
            priceBlock: Number(r.receipt.priceBlock),
            cost: amount(r.receipt.cost),
            cumulative: amount(r.receipt.cumulative),
          },
          signature: r.signature,
        };
      }),
    chain_signReceiptKeyV1: ({ key, expires }) =>
      guard(async () => {
        const r = await signReceiptKey(needSigner().chain, { key: key as Hex, expires: BigInt(expires) });
        return {
          gateway: r.receiptKey.gateway,
          key: r.receiptKey.key,
          expires: Number(r.receiptKey.expires),
          signature: r.signature,
        };
      }),
    chain_settlePaymentsV1: ({ netuid, vouchers, direct, miners }) =>
      guard(async () => {
        const r = await settlePayments(needSigner().chain, {
          netuid,
          vouchers: vouchers.map((v) => ({
            authorization: authorization(v.authorization),
            signature: v.signature as Hex,
            cumulative: BigInt(v.cumulative),
          })),
          direct: BigInt(direct),
          miners: miners.map((m) => ({ miner: m.miner as Address, weight: BigInt(m.weight) })),
        });
        return {
          txHash: r.hash,
          gasUsed: Number(r.gasUsed),
          settlementId: Number(r.settlementId),
          total: amount(r.total),
          validatorFee: amount(r.validatorFee),
          ownerFee: amount(r.ownerFee),
          burned: amount(r.burned),
          minerTotal: amount(r.minerTotal),
          shares: r.shares.map((s) => ({ miner: s.miner, amount: amount(s.amount) })),
        };
      }),
    chain_depositForV1: ({ client, amount: units }) =>
      guard(async () => {
        const tx = await depositFor(needSigner().chain, { client: client as Address, amount: BigInt(units) });
        return { txHash: tx.hash, gasUsed: Number(tx.receipt.gasUsed) };
      }),
    chain_getMinerEarningsV1: ({ miner }) =>
      guard(async () => {
        const e = await getMinerEarnings(sdk.chain, (miner ?? needSigner().address) as Address);
        return { miner: e.miner, unclaimed: amount(e.unclaimed), claimed: amount(e.claimed) };
      }),
    chain_claimMinerEarningsV1: () =>
      guard(async () => {
        const tx = await claimMinerEarnings(needSigner().chain);
        return { txHash: tx.hash, gasUsed: Number(tx.receipt.gasUsed), amount: amount(tx.amount) };
      }),
    chain_verifyX402V1: ({ paymentPayload, paymentRequirements }) =>
      guard(() => facilitator().verify(paymentPayload, paymentRequirements)),
    chain_settleX402V1: ({ paymentPayload, paymentRequirements }) =>
      guard(() => facilitator().settle(paymentPayload, paymentRequirements)),
  };
}

/** Creates the SDK and, when a password is available, the hotkey signer. */
export async function openChain(
  opts: ChainStackOpts,
): Promise<{ sdk: SubnetClient; signer: SubnetClient | undefined }> {
  const network = await loadNetwork(opts.chain.network ?? join(opts.dataDir, 'devnet.json'));
  const sdk = createSubnetClient({
    rpcUrl: opts.chain.rpcUrl,
    chainId: network.chainId,
    contracts: network.contracts,
    timeoutMs: opts.chain.rpcTimeoutMs,
    retryCount: opts.chain.retryCount,
    pollingIntervalMs: opts.chain.pollIntervalMs,
  });
  const key = await unlockNodeHotkey({
    dataDir: opts.dataDir,
    wallet: opts.chain.wallet,
    hotkey: opts.chain.hotkey,
    passwordFile: opts.chain.passwordFile,
  });
  if (key === undefined) return { sdk, signer: undefined };
  const account = privateKeyToAccount(key);
  return { sdk, signer: sdk.withAccount(account) };
}

export default defineStack({
  api: chainApi,
  options: (config): ChainStackOpts => {
    const c = config as Config;
    return { dataDir: c.dataDir, chain: c.chain };
  },
  create: async (opts: ChainStackOpts, modules) => {
    const { sdk, signer } = await openChain(opts);
    modules.logger.info({ hotkey: signer?.address ?? null, rpcUrl: opts.chain.rpcUrl }, 'chain stack ready');
    return { handlers: chainHandlers(opts, sdk, signer) };
  },
});
