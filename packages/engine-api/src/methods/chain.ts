/**
 * `chain_*`: the chain stack's namespace — reads of subnets and the metagraph, the writes a node makes
 * with its own hotkey (service info, weights), and streams of blocks and metagraph changes. Amounts are
 * decimal strings of the token's smallest unit (18 decimals), since JSON numbers cannot hold them.
 */
import { z } from 'zod';
import { stream, unary } from '../define.js';
import { defineErrors } from '../errors.js';

export const chainErrors = defineErrors({
  REVERTED: { code: 1101, summary: 'The contract reverted; `error.data.errorName` names the custom error.' },
  RPC_UNREACHABLE: { code: 1102, summary: 'The chain RPC cannot be reached or did not answer in time.' },
  NOT_FOUND: { code: 1103, summary: 'No such subnet or neuron.' },
  NO_ACCOUNT: { code: 1104, summary: 'The chain stack has no unlocked hotkey to sign with.' },
  NO_COMMIT: { code: 1105, summary: 'There is no pending weight commit to reveal.' },
  EPOCH_NOT_ENDED: {
    code: 1106,
    summary: 'The epoch has not ended yet (its inputs are read at its last block); ask again later.',
  },
  EPOCH_NOT_CONFIRMED: {
    code: 1107,
    summary:
      "The epoch's last block is not yet `chain.confirmations` blocks deep (a reorg could still replace it); ask again a few blocks later.",
  },
});

export const AddressSchema = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'a 0x-prefixed 20-byte hex address');
export const AmountSchema = z.string().regex(/^[0-9]+$/, 'a non-negative integer amount in wei, as a string');
const Netuid = z.number().int().min(1).max(65_535);
const Epoch = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Bytes32Schema = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'a 0x-prefixed 32-byte hex string');
const HexSchema = z.string().regex(/^0x([0-9a-fA-F]{2})*$/, '0x-prefixed hex bytes');
/** A u16 fraction of the epoch results (`value / 65535`), 0..1. */
const Fraction = z.number().min(0).max(1);

export const HyperparamsSchema = z.object({
  tempo: z.number().int(),
  maxAllowedUids: z.number().int(),
  maxValidators: z.number().int(),
  immunityPeriod: z.number().int(),
  minStake: AmountSchema,
  registrationBurn: AmountSchema.describe('Floor of the demand-priced registration burn'),
  maxRegistrationBurn: AmountSchema.describe('Cap of the demand-priced registration burn'),
  kappa: z.number().int(),
  bondsMovingAverage: z.number().int(),
  ownerSplit: z.number().int(),
  minerSplit: z.number().int(),
  validatorSplit: z.number().int(),
  commitRevealPeriod: z.number().int(),
  weightsRateLimit: z.number().int(),
  minAllowedWeights: z.number().int(),
  maxWeightLimit: z.number().int(),
  weightsVersionKey: z.number().int(),
  registrationAllowed: z.boolean(),
  burnAdjustmentInterval: z
    .number()
    .int()
    .describe('Blocks without a registration that halve what the burn holds above its floor'),
});

export const SubnetSchema = z.object({
  netuid: Netuid,
  owner: AddressSchema,
  name: z.string(),
  description: z.string(),
  active: z.boolean(),
  registeredAt: z.number().int().describe('Block of registration'),
  lockedAmount: AmountSchema,
  params: HyperparamsSchema,
  epochSchedule: z
    .array(z.object({ epoch: z.number().int(), startBlock: z.number().int(), tempo: z.number().int() }))
    .describe(
      'SubnetRegistry.getEpochSchedule: from startBlock on, epoch `epoch + k` starts at `startBlock + k·tempo` (one anchor at registration, one per tempo change)',
    ),
});

