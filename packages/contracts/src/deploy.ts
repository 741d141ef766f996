/**
 * Deploys the subnet contract suite (SubnetToken, Staking, SubnetRegistry, NeuronRegistry, Weights,
 * EpochConsensus, Slashing, AdminTimelock) and wires it (NeuronRegistry.setWeights; EpochConsensus as token
 * minter, staking rewarder and emission manager; Slashing as staking slasher; optional faucet, unbonding and
 * deallocation periods), then hands the ownership of
 * every Ownable contract to the AdminTimelock: the admin roles are set once here, and any later change is
 * scheduled in the open and acts only after the timelock's delay. Used by the devnet, the tests and the gas
 * report. Transactions carry explicit nonces; every receipt is awaited and checked, so a returned address
 * always holds the deployed code. Never deploys test-only contracts.
 */
import { SubnetError } from '@subnet/utils';
import {
  type Account,
  type Address,
  type Chain,
  getContractAddress,
  type Hash,
  type PublicClient,
  type Transport,
  type WalletClient,
  zeroAddress,
} from 'viem';
import { adminTimelockAbi, adminTimelockBytecode } from './generated/AdminTimelock.js';
import { epochConsensusAbi, epochConsensusBytecode } from './generated/EpochConsensus.js';
import { neuronRegistryAbi, neuronRegistryBytecode } from './generated/NeuronRegistry.js';
import { paymentEscrowAbi, paymentEscrowBytecode } from './generated/PaymentEscrow.js';
import { paymentTokenAbi, paymentTokenBytecode } from './generated/PaymentToken.js';
import { pricingAbi, pricingBytecode } from './generated/Pricing.js';
import { slashingAbi, slashingBytecode } from './generated/Slashing.js';
import { stakingAbi, stakingBytecode } from './generated/Staking.js';
import { subnetRegistryAbi, subnetRegistryBytecode } from './generated/SubnetRegistry.js';
import { subnetTokenAbi, subnetTokenBytecode } from './generated/SubnetToken.js';
import { weightsAbi, weightsBytecode } from './generated/Weights.js';

export const DeployErrorCode = {
  DEPLOY_FAILED: 'DEPLOY_FAILED',
} as const;

const SUB = 10n ** 18n;

/**
 * The AdminTimelock delay {@link deployContracts} uses when none is given: 60 s, devnet-friendly. A
 * deployment others rely on should pass days (e.g. `172_800n`, 2 days), longer than the staking unbonding
 * period, so stakers can leave before an announced change acts.
 */
export const DEVNET_TIMELOCK_DELAY_S = 60n;

/** Who holds the admin roles once {@link deployContracts} has wired them. */
export type DeployAdmin =
  | {
      /** Seconds between scheduling a change and executing it (> 0). Default {@link DEVNET_TIMELOCK_DELAY_S}. */
      timelockDelay?: bigint;
      /** Accounts that may schedule and cancel changes. Default: the deployer. */
      proposers?: readonly Address[];
      /** Accounts that may execute a ready change. Default: anyone (`address(0)`). */
      executors?: readonly Address[];
    }
  /** The deployer keeps ownership (unit tests of the admin functions only; never on a shared chain). */
  | 'deployer';

/** Options for {@link deployContracts}; every field has a devnet-friendly default. */
export interface DeployContractsOpts {
  /** SUB (wei units) minted to the deployer. Default 10,000,000 SUB. */
  initialSupply?: bigint;
  /** Subnet lock cost at deployment. Default 100 SUB. */
  initialLockCost?: bigint;
  /** Floor of the subnet lock cost. Default 100 SUB. */
  minLockCost?: bigint;
  /** Blocks over which the lock cost decays to its floor. Default 7200. */
  lockReductionInterval?: bigint;
  /** Staking unbonding period in blocks; unset keeps the contract default (7200). */
  unbondingPeriod?: bigint;
  /**
   * Staking deallocation period in blocks (how long deallocated stake stays slashable before it can be
   * withdrawn to free stake); unset keeps the contract default (7200). Keep it above a few tempos.
   */
  deallocationPeriod?: bigint;
  /** Turns the token faucet on. */
  faucet?: { amount: bigint; cooldownBlocks: bigint };
  /**
   * The account allowed to record emissions. Default: the deployed EpochConsensus (set this only to test
   * NeuronRegistry.recordEmissions from another account).
   */
  emissionManager?: Address;
  /**
   * The emission schedule of EpochConsensus. Default: 1 SUB per block, halving every 10,500,000 blocks,
   * capped at 21,000,000 SUB.
   */
  emission?: { ratePerBlock: bigint; halvingInterval: bigint; emissionCap: bigint };
  /**
   * Who holds the admin roles after wiring. Default: an AdminTimelock (OpenZeppelin TimelockController)
   * with a {@link DEVNET_TIMELOCK_DELAY_S} delay, the deployer as its only proposer, open execution and no
   * admin; it then owns SubnetToken, Staking, SubnetRegistry, NeuronRegistry and EpochConsensus.
   */
  admin?: DeployAdmin;
  /**
   * Also deploys the payment contracts ({@link deployPayments}) after everything else (the addresses and
   * nonces of the suite above do not change). Default: not deployed.
   */
  payments?: Omit<DeployPaymentsOpts, 'subnetRegistry' | 'timeoutMs'>;
  /** Deadline for each receipt. Default 60 s. */
  timeoutMs?: number;
}

