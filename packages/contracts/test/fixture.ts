/**
 * Test fixture for the contract tests: one anvil per test file with the suite deployed, typed contract
 * handles, an evm_snapshot / evm_revert pair around every test, and helpers to mine blocks, wait for
 * receipts and assert custom-error reverts by name.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach } from 'node:test';
import {
  type Abi,
  type Account,
  type Address,
  BaseError,
  type Chain,
  ContractFunctionRevertedError,
  createPublicClient,
  createTestClient,
  createWalletClient,
  decodeErrorResult,
  type GetContractReturnType,
  getAddress,
  getContract,
  type Hash,
  type Hex,
  hexToBytes,
  http,
  keccak256,
  type PublicClient,
  parseEventLogs,
  type TestClient,
  type TransactionReceipt,
  type Transport,
  toHex,
  type WalletClient,
} from 'viem';
import { type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { type Anvil, startAnvil } from '../src/anvil.js';
import { type HotkeyConsent, hotkeyBindingTypedData } from '../src/consent.js';
import { type DeployContractsOpts, type DeployedContracts, deployContracts } from '../src/deploy.js';
import {
  adminTimelockAbi,
  epochConsensusAbi,
  neuronRegistryAbi,
  paymentEscrowAbi,
  paymentTokenAbi,
  pricingAbi,
  slashingAbi,
  stakingAbi,
  subnetRegistryAbi,
  subnetTokenAbi,
  weightsAbi,
} from '../src/generated/index.js';
import { reentrantTokenAbi } from '../src/generated/test/ReentrantToken.js';

export const SUB = 10n ** 18n;

/** Every error any suite contract can raise, for decoding reverts that bubbled up from another contract. */
const allErrors = [
  ...adminTimelockAbi,
  ...subnetTokenAbi,
  ...stakingAbi,
  ...subnetRegistryAbi,
  ...neuronRegistryAbi,
  ...weightsAbi,
  ...epochConsensusAbi,
  ...slashingAbi,
  ...paymentTokenAbi,
  ...pricingAbi,
  ...paymentEscrowAbi,
  ...reentrantTokenAbi,
].filter((item) => item.type === 'error') as Abi;

export const defaultHyperparams = {
  tempo: 10n,
  maxAllowedUids: 8,
  maxValidators: 2,
  immunityPeriod: 5n,
  minStake: 100n * SUB,
  registrationBurn: 1n * SUB,
  maxRegistrationBurn: 100n * SUB,
  kappa: 32_767,
  bondsMovingAverage: 900_000,
  ownerSplit: 1_800,
  minerSplit: 4_100,
  validatorSplit: 4_100,
  commitRevealPeriod: 1,
  weightsRateLimit: 0n,
  minAllowedWeights: 1,
  maxWeightLimit: 65_535,
  weightsVersionKey: 1n,
  registrationAllowed: true,
  burnAdjustmentInterval: 10n,
};
export type Hyperparams = typeof defaultHyperparams;

export const MULTIADDR = '/ip4/127.0.0.1/tcp/40123/p2p/16Uiu2HAmQ7vP2Yk4u1sQ3cVbV8u2kM'; // 60 chars

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** Base58btc (the bitcoin alphabet; each leading zero byte is a '1'). */
export function base58(bytes: Uint8Array): string {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let out = '';
  while (n > 0n) {
    out = (BASE58[Number(n % 58n)] as string) + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = `1${out}`;
  }
  return out;
}

/**
 * The libp2p peer id of a secp256k1 public key (viem's uncompressed `0x04 ‖ x ‖ y`): base58btc of the
 * identity multihash of the protobuf-encoded compressed key, what `peerIdFromPrivateKey` gives (the
 * contracts must not depend on the network stack, so it is spelled out here).
 */
export function peerIdOfPublicKey(publicKey: Hex): string {
  const raw = hexToBytes(publicKey);
  if (raw.length !== 65 || raw[0] !== 4) throw new Error('expected an uncompressed secp256k1 public key');
  const compressed = [(raw[64] as number) & 1 ? 3 : 2, ...raw.subarray(1, 33)];
  return base58(Uint8Array.from([0x00, 0x25, 0x08, 0x02, 0x12, 0x21, ...compressed]));
}