export const NeuronSchema = z.object({
  uid: z.number().int().min(0),
  hotkey: AddressSchema,
  coldkey: AddressSchema,
  role: z.enum(['validator', 'miner']),
  stake: AmountSchema.describe('Stake allocated to the hotkey in this subnet'),
  validatorPermit: z.boolean(),
  peerId: z.string(),
  multiaddrs: z.array(z.string()),
  metadata: z.string(),
  registeredAt: z.number().int(),
  lastUpdate: z.number().int(),
  emission: AmountSchema.describe('Amount of the latest finalised epoch (0 when not in its results)'),
  incentive: Fraction.describe("Miner incentive in the latest finalised epoch's results (0..1)"),
  dividends: Fraction.describe("Validator dividends in the latest finalised epoch's results (0..1)"),
  trust: Fraction.describe('Trust (miners) or validator trust (validators), 0..1'),
  consensus: Fraction.describe('Consensus weight of a miner, 0..1'),
});

export const MetagraphSchema = z.object({
  netuid: Netuid,
  block: z.number().int(),
  neurons: z.array(NeuronSchema),
});

export const chain_getStatusV1 = unary('chain_getStatusV1', {
  summary: 'Chain id, latest block, contract addresses and the hotkey this stack signs with.',
  params: z.object({}).strict(),
  result: z.object({
    chainId: z.number().int(),
    blockNumber: z.number().int(),
    rpcUrl: z.string(),
    contracts: z.record(z.string(), AddressSchema),
    hotkey: AddressSchema.nullable(),
  }),
  errors: [chainErrors.RPC_UNREACHABLE],
});

export const chain_listSubnetsV1 = unary('chain_listSubnetsV1', {
  summary: 'Every registered subnet with its hyperparameters.',
  params: z.object({}).strict(),
  result: z.object({ subnets: z.array(SubnetSchema) }),
  errors: [chainErrors.RPC_UNREACHABLE],
});

export const chain_getSubnetV1 = unary('chain_getSubnetV1', {
  summary: 'One subnet with its hyperparameters.',
  params: z.object({ netuid: Netuid }).strict(),
  result: SubnetSchema,
  errors: [chainErrors.NOT_FOUND, chainErrors.RPC_UNREACHABLE],
});

export const chain_getMetagraphV1 = unary('chain_getMetagraphV1', {
  summary: 'The metagraph of a subnet: every neuron with role, stake, permit and addresses.',
  params: z.object({ netuid: Netuid }).strict(),
  result: MetagraphSchema,
  errors: [chainErrors.NOT_FOUND, chainErrors.RPC_UNREACHABLE],
});

export const chain_getNeuronV1 = unary('chain_getNeuronV1', {
  summary: 'One neuron of a subnet, by uid or hotkey.',
  params: z
    .object({ netuid: Netuid, uid: z.number().int().min(0).optional(), hotkey: AddressSchema.optional() })
    .strict()
    .refine((p) => (p.uid === undefined) !== (p.hotkey === undefined), 'give exactly one of uid or hotkey'),
  result: NeuronSchema,
  errors: [chainErrors.NOT_FOUND, chainErrors.RPC_UNREACHABLE],
});

export const chain_updateServiceInfoV1 = unary('chain_updateServiceInfoV1', {
  summary: "Updates this node's peer id, multiaddrs and metadata in a subnet (signed by its hotkey).",
  params: z
    .object({
      netuid: Netuid,
      peerId: z.string().max(128),
      multiaddrs: z.array(z.string().min(1)).max(16),
      metadata: z.string().max(1024).default(''),
    })
    .strict(),
  result: z.object({ txHash: z.string() }),
  errors: [chainErrors.REVERTED, chainErrors.NO_ACCOUNT, chainErrors.NOT_FOUND, chainErrors.RPC_UNREACHABLE],
});