/** Addresses of the deployed suite. */
export interface DeployedContracts {
  token: Address;
  staking: Address;
  subnetRegistry: Address;
  neuronRegistry: Address;
  weights: Address;
  epochConsensus: Address;
  /** The Slashing contract (also `Staking.slasher()`). */
  slashing: Address;
  /** The payment token (set when the payment contracts were deployed, see {@link DeployContractsOpts}). */
  paymentToken?: Address;
  /** The Pricing contract (set when the payment contracts were deployed). */
  pricing?: Address;
  /** The PaymentEscrow contract (set when the payment contracts were deployed). */
  paymentEscrow?: Address;
}

/** The wallet client {@link deployContracts} needs: one with an account (local or JSON-RPC). */
export type DeployWalletClient = WalletClient<Transport, Chain | undefined, Account>;

/**
 * Deploys and wires the suite from `walletClient.account`, then (unless `admin` is `'deployer'`) makes the
 * AdminTimelock the owner of every contract; `owner()` of any of them names the timelock. The deployments go
 * out back to back (their constructors call nothing), then the wiring calls, then the ownership transfers.
 */
export async function deployContracts(
  walletClient: DeployWalletClient,
  publicClient: PublicClient,
  opts: DeployContractsOpts = {},
): Promise<DeployedContracts> {
  const account = walletClient.account;
  const chain = walletClient.chain;
  const timeout = opts.timeoutMs ?? 60_000;
  const first = await publicClient.getTransactionCount({ address: account.address, blockTag: 'pending' });
  const at = (offset: number) => getContractAddress({ from: account.address, nonce: BigInt(first + offset) });
  const contracts: DeployedContracts = {
    token: at(0),
    staking: at(1),
    subnetRegistry: at(2),
    neuronRegistry: at(3),
    weights: at(4),
    epochConsensus: at(5),
    slashing: at(6),
  };
  let nonce = first;

  const deployments: [string, Hash, Address][] = [];
  deployments.push([
    'SubnetToken',
    await walletClient.deployContract({
      abi: subnetTokenAbi,
      bytecode: subnetTokenBytecode,
      args: [opts.initialSupply ?? 10_000_000n * SUB],
      account,
      chain,
      nonce: nonce++,
    }),
    contracts.token,
  ]);
  deployments.push([
    'Staking',
    await walletClient.deployContract({
      abi: stakingAbi,
      bytecode: stakingBytecode,
      args: [contracts.token],
      account,
      chain,
      nonce: nonce++,
    }),
    contracts.staking,
  ]);
  deployments.push([
    'SubnetRegistry',
    await walletClient.deployContract({
      abi: subnetRegistryAbi,
      bytecode: subnetRegistryBytecode,
      args: [
        contracts.token,
        opts.initialLockCost ?? 100n * SUB,
        opts.minLockCost ?? 100n * SUB,
        opts.lockReductionInterval ?? 7200n,
      ],
      account,
      chain,
      nonce: nonce++,
    }),
    contracts.subnetRegistry,
  ]);
  deployments.push([
    'NeuronRegistry',
    await walletClient.deployContract({
      abi: neuronRegistryAbi,
      bytecode: neuronRegistryBytecode,
      args: [contracts.token, contracts.staking, contracts.subnetRegistry],
      account,
      chain,
      nonce: nonce++,
    }),
    contracts.neuronRegistry,
  ]);
  deployments.push([
    'Weights',
    await walletClient.deployContract({
      abi: weightsAbi,
      bytecode: weightsBytecode,
      args: [contracts.subnetRegistry, contracts.neuronRegistry],
      account,
      chain,
      nonce: nonce++,
    }),
    contracts.weights,
  ]);
  const emission = opts.emission ?? {
    ratePerBlock: 1n * SUB,
    halvingInterval: 10_500_000n,
    emissionCap: 21_000_000n * SUB,
  };
  deployments.push([
    'EpochConsensus',
    await walletClient.deployContract({
      abi: epochConsensusAbi,
      bytecode: epochConsensusBytecode,
      args: [
        contracts.token,
        contracts.staking,
        contracts.subnetRegistry,
        contracts.neuronRegistry,
        emission.ratePerBlock,
        emission.halvingInterval,
        emission.emissionCap,
      ],
      account,
      chain,
      nonce: nonce++,
    }),
    contracts.epochConsensus,
  ]);
  deployments.push([
    'Slashing',
    await walletClient.deployContract({
      abi: slashingAbi,
      bytecode: slashingBytecode,
      args: [contracts.staking, contracts.epochConsensus, contracts.subnetRegistry, contracts.neuronRegistry],
      account,
      chain,
      nonce: nonce++,
    }),
    contracts.slashing,
  ]);
  const admin = opts.admin ?? {};
  const timelock = admin === 'deployer' ? undefined : at(7);
  if (admin !== 'deployer' && timelock !== undefined) {
    deployments.push([
      'AdminTimelock',
      await walletClient.deployContract({
        abi: adminTimelockAbi,
        bytecode: adminTimelockBytecode,
        args: [
          admin.timelockDelay ?? DEVNET_TIMELOCK_DELAY_S,
          [...(admin.proposers ?? [account.address])],
          [...(admin.executors ?? [zeroAddress])],
        ],
        account,
        chain,
        nonce: nonce++,
      }),
      timelock,
    ]);
  }
  await checkDeployments(publicClient, deployments, timeout);

  const wiring: [string, Hash][] = [];
  wiring.push([
    'NeuronRegistry.setWeights',
    await walletClient.writeContract({
      address: contracts.neuronRegistry,
      abi: neuronRegistryAbi,
      functionName: 'setWeights',
      args: [contracts.weights],
      account,
      chain,
      nonce: nonce++,
    }),
  ]);
  wiring.push([
    'NeuronRegistry.setEmissionManager',
    await walletClient.writeContract({
      address: contracts.neuronRegistry,
      abi: neuronRegistryAbi,
      functionName: 'setEmissionManager',
      args: [opts.emissionManager ?? contracts.epochConsensus],
      account,
      chain,
      nonce: nonce++,
    }),
  ]);
  wiring.push([
    'SubnetToken.setMinter',
    await walletClient.writeContract({
      address: contracts.token,
      abi: subnetTokenAbi,
      functionName: 'setMinter',
      args: [contracts.epochConsensus, true],
      account,
      chain,
      nonce: nonce++,
    }),
  ]);
  wiring.push([
    'Staking.setRewarder',
    await walletClient.writeContract({
      address: contracts.staking,
      abi: stakingAbi,
      functionName: 'setRewarder',
      args: [contracts.epochConsensus],
      account,
      chain,
      nonce: nonce++,
    }),
  ]);
  wiring.push([
    'Staking.setSlasher',
    await walletClient.writeContract({
      address: contracts.staking,
      abi: stakingAbi,
      functionName: 'setSlasher',
      args: [contracts.slashing],
      account,
      chain,
      nonce: nonce++,
    }),
  ]);
  if (opts.faucet !== undefined) {
    wiring.push([
      'SubnetToken.setFaucet',
      await walletClient.writeContract({
        address: contracts.token,
        abi: subnetTokenAbi,
        functionName: 'setFaucet',
        args: [true, opts.faucet.amount, opts.faucet.cooldownBlocks],
        account,
        chain,
        nonce: nonce++,
      }),
    ]);
  }
  if (opts.unbondingPeriod !== undefined) {
    wiring.push([
      'Staking.setUnbondingPeriod',
      await walletClient.writeContract({
        address: contracts.staking,
        abi: stakingAbi,
        functionName: 'setUnbondingPeriod',
        args: [opts.unbondingPeriod],
        account,
        chain,
        nonce: nonce++,
      }),
    ]);
  }
  if (opts.deallocationPeriod !== undefined) {
    wiring.push([
      'Staking.setDeallocationPeriod',
      await walletClient.writeContract({
        address: contracts.staking,
        abi: stakingAbi,
        functionName: 'setDeallocationPeriod',
        args: [opts.deallocationPeriod],
        account,
        chain,
        nonce: nonce++,
      }),
    ]);
  }
  if (timelock !== undefined) {
    // Last: once these land, the deployer holds no admin role and every change goes through the delay.
    const owned = [
      ['SubnetToken', contracts.token, subnetTokenAbi],
      ['Staking', contracts.staking, stakingAbi],
      ['SubnetRegistry', contracts.subnetRegistry, subnetRegistryAbi],
      ['NeuronRegistry', contracts.neuronRegistry, neuronRegistryAbi],
      ['EpochConsensus', contracts.epochConsensus, epochConsensusAbi],
    ] as const;
    for (const [name, address, abi] of owned) {
      wiring.push([
        `${name}.transferOwnership`,
        await walletClient.writeContract({
          address,
          abi: abi as typeof stakingAbi,
          functionName: 'transferOwnership',
          args: [timelock],
          account,
          chain,
          nonce: nonce++,
        }),
      ]);
    }
  }
  for (const [name, hash] of wiring) {
    const receipt = await publicClient.waitForTransactionReceipt({ hash, timeout });
    if (receipt.status !== 'success') {
      throw new SubnetError(DeployErrorCode.DEPLOY_FAILED, `${name} reverted (tx ${hash})`, {
        meta: { name, hash },
      });
    }
  }
  if (opts.payments !== undefined) {
    const payments = await deployPayments(walletClient, publicClient, {
      ...opts.payments,
      subnetRegistry: contracts.subnetRegistry,
      timeoutMs: timeout,
    });
    return { ...contracts, ...payments };
  }
  return contracts;
}