const knownPeerIds = new Map<Address, string>();
const knownAccounts = new Map<Address, PrivateKeyAccount>();

/** A hotkey derived from `label` (a signing account); {@link peerIdOf} and consents know its key. */
export function hotkeyAccount(label: string): PrivateKeyAccount {
  const account = privateKeyToAccount(keccak256(toHex(label)));
  knownPeerIds.set(account.address, peerIdOfPublicKey(account.publicKey));
  knownAccounts.set(account.address, account);
  return account;
}

/** A deadline far in the future for consents (block timestamps never reach it in a test). */
export const FAR_DEADLINE = 2n ** 40n;

/**
 * The peer id NeuronRegistry accepts for a hotkey: of an account, or of an address made by
 * {@link hotkeyAccount} or a fixture account (throws for any other address: its key is unknown).
 */
export function peerIdOf(hotkey: Address | PrivateKeyAccount): string {
  if (typeof hotkey !== 'string') return peerIdOfPublicKey(hotkey.publicKey);
  const peerId = knownPeerIds.get(getAddress(hotkey));
  if (peerId === undefined) throw new Error(`no key known for hotkey ${hotkey}: make it with hotkeyAccount`);
  return peerId;
}

export interface FixtureOpts {
  deploy?: DeployContractsOpts;
  /** Register and activate subnet 1 (owned by `owner`) with these hyperparameters. */
  subnet?: Hyperparams | undefined;
}

type Clients = { public: PublicClient; wallet: WalletClient<Transport, Chain, Account> };
type Contract<A extends Abi> = GetContractReturnType<A, Clients>;

/** One anvil with the suite deployed, its clients, named accounts and typed contract handles. */
export interface Fixture {
  anvil: Anvil;
  chain: Chain;
  publicClient: PublicClient;
  testClient: TestClient<'anvil'>;
  walletClient: WalletClient<Transport, Chain, Account>;
  /** Local (signing) accounts, funded with ETH and 100k SUB, that approved the token-pulling contracts. */
  accounts: PrivateKeyAccount[];
  deployer: PrivateKeyAccount;
  owner: PrivateKeyAccount;
  alice: PrivateKeyAccount;
  bob: PrivateKeyAccount;
  carol: PrivateKeyAccount;
  dave: PrivateKeyAccount;
  erin: PrivateKeyAccount;
  frank: PrivateKeyAccount;
  addresses: DeployedContracts;
  token: Contract<typeof subnetTokenAbi>;
  staking: Contract<typeof stakingAbi>;
  subnets: Contract<typeof subnetRegistryAbi>;
  neurons: Contract<typeof neuronRegistryAbi>;
  weights: Contract<typeof weightsAbi>;
  epochConsensus: Contract<typeof epochConsensusAbi>;
  slashing: Contract<typeof slashingAbi>;
  /** Waits for a transaction and asserts it succeeded. */
  mined(hash: Hash | Promise<Hash>): Promise<TransactionReceipt>;
  /** Mines `blocks` empty blocks. */
  mine(blocks: number): Promise<void>;
  /** The latest block number (uncached). */
  blockNumber(): Promise<bigint>;
  /** Mines empty blocks so that the next transaction lands in block `target` (no-op when past it). */
  nextTxAt(target: bigint): Promise<void>;
  /**
   * The hotkey's EIP-712 consent to its binding to `coldkey` (signed with the hotkey's key, of an account or of
   * an address made by {@link hotkeyAccount}); `deadline` defaults to {@link FAR_DEADLINE}.
   */
  consent(
    hotkey: Address | PrivateKeyAccount,
    coldkey: Address | Account,
    deadline?: bigint,
  ): Promise<HotkeyConsent>;
  /**
   * Sets a subnet's hyperparameters as its owner (`owner` unless given) and mines up to the epoch boundary
   * they take effect at, so that the next transaction sees them. Returns that boundary block.
   */
  applyHyperparams(netuid: number, params: Hyperparams, account?: Account): Promise<bigint>;
}