export const chain_commitWeightsV1 = unary('chain_commitWeightsV1', {
  summary: 'Commits a weight vector (hash with a fresh salt the stack keeps) for the current epoch.',
  params: z
    .object({
      netuid: Netuid,
      uids: z.array(z.number().int().min(0).max(65_535)).min(1).max(4096),
      weights: z.array(z.number().int().min(0).max(65_535)).min(1).max(4096),
    })
    .strict()
    .refine((p) => p.uids.length === p.weights.length, 'uids and weights must have the same length'),
  result: z.object({ txHash: z.string(), epoch: z.number().int(), commitHash: z.string() }),
  errors: [chainErrors.REVERTED, chainErrors.NO_ACCOUNT, chainErrors.NOT_FOUND, chainErrors.RPC_UNREACHABLE],
});

export const chain_revealWeightsV1 = unary('chain_revealWeightsV1', {
  summary: 'Reveals the pending commit of this node in a subnet (its reveal window must be open).',
  params: z.object({ netuid: Netuid }).strict(),
  result: z.object({ txHash: z.string(), epoch: z.number().int() }),
  errors: [chainErrors.REVERTED, chainErrors.NO_ACCOUNT, chainErrors.NO_COMMIT, chainErrors.RPC_UNREACHABLE],
});

export const EpochStatusSchema = z.enum(['open', 'awaiting', 'proposed', 'finalised', 'expired']);

export const EpochNeuronSchema = z.object({
  uid: z.number().int().min(0),
  hotkey: AddressSchema,
  role: z.enum(['validator', 'miner']),
  stake: AmountSchema,
  validatorPermit: z.boolean(),
  registeredAt: z.number().int(),
});

export const EpochRevealSchema = z.object({
  uid: z.number().int().min(0).describe('The validator'),
  block: z.number().int().describe('Block of the reveal'),
  epoch: z.number().int().describe('Epoch the weights were committed in'),
  uids: z.array(z.number().int().min(0).max(65_535)),
  weights: z.array(z.number().int().min(0).max(65_535)),
});

export const chain_getEpochInputsV1 = unary('chain_getEpochInputsV1', {
  summary:
    "Everything an epoch is settled from (docs/epoch.md, Inputs), read at the epoch's last block once that block is `chain.confirmations` deep, and cached by its hash (a reorg that replaces it is read again); reveals already filtered.",
  params: z.object({ netuid: Netuid, epoch: Epoch }).strict(),
  result: z.object({
    netuid: Netuid,
    epoch: Epoch,
    startBlock: z.number().int().describe('S(e)'),
    endBlock: z.number().int().describe('B(e) = S(e+1) - 1, the block every input is read at'),
    endBlockHash: Bytes32Schema.describe('The hash of B(e) the inputs were read at'),
    deadline: z.number().int().describe('D(e) = S(e+2) - 1, the last block to propose or attest'),
    owner: AddressSchema,
    params: HyperparamsSchema,
    yumaVersion: z.number().int(),
    emission: AmountSchema.describe('A(e): the amount the epoch distributes'),
    neurons: z.array(EpochNeuronSchema),
    reveals: z
      .array(EpochRevealSchema)
      .describe(
        'Per permitted validator, its latest reveal in [max(S(e-3), registeredAt), B(e)], entries only on miners registered by the reveal',
      ),
  }),
  errors: [
    chainErrors.NOT_FOUND,
    chainErrors.EPOCH_NOT_ENDED,
    chainErrors.EPOCH_NOT_CONFIRMED,
    chainErrors.RPC_UNREACHABLE,
  ],
});

export const EpochProposalSchema = z.object({
  proposer: AddressSchema,
  root: Bytes32Schema,
  resultsHash: Bytes32Schema,
  total: AmountSchema,
  totalStake: AmountSchema.describe('Stake of the permitted validators when proposed'),
  attestedStake: AmountSchema.describe("Stake attested so far (the proposer's included)"),
  attestations: z
    .array(z.object({ hotkey: AddressSchema, stake: AmountSchema, block: z.number().int() }))
    .describe('Each attestation (EpochAttested), in order, with the stake it counted'),
  block: z.number().int().describe('Block of the proposal'),
});