/** Options for {@link deployPayments}. */
export interface DeployPaymentsOpts {
  /** The SubnetRegistry Pricing reads subnet owners and epochs from. */
  subnetRegistry: Address;
  /**
   * An existing ERC-20 to pay with (USDC in production; a plain token, no fee on transfer). Default: a new
   * devnet PaymentToken (6 decimals, EIP-2612 and EIP-3009), owned (mintable) by the deployer.
   */
  token?: Address;
  /** Units (6 decimals) of a new PaymentToken minted to the deployer. Default 100,000,000 sUSD. */
  initialSupply?: bigint;
  /** PaymentEscrow's withdrawal notice period in seconds. Default 3600 (one hour). */
  noticePeriod?: bigint;
  /** Deadline for each receipt. Default 60 s. */
  timeoutMs?: number;
}

/** Addresses {@link deployPayments} returns. */
export interface DeployedPayments {
  paymentToken: Address;
  pricing: Address;
  paymentEscrow: Address;
}

/**
 * Deploys the payment contracts from `walletClient.account` at its next nonces: PaymentToken (unless `token`
 * names one), Pricing and PaymentEscrow. None of them has an admin role to hand over (the devnet token's
 * owner, who may mint, stays the deployer). Every receipt is awaited and checked.
 */
export async function deployPayments(
  walletClient: DeployWalletClient,
  publicClient: PublicClient,
  opts: DeployPaymentsOpts,
): Promise<DeployedPayments> {
  const account = walletClient.account;
  const chain = walletClient.chain;
  const timeout = opts.timeoutMs ?? 60_000;
  let nonce = await publicClient.getTransactionCount({ address: account.address, blockTag: 'pending' });
  const next = () => getContractAddress({ from: account.address, nonce: BigInt(nonce) });
  const deployments: [string, Hash, Address][] = [];
  let paymentToken = opts.token;
  if (paymentToken === undefined) {
    paymentToken = next();
    deployments.push([
      'PaymentToken',
      await walletClient.deployContract({
        abi: paymentTokenAbi,
        bytecode: paymentTokenBytecode,
        args: [opts.initialSupply ?? 100_000_000n * 10n ** 6n],
        account,
        chain,
        nonce: nonce++,
      }),
      paymentToken,
    ]);
  }
  const pricing = next();
  deployments.push([
    'Pricing',
    await walletClient.deployContract({
      abi: pricingAbi,
      bytecode: pricingBytecode,
      args: [opts.subnetRegistry],
      account,
      chain,
      nonce: nonce++,
    }),
    pricing,
  ]);
  const paymentEscrow = next();
  deployments.push([
    'PaymentEscrow',
    await walletClient.deployContract({
      abi: paymentEscrowAbi,
      bytecode: paymentEscrowBytecode,
      args: [paymentToken, opts.noticePeriod ?? 3600n, pricing],
      account,
      chain,
      nonce: nonce++,
    }),
    paymentEscrow,
  ]);
  await checkDeployments(publicClient, deployments, timeout);
  return { paymentToken, pricing, paymentEscrow };
}

/** Waits for each deployment and checks it landed at the address its nonce predicted; DEPLOY_FAILED if not. */
async function checkDeployments(
  publicClient: PublicClient,
  deployments: readonly (readonly [string, Hash, Address])[],
  timeout: number,
): Promise<void> {
  for (const [name, hash, expected] of deployments) {
    const receipt = await publicClient.waitForTransactionReceipt({ hash, timeout });
    if (receipt.status !== 'success' || receipt.contractAddress?.toLowerCase() !== expected.toLowerCase()) {
      throw new SubnetError(
        DeployErrorCode.DEPLOY_FAILED,
        `deploying ${name} failed (tx ${hash}, status ${receipt.status}); check the deployer's balance and nonce`,
        { meta: { name, hash } },
      );
    }
  }
}