async function createFixture(opts: FixtureOpts): Promise<Fixture> {
  const anvil: Anvil = await startAnvil({ port: 0 });
  try {
    return await setUp(anvil, opts);
  } catch (err) {
    await anvil.stop();
    throw err;
  }
}

async function setUp(anvil: Anvil, opts: FixtureOpts): Promise<Fixture> {
  const chain = { ...foundry, rpcUrls: { default: { http: [anvil.rpcUrl] } } } as const;
  const transport = http(anvil.rpcUrl, { retryCount: 0 });
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 10, cacheTime: 0 });
  const testClient = createTestClient({ chain, mode: 'anvil', transport });
  // Local accounts, so that a reverting write fails at gas estimation with its decoded custom error
  // (anvil would mine a reverting eth_sendTransaction from an unlocked account).
  const accounts = Array.from({ length: 12 }, (_, i) => hotkeyAccount(`subnet-test-${i}`));
  for (const account of accounts)
    await testClient.setBalance({ address: account.address, value: 10n ** 24n });
  const [deployer, owner, alice, bob, carol, dave, erin, frank] = accounts as [
    PrivateKeyAccount,
    PrivateKeyAccount,
    PrivateKeyAccount,
    PrivateKeyAccount,
    PrivateKeyAccount,
    PrivateKeyAccount,
    PrivateKeyAccount,
    PrivateKeyAccount,
  ];
  const walletClient = createWalletClient({ chain, transport, account: deployer });
  // The deployer keeps the admin roles unless a test asks for the AdminTimelock (deploy.test.ts does).
  const addresses = await deployContracts(walletClient, publicClient, { admin: 'deployer', ...opts.deploy });
  const client: Clients = { public: publicClient as PublicClient, wallet: walletClient };
  const token = getContract({ address: addresses.token, abi: subnetTokenAbi, client });
  const staking = getContract({ address: addresses.staking, abi: stakingAbi, client });
  const subnets = getContract({ address: addresses.subnetRegistry, abi: subnetRegistryAbi, client });
  const neurons = getContract({ address: addresses.neuronRegistry, abi: neuronRegistryAbi, client });
  const weights = getContract({ address: addresses.weights, abi: weightsAbi, client });
  const epochConsensus = getContract({ address: addresses.epochConsensus, abi: epochConsensusAbi, client });
  const slashing = getContract({ address: addresses.slashing, abi: slashingAbi, client });

  /** Waits for a transaction and asserts it succeeded. */
  const mined = async (hash: Hash | Promise<Hash>): Promise<TransactionReceipt> => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash: await hash });
    assert.equal(receipt.status, 'success');
    return receipt;
  };
  const mine = (blocks: number) => testClient.mine({ blocks });
  const blockNumber = () => publicClient.getBlockNumber({ cacheTime: 0 });
  const nextTxAt = async (target: bigint) => {
    const gap = target - (await blockNumber()) - 1n;
    if (gap > 0n) await mine(Number(gap));
  };
  const applyHyperparams = async (netuid: number, params: Hyperparams, account: Account = owner) => {
    const receipt = await mined(subnets.write.setHyperparams([netuid, params], { account }));
    const [event] = parseEventLogs({
      abi: subnetRegistryAbi,
      logs: receipt.logs,
      eventName: 'HyperparamsSet',
    });
    if (event === undefined) throw new Error('setHyperparams emitted no HyperparamsSet');
    await nextTxAt(event.args.effectiveBlock);
    return event.args.effectiveBlock;
  };
  const consent = async (
    hotkey: Address | PrivateKeyAccount,
    coldkey: Address | Account,
    deadline = FAR_DEADLINE,
  ): Promise<HotkeyConsent> => {
    const signer = typeof hotkey === 'string' ? knownAccounts.get(getAddress(hotkey)) : hotkey;
    if (signer === undefined)
      throw new Error(`no key known for hotkey ${hotkey}: make it with hotkeyAccount`);
    const signature = await signer.signTypedData(
      hotkeyBindingTypedData({
        chainId: chain.id,
        neuronRegistry: addresses.neuronRegistry,
        hotkey: signer.address,
        coldkey: typeof coldkey === 'string' ? coldkey : coldkey.address,
        deadline,
      }),
    );
    return { deadline, signature };
  };

  // Fund and approve: every test account gets 100k SUB and approves the token-pulling contracts.
  const users = accounts.slice(1);
  for (const user of users)
    await mined(token.write.transfer([user.address, 100_000n * SUB], { account: deployer }));
  const spenders = [addresses.staking, addresses.subnetRegistry, addresses.neuronRegistry];
  for (const user of accounts) {
    for (const spender of spenders) {
      await mined(token.write.approve([spender, 2n ** 255n], { account: user }));
    }
  }
  if (opts.subnet !== undefined) {
    await mined(subnets.write.registerSubnet(['test', 'a test subnet', opts.subnet], { account: owner }));
    await mined(subnets.write.activateSubnet([1], { account: owner }));
  }

  return {
    anvil,
    chain,
    publicClient,
    testClient,
    walletClient,
    accounts,
    deployer,
    owner,
    alice,
    bob,
    carol,
    dave,
    erin,
    frank,
    addresses,
    token,
    staking,
    subnets,
    neurons,
    weights,
    epochConsensus,
    slashing,
    mined,
    mine,
    blockNumber,
    nextTxAt,
    consent,
    applyHyperparams,
  };
}