export const chain_getEpochV1 = unary('chain_getEpochV1', {
  summary:
    'The settlement of one epoch (default: the latest ended): status, proposer, proposal, attestations.',
  params: z.object({ netuid: Netuid, epoch: Epoch.optional() }).strict(),
  result: z.object({
    netuid: Netuid,
    epoch: Epoch,
    currentEpoch: Epoch,
    currentBlock: z.number().int(),
    startBlock: z.number().int(),
    endBlock: z.number().int(),
    endBlockHash: Bytes32Schema.nullable().describe(
      "The hash of B(e) as the chain has it now (null until it is mined): a change means a reorg replaced the epoch's inputs",
    ),
    deadline: z.number().int(),
    status: EpochStatusSchema,
    proposer: AddressSchema.nullable().describe(
      'The drawn proposer (null before the epoch ends or with none)',
    ),
    proposal: EpochProposalSchema.nullable(),
    emission: AmountSchema.describe('A(e), as the contract computes it now'),
    claimed: AmountSchema.describe('Total claimed from this epoch so far'),
    yumaVersion: z.number().int(),
  }),
  errors: [chainErrors.NOT_FOUND, chainErrors.RPC_UNREACHABLE],
});

export const EpochResultSchema = z.object({
  uid: z.number().int().min(0),
  incentive: Fraction,
  dividends: Fraction,
  trust: Fraction,
  consensus: Fraction,
  emission: AmountSchema,
});

export const chain_getEpochResultsV1 = unary('chain_getEpochResultsV1', {
  summary: 'The per-uid results of a finalised epoch (default: the latest), decoded from its proposal.',
  params: z.object({ netuid: Netuid, epoch: Epoch.optional() }).strict(),
  result: z.object({
    netuid: Netuid,
    epoch: Epoch,
    root: Bytes32Schema,
    resultsHash: Bytes32Schema,
    total: AmountSchema,
    block: z.number().int().describe('Block of the proposal'),
    results: z.array(EpochResultSchema),
  }),
  errors: [chainErrors.NOT_FOUND, chainErrors.RPC_UNREACHABLE],
});

const TxResult = z.object({ txHash: z.string(), gasUsed: z.number().int() });

export const chain_snapshotValidatorsV1 = unary('chain_snapshotValidatorsV1', {
  summary:
    "Takes the current epoch's validator snapshot (stakes and proposer draw; once per epoch, anyone may), signed by this node's hotkey; `taken: false` when it was already taken.",
  params: z.object({ netuid: Netuid }).strict(),
  result: z.object({
    epoch: Epoch.describe('The epoch whose snapshot was taken (or found taken)'),
    taken: z
      .boolean()
      .describe(
        'Whether this call took it; false (not an error) when it was already taken this epoch, by anyone',
      ),
    txHash: z
      .string()
      .nullable()
      .describe('The transaction, or null when none was sent (the snapshot was already taken)'),
    gasUsed: z.number().int().describe('Gas of the transaction (0 when none was sent)'),
  }),
  errors: [chainErrors.REVERTED, chainErrors.NOT_FOUND, chainErrors.NO_ACCOUNT, chainErrors.RPC_UNREACHABLE],
});

export const chain_proposeEpochV1 = unary('chain_proposeEpochV1', {
  summary:
    "Proposes an epoch's Merkle root and results (signed by this node's hotkey, a permitted validator).",
  params: z
    .object({
      netuid: Netuid,
      epoch: Epoch,
      root: Bytes32Schema,
      resultsHash: Bytes32Schema,
      total: AmountSchema,
      results: HexSchema.describe('The packed results (22 bytes per uid); must hash to resultsHash'),
    })
    .strict(),
  result: TxResult,
  errors: [chainErrors.REVERTED, chainErrors.NO_ACCOUNT, chainErrors.RPC_UNREACHABLE],
});