/**
 * Starts anvil and deploys before the enclosing suite, stops it after, and reverts the chain to a snapshot
 * after every test. Returns an accessor for the fixture.
 */
export function useFixture(opts: FixtureOpts = {}): () => Fixture {
  let fixture: Fixture | undefined;
  let snapshot: Hex | undefined;
  const get = (): Fixture => {
    if (fixture === undefined) throw new Error('fixture not started');
    return fixture;
  };
  before(async () => {
    fixture = await createFixture(opts);
  });
  after(async () => {
    await fixture?.anvil.stop();
  });
  beforeEach(async () => {
    snapshot = await get().testClient.snapshot();
  });
  afterEach(async () => {
    if (snapshot !== undefined) await get().testClient.revert({ id: snapshot });
  });
  return get;
}

/** A decoded revert: the custom error's name and arguments. */
export interface Revert {
  name: string;
  args: readonly unknown[];
}

/**
 * Decodes the custom error of a failed call: walks the viem error to the `ContractFunctionRevertedError`
 * (decoded with the called contract's ABI, or with every suite ABI when the error bubbled up from another
 * contract); for deployments and raw calls, decodes the revert data found anywhere in the cause chain.
 */
export function decodeRevert(err: unknown): Revert | undefined {
  if (!(err instanceof BaseError)) return undefined;
  const reverted = err.walk((e) => e instanceof ContractFunctionRevertedError);
  if (reverted instanceof ContractFunctionRevertedError) {
    if (reverted.data?.errorName !== undefined) {
      return { name: reverted.data.errorName, args: reverted.data.args ?? [] };
    }
    if (reverted.raw !== undefined) return decode(reverted.raw);
  }
  const raw = err.walk((e) => typeof (e as { data?: unknown }).data === 'string');
  const data = (raw as { data?: unknown } | null)?.data;
  return typeof data === 'string' && data.startsWith('0x') ? decode(data as Hex) : undefined;
}

function decode(data: Hex): Revert | undefined {
  try {
    const decoded = decodeErrorResult({ abi: allErrors, data });
    return { name: decoded.errorName, args: decoded.args ?? [] };
  } catch {
    return undefined;
  }
}

/** Asserts that `promise` rejects with the custom error `name` (and, when given, these leading args). */
export async function expectRevert(
  promise: Promise<unknown>,
  name: string,
  args?: readonly unknown[],
): Promise<void> {
  try {
    await promise;
  } catch (err) {
    const got = decodeRevert(err);
    assert.equal(got?.name, name, `expected revert ${name}, got ${got?.name ?? (err as Error).message}`);
    if (args !== undefined) assert.deepEqual(got?.args.slice(0, args.length), args);
    return;
  }
  assert.fail(`expected revert ${name}, but the call succeeded`);
}

/** A small seeded PRNG (mulberry32) for reproducible random operation sequences. */
export function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n) as number;
  };
}