export const chain_attestEpochV1 = unary('chain_attestEpochV1', {
  summary: "Attests an epoch's proposal with this node's own root and results hash (signed by its hotkey).",
  params: z
    .object({ netuid: Netuid, epoch: Epoch, root: Bytes32Schema, resultsHash: Bytes32Schema })
    .strict(),
  result: TxResult,
  errors: [chainErrors.REVERTED, chainErrors.NO_ACCOUNT, chainErrors.RPC_UNREACHABLE],
});

export const chain_claimEmissionV1 = unary('chain_claimEmissionV1', {
  summary: "Claims one leaf of a finalised epoch with its Merkle proof (sent by this node's hotkey).",
  params: z
    .object({
      netuid: Netuid,
      epoch: Epoch,
      uid: z.number().int().min(0).max(65_535),
      account: AddressSchema,
      amount: AmountSchema,
      proof: z.array(Bytes32Schema).max(64),
      toStake: z
        .boolean()
        .default(false)
        .describe("Add it to the hotkey's stake instead of paying the coldkey"),
    })
    .strict(),
  result: TxResult,
  errors: [chainErrors.REVERTED, chainErrors.NO_ACCOUNT, chainErrors.RPC_UNREACHABLE],
});

export const chain_recordEpochResultsV1 = unary('chain_recordEpochResultsV1', {
  summary:
    "Records a finalised epoch's results in the neuron registry (each uid's amount becomes its recorded emission, the pruning score); sent by this node's hotkey.",
  params: z
    .object({
      netuid: Netuid,
      epoch: Epoch,
      results: HexSchema.optional().describe(
        "The proposal's packed results (22 bytes per uid); read from its EpochProposed event when left out",
      ),
    })
    .strict(),
  result: TxResult,
  errors: [chainErrors.REVERTED, chainErrors.NOT_FOUND, chainErrors.NO_ACCOUNT, chainErrors.RPC_UNREACHABLE],
});

export const chain_slashWrongRootsV1 = unary('chain_slashWrongRootsV1', {
  summary:
    "Slashes every validator that proposed or attested a root other than a final epoch's (Slashing.slashWrongRoot, sent by this node's hotkey); nothing for an epoch not final or without a wrong vote.",
  params: z.object({ netuid: Netuid, epoch: Epoch }).strict(),
  result: z.object({
    slashed: z.array(
      z.object({
        hotkey: AddressSchema,
        amount: AmountSchema.describe('Stake burnt'),
        txHash: z.string(),
      }),
    ),
  }),
  errors: [chainErrors.REVERTED, chainErrors.NOT_FOUND, chainErrors.NO_ACCOUNT, chainErrors.RPC_UNREACHABLE],
});

export const chain_watchBlocksV1 = stream('chain_watchBlocksV1', {
  summary: 'Streams each new block number and hash.',
  params: z.object({}).strict(),
  event: z.object({ number: z.number().int(), hash: z.string(), timestamp: z.number().int() }),
  errors: [chainErrors.RPC_UNREACHABLE],
});

export const chain_watchMetagraphV1 = stream('chain_watchMetagraphV1', {
  summary: 'Streams the metagraph of a subnet now and again after every change on chain.',
  params: z.object({ netuid: Netuid }).strict(),
  event: MetagraphSchema,
  errors: [chainErrors.NOT_FOUND, chainErrors.RPC_UNREACHABLE],
});

export const chainMethods = [
  chain_getStatusV1,
  chain_listSubnetsV1,
  chain_getSubnetV1,
  chain_getMetagraphV1,
  chain_getNeuronV1,
  chain_updateServiceInfoV1,
  chain_commitWeightsV1,
  chain_revealWeightsV1,
  chain_getEpochInputsV1,
  chain_getEpochV1,
  chain_getEpochResultsV1,
  chain_snapshotValidatorsV1,
  chain_proposeEpochV1,
  chain_attestEpochV1,
  chain_claimEmissionV1,
  chain_recordEpochResultsV1,
  chain_slashWrongRootsV1,
  chain_watchBlocksV1,
  chain_watchMetagraphV1,
] as const;
