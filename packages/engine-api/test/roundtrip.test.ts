/**
 * The Engine API round-trip table: one case per method of `engineApi` (a method without a case fails to
 * compile), each run over both transports through the typed client; plus `rpc.discover`, which must list
 * every method with `x-stream` on the stream ones.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { z } from 'zod';
import {
  type AnyMethod,
  AppGenerateEventSchema,
  type AppModelInfoSchema,
  app_scoreV1,
  appMethods,
  chainMethods,
  chainPaymentMethods,
  consensusMethods,
  defineApi,
  type EngineApi,
  EngineError,
  type EventOf,
  engineApi,
  gatewayMethods,
  type Handlers,
  MAX_TOKEN_IDS,
  type NeuronSchema,
  networkMethods,
  nodeErrors,
  nodeMethods,
  type ParamsIn,
  type ResultOf,
  type StackInfoSchema,
  type StreamMethod,
  type SubnetSchema,
  type UnaryMethod,
} from '../src/index.js';
import { eachTransport, expectEngineError, type Harness, startHarness, TRANSPORTS } from './harness.js';

/** A unary case: params sent, result expected back; a stream case: params sent, events expected back. */
type RoundTrip<M extends AnyMethod> = M extends UnaryMethod
  ? { params: ParamsIn<M>; result: ResultOf<M> }
  : M extends StreamMethod
    ? { params: ParamsIn<M>; events: EventOf<M>[] }
    : never;

const stack: z.output<typeof StackInfoSchema> = {
  name: 'app',
  namespaces: ['app'],
  status: 'running',
  pid: 4242,
  restarts: 1,
  startedAt: '2025-01-02T03:04:05.000Z',
  lastError: null,
};

function addr(n: number): string {
  return `0x${n.toString(16).padStart(40, '0')}`;
}

const subnet: z.output<typeof SubnetSchema> = {
  netuid: 1,
  owner: addr(9),
  name: 'text',
  description: 'LLM chat',
  active: true,
  registeredAt: 7,
  lockedAmount: '100000000000000000000',
  params: {
    tempo: 10,
    maxAllowedUids: 256,
    maxValidators: 64,
    immunityPeriod: 100,
    minStake: '1000000000000000000',
    registrationBurn: '1000000000000000000',
    maxRegistrationBurn: '100000000000000000000',
    kappa: 32767,
    bondsMovingAverage: 900_000,
    ownerSplit: 1800,
    minerSplit: 4100,
    validatorSplit: 4100,
    commitRevealPeriod: 1,
    weightsRateLimit: 5,
    minAllowedWeights: 1,
    maxWeightLimit: 65535,
    weightsVersionKey: 0,
    registrationAllowed: true,
    burnAdjustmentInterval: 100,
  },
  epochSchedule: [
    { epoch: 0, startBlock: 7, tempo: 20 },
    { epoch: 12, startBlock: 247, tempo: 10 },
  ],
};

const neuron: z.output<typeof NeuronSchema> = {
  uid: 0,
  hotkey: addr(2),
  coldkey: addr(3),
  role: 'validator',
  stake: '5000000000000000000',
  validatorPermit: true,
  peerId: '16Uiu2HAm',
  multiaddrs: ['/ip4/127.0.0.1/tcp/4001'],
  metadata: '',
  registeredAt: 8,
  lastUpdate: 30,
  emission: '1500000000000000000',
  incentive: 0,
  dividends: 0.25,
  trust: 1,
  consensus: 0,
};

const model: z.output<typeof AppModelInfoSchema> = {
  id: 'bigram',
  backend: 'llama.cpp',
  taskTypes: ['chat', 'completion', 'embedding'],
  contextLength: 256,
  modelType: 'llm',
  features: ['json_object', 'json_schema'],
};

const schedulerStats = {
  queued: 0,
  running: 1,
  completed: 4,
  failed: 0,
  rejected: 2,
  timedOut: 0,
  cancelled: 1,
  queueWaitP50Ms: 0.5,
  queueWaitP99Ms: 12,
};

const peer = {
  peerId: '16Uiu2HAkuVArMdPEZRJmUwwZ1dbPxH7xWaa4rhB8gHVTAQG1GWSd',
  hotkey: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8',
  uid: 3,
  role: 'miner' as const,
  validatorPermit: false,
  connected: true,
  multiaddrs: ['/ip4/127.0.0.1/tcp/9001'],
  latencyMs: 0.4,
  models: [model],
  load: { queued: 0, running: 1 },
  hardware: { cpus: 2, memoryBytes: 2 ** 34, gpu: null },
  lastHeartbeatAt: 1_760_000_000_000,
};

const keyInfo = {
  id: 'key_0a1b2c3d4e5f',
  name: 'ci',
  prefix: 'sk-sub-0a1b',
  createdAt: 1_760_000_000_000,
  revokedAt: null,
  limits: { requestsPerMinute: 600, tokensPerMinute: 100_000 },
  usage: { requests: 3, promptTokens: 30, completionTokens: 90, rejected: 1, lastUsedAt: 1_760_000_001_000 },
};

const receipt = {
  requestId: 'r1',
  miner: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8',
  validator: '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266',
  requestHash: `0x${'ab'.repeat(32)}`,
  responseHash: `0x${'cd'.repeat(32)}`,
  root: `0x${'ef'.repeat(32)}`,
  proof: [`0x${'01'.repeat(32)}`],
  signature: `0x${'02'.repeat(65)}`,
  signedAt: 1_760_000_000_000,
};

const minerScore = {
  uid: 3,
  hotkey: peer.hotkey,
  score: 0.81,
  correctness: 0.9,
  availability: 0.95,
  latencyMs: 42.5,
  latencyFactor: 0.95,
  challenges: 10,
  passed: 9,
  failed: 1,
  errors: 0,
  organic: 4,
  weight: 65535,
};

const cases: { [K in keyof EngineApi]: RoundTrip<EngineApi[K]> } = {
  engine_cancelStreamV1: { params: { streamId: 'not-open' }, result: { cancelled: false } },
  engine_echoV1: { params: { payload: 'héllo\n"world"' }, result: { payload: 'héllo\n"world"' } },
  engine_echoStreamV1: {
    params: { count: 3, payload: 'e' },
    events: [
      { seq: 0, payload: 'e' },
      { seq: 1, payload: 'e' },
      { seq: 2, payload: 'e' },
    ],
  },
  node_getHealthV1: {
    params: {},
    result: {
      status: 'degraded',
      processMode: 'split',
      uptimeS: 12.5,
      stacks: { app: 'running', chain: 'failed' },
    },
  },
  node_getVersionV1: {
    params: {},
    result: { version: '0.1.0', runtime: 'node v24.21.0', engineApi: '1.3.0', platform: 'linux-x64' },
  },
  node_getStacksV1: {
    params: {},
    result: {
      stacks: [stack, { ...stack, name: 'chain', status: 'failed', pid: null, lastError: 'rpc down' }],
    },
  },
  node_restartStackV1: { params: { name: 'app' }, result: { stack: { ...stack, restarts: 2 } } },
  node_watchStacksV1: {
    params: {},
    events: [{ stacks: [stack] }, { stacks: [{ ...stack, status: 'restarting' }] }, { stacks: [] }],
  },
  chain_getStatusV1: {
    params: {},
    result: {
      chainId: 31337,
      blockNumber: 12,
      rpcUrl: 'http://127.0.0.1:8545',
      contracts: { token: addr(1) },
      hotkey: null,
    },
  },
  chain_listSubnetsV1: { params: {}, result: { subnets: [subnet] } },
  chain_getSubnetV1: { params: { netuid: 1 }, result: subnet },
  chain_getMetagraphV1: { params: { netuid: 1 }, result: { netuid: 1, block: 40, neurons: [neuron] } },
  chain_getNeuronV1: { params: { netuid: 1, hotkey: addr(2) }, result: neuron },
  chain_updateServiceInfoV1: {
    params: { netuid: 1, peerId: '16Uiu2', multiaddrs: ['/ip4/127.0.0.1/tcp/4001'], metadata: '' },
    result: { txHash: `0x${'ab'.repeat(32)}` },
  },
  chain_commitWeightsV1: {
    params: { netuid: 1, uids: [0, 1], weights: [65535, 0] },
    result: { txHash: `0x${'cd'.repeat(32)}`, epoch: 3, commitHash: `0x${'ef'.repeat(32)}` },
  },
  chain_revealWeightsV1: { params: { netuid: 1 }, result: { txHash: `0x${'01'.repeat(32)}`, epoch: 3 } },
  chain_getEpochInputsV1: {
    params: { netuid: 1, epoch: 4 },
    result: {
      netuid: 1,
      epoch: 4,
      startBlock: 80,
      endBlock: 99,
      endBlockHash: `0x${'0a'.repeat(32)}`,
      deadline: 119,
      owner: addr(9),
      params: subnet.params,
      yumaVersion: 3,
      emission: '2000000000000000000',
      neurons: [
        { uid: 0, hotkey: addr(2), role: 'validator', stake: '5', validatorPermit: true, registeredAt: 8 },
        { uid: 1, hotkey: addr(4), role: 'miner', stake: '0', validatorPermit: false, registeredAt: 9 },
      ],
      reveals: [{ uid: 0, block: 85, epoch: 3, uids: [1], weights: [65535] }],
    },
  },
  chain_getEpochV1: {
    params: { netuid: 1 },
    result: {
      netuid: 1,
      epoch: 4,
      currentEpoch: 5,
      currentBlock: 104,
      startBlock: 80,
      endBlock: 99,
      endBlockHash: `0x${'0a'.repeat(32)}`,
      deadline: 119,
      status: 'proposed',
      proposer: addr(2),
      proposal: {
        proposer: addr(2),
        root: `0x${'aa'.repeat(32)}`,
        resultsHash: `0x${'bb'.repeat(32)}`,
        total: '2000000000000000000',
        totalStake: '10',
        attestedStake: '5',
        attestations: [{ hotkey: addr(5), stake: '5', block: 102 }],
        block: 101,
      },
      emission: '2000000000000000000',
      claimed: '0',
      yumaVersion: 3,
    },
  },
  chain_getEpochResultsV1: {
    params: { netuid: 1, epoch: 4 },
    result: {
      netuid: 1,
      epoch: 4,
      root: `0x${'aa'.repeat(32)}`,
      resultsHash: `0x${'bb'.repeat(32)}`,
      total: '2000000000000000000',
      block: 101,
      results: [
        { uid: 0, incentive: 0, dividends: 1, trust: 1, consensus: 0, emission: '820000000000000000' },
        { uid: 1, incentive: 1, dividends: 0, trust: 1, consensus: 1, emission: '820000000000000000' },
      ],
    },
  },
  chain_snapshotValidatorsV1: {
    params: { netuid: 1 },
    result: { epoch: 5, taken: true, txHash: `0x${'09'.repeat(32)}`, gasUsed: 180_000 },
  },
  chain_proposeEpochV1: {
    params: {
      netuid: 1,
      epoch: 4,
      root: `0x${'aa'.repeat(32)}`,
      resultsHash: `0x${'bb'.repeat(32)}`,
      total: '2000000000000000000',
      results: `0x${'00'.repeat(44)}`,
    },
    result: { txHash: `0x${'04'.repeat(32)}`, gasUsed: 120_000 },
  },
  chain_attestEpochV1: {
    params: { netuid: 1, epoch: 4, root: `0x${'aa'.repeat(32)}`, resultsHash: `0x${'bb'.repeat(32)}` },
    result: { txHash: `0x${'05'.repeat(32)}`, gasUsed: 60_000 },
  },
  chain_claimEmissionV1: {
    params: {
      netuid: 1,
      epoch: 4,
      uid: 1,
      account: addr(4),
      amount: '820000000000000000',
      proof: [`0x${'06'.repeat(32)}`],
      toStake: true,
    },
    result: { txHash: `0x${'07'.repeat(32)}`, gasUsed: 70_000 },
  },
  chain_recordEpochResultsV1: {
    params: { netuid: 1, epoch: 4, results: `0x${'00'.repeat(44)}` },
    result: { txHash: `0x${'08'.repeat(32)}`, gasUsed: 90_000 },
  },
  chain_slashWrongRootsV1: {
    params: { netuid: 1, epoch: 4 },
    result: {
      slashed: [
        { hotkey: `0x${'0a'.repeat(20)}`, amount: '50000000000000000000', txHash: `0x${'09'.repeat(32)}` },
      ],
    },
  },
  chain_getPaymentsV1: {
    params: { netuid: 1 },
    result: {
      chainId: 31337,
      block: 120,
      token: {
        address: addr(5),
        name: 'Subnet USD',
        symbol: 'sUSD',
        decimals: 6,
        eip712: { name: 'Subnet USD', version: '1' },
      },
      escrow: addr(6),
      pricing: addr(7),
      noticePeriodS: 3600,
      gateway: addr(8),
      models: [
        {
          model: 'devnet-chat',
          modelId: `0x${'0b'.repeat(32)}`,
          promptPerMillion: '100000',
          completionPerMillion: '400000',
          effectiveBlock: 40,
          pending: { promptPerMillion: '200000', completionPerMillion: '800000', effectiveBlock: 140 },
        },
      ],
      split: { validatorBps: 1000, ownerBps: 1000, burnBps: 500, minerBps: 7500 },
      splitPending: { validatorBps: 500, ownerBps: 500, burnBps: 0, minerBps: 9000, effectiveBlock: 140 },
    },
  },
  chain_getPaymentAccountV1: {
    params: { client: addr(9) },
    result: {
      client: addr(9),
      gateway: addr(8),
      balance: '5000000',
      pendingWithdrawal: '1000000',
      withdrawableAt: 1_700_003_600,
      spendable: '4000000',
      walletBalance: '995000000',
    },
  },
  chain_checkAuthorizationV1: {
    params: {
      authorization: {
        client: addr(9),
        gateway: addr(8),
        cap: '5000000',
        expiry: '1800000000',
        nonce: `0x${'0c'.repeat(32)}`,
      },
      signature: `0x${'0d'.repeat(65)}`,
    },
    result: { digest: `0x${'0e'.repeat(32)}`, collected: '1200' },
  },
  chain_signUsageReceiptV1: {
    params: {
      receipt: {
        requestId: `0x${'0f'.repeat(32)}`,
        client: addr(9),
        miner: addr(10),
        netuid: 1,
        model: 'devnet-chat',
        promptTokens: 12,
        completionTokens: 8,
        priceBlock: 118,
        cost: '5',
        cumulative: '1205',
      },
    },
    result: {
      receipt: {
        requestId: `0x${'0f'.repeat(32)}`,
        client: addr(9),
        gateway: addr(8),
        miner: addr(10),
        netuid: 1,
        model: 'devnet-chat',
        promptTokens: 12,
        completionTokens: 8,
        priceBlock: 118,
        cost: '5',
        cumulative: '1205',
      },
      signature: `0x${'10'.repeat(65)}`,
    },
  },
  chain_signReceiptKeyV1: {
    params: { key: `0x${'15'.repeat(32)}`, expires: 1_800_000_000 },
    result: {
      gateway: addr(8),
      key: `0x${'15'.repeat(32)}`,
      expires: 1_800_000_000,
      signature: `0x${'16'.repeat(65)}`,
    },
  },
  chain_settlePaymentsV1: {
    params: {
      netuid: 1,
      vouchers: [
        {
          authorization: {
            client: addr(9),
            gateway: addr(8),
            cap: '5000000',
            expiry: '1800000000',
            nonce: `0x${'0c'.repeat(32)}`,
          },
          signature: `0x${'0d'.repeat(65)}`,
          cumulative: '1205',
        },
      ],
      direct: '1000',
      miners: [{ miner: addr(10), weight: '2205' }],
    },
    result: {
      txHash: `0x${'11'.repeat(32)}`,
      gasUsed: 120_000,
      settlementId: 3,
      total: '2205',
      validatorFee: '220',
      ownerFee: '220',
      burned: '110',
      minerTotal: '1655',
      shares: [{ miner: addr(10), amount: '1655' }],
    },
  },
  chain_depositForV1: {
    params: { client: addr(9), amount: '300' },
    result: { txHash: `0x${'12'.repeat(32)}`, gasUsed: 60_000 },
  },
  chain_getMinerEarningsV1: {
    params: {},
    result: { miner: addr(10), unclaimed: '1655', claimed: '0' },
  },
  chain_claimMinerEarningsV1: {
    params: {},
    result: { txHash: `0x${'13'.repeat(32)}`, gasUsed: 40_000, amount: '1655' },
  },
  chain_verifyX402V1: {
    params: {
      paymentPayload: { x402Version: 2, payload: { signature: '0x00' } },
      paymentRequirements: { scheme: 'exact', network: 'eip155:31337' },
    },
    result: { isValid: true, payer: addr(9) },
  },
  chain_settleX402V1: {
    params: {
      paymentPayload: { x402Version: 2, payload: { signature: '0x00' } },
      paymentRequirements: { scheme: 'exact', network: 'eip155:31337' },
    },
    result: { success: true, payer: addr(9), transaction: `0x${'14'.repeat(32)}`, network: 'eip155:31337' },
  },
  chain_watchBlocksV1: {
    params: {},
    events: [
      { number: 1, hash: `0x${'02'.repeat(32)}`, timestamp: 1_700_000_000 },
      { number: 2, hash: `0x${'03'.repeat(32)}`, timestamp: 1_700_000_012 },
    ],
  },
  chain_watchMetagraphV1: {
    params: { netuid: 1 },
    events: [
      { netuid: 1, block: 40, neurons: [] },
      { netuid: 1, block: 41, neurons: [neuron] },
    ],
  },
  app_getCapabilitiesV1: {
    params: {},
    result: {
      models: [model],
      hardware: {
        cpus: 16,
        memoryBytes: 2 ** 34,
        freeMemoryBytes: 2 ** 33,
        gpu: 'NVIDIA H100 80GB HBM3',
        gpus: [
          { name: 'NVIDIA H100 80GB HBM3', memoryBytes: 85_520_809_984, freeMemoryBytes: 84_934_656_000 },
        ],
      },
    },
  },
  app_generateV1: {
    params: { model: 'bigram', kind: 'completion', prompt: 'quick', maxTokens: 2, priority: 'challenge' },
    events: [
      { type: 'token', text: '', ids: [7], logprob: -0.5 },
      { type: 'token', text: '-', ids: [8] },
      {
        type: 'token',
        text: 'b',
        ids: [3],
        logprob: -0.01,
        topLogprobs: [{ token: 'b', logprob: -0.01 }],
      },
      { type: 'done', finishReason: 'length', usage: { promptTokens: 5, completionTokens: 2 } },
    ],
  },
  app_embedV1: {
    params: { model: 'bigram', input: ['a', 'b'] },
    result: {
      embeddings: [
        [0.5, -0.5],
        [1, 0],
      ],
      usage: { promptTokens: 2 },
    },
  },
  app_scoreV1: {
    params: {
      model: 'bigram',
      messages: [{ role: 'user', content: 'quick' }],
      continuationIds: [8, 3],
      topLogprobs: 1,
      eos: true,
    },
    result: {
      tokens: [
        { token: '-', logprob: -0.1 },
        { token: 'b', logprob: -0.2, topLogprobs: [{ token: 'b', logprob: -0.2 }] },
      ],
      sumLogprob: -0.3,
      promptTokens: 9,
      contextLength: 256,
      eos: { logprob: -2.5, topLogprob: -0.4 },
    },
  },
  app_tokenizeV1: {
    params: { model: 'bigram', texts: ['the quick', ''] },
    result: { counts: [3, 0] },
  },
  app_listModelsV1: { params: {}, result: { models: [model] } },
  app_loadModelV1: {
    params: { id: 'bigram', backend: 'llama.cpp', path: '/models/bigram.gguf', contextLength: 256 },
    result: { model, replaced: false },
  },
  app_unloadModelV1: { params: { id: 'bigram' }, result: { unloaded: true } },
  app_getStatsV1: {
    params: {},
    result: {
      models: { bigram: schedulerStats },
      process: { cpuUserUs: 1000, cpuSystemUs: 200, rssBytes: 2 ** 26, heapUsedBytes: 2 ** 24 },
    },
  },
  network_getStatusV1: {
    params: {},
    result: {
      peerId: peer.peerId,
      hotkey: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8',
      netuid: 1,
      multiaddrs: peer.multiaddrs,
      uid: 3,
      role: 'miner',
      connections: 4,
      metagraphBlock: 120,
      topics: ['/subnet/1/heartbeat/1'],
    },
  },
  network_listPeersV1: { params: { connectedOnly: true }, result: { peers: [peer] } },
  network_dialV1: {
    params: { multiaddr: `${peer.multiaddrs[0]}/p2p/${peer.peerId}` },
    result: { peerId: peer.peerId, latencyMs: 0.4 },
  },
  network_findProvidersV1: { params: { model: 'bigram', timeoutMs: 500 }, result: { providers: [peer] } },
  network_publishV1: { params: { topic: 'notes', data: { hello: ['world', 1] } }, result: { recipients: 3 } },
  network_subscribeV1: {
    params: { topic: 'notes' },
    events: [
      { topic: '/subnet/1/notes/1', from: peer.peerId, data: { hello: 1 }, receivedAt: 1_760_000_000_000 },
    ],
  },
  network_sendSynapseV1: {
    params: {
      uid: 3,
      kind: 'generate',
      params: { model: 'bigram', kind: 'completion', prompt: 'a' },
      timeoutMs: 500,
    },
    events: [
      { type: 'event', data: { type: 'token', text: 'b' } },
      {
        type: 'done',
        requestId: 'r1',
        requestHash: `0x${'ab'.repeat(32)}`,
        responseHash: `0x${'cd'.repeat(32)}`,
        latencyMs: 1.5,
        firstEventMs: 0.7,
      },
    ],
  },
  network_getReceiptV1: { params: { requestId: 'r1' }, result: receipt },
  gateway_createKeyV1: {
    params: { name: 'ci', requestsPerMinute: 600 },
    result: { key: 'sk-sub-0a1b2c3d4e5f60718293a4b5c6d7e8f9', info: keyInfo },
  },
  gateway_listKeysV1: { params: { includeRevoked: true }, result: { keys: [keyInfo] } },
  gateway_revokeKeyV1: { params: { id: 'key_0a1b2c3d4e5f' }, result: { revoked: true } },
  gateway_getPaymentsV1: {
    params: { settlements: 10 },
    result: {
      keys: [
        {
          id: 'key_0a1b2c3d4e5f',
          name: 'pay-0x2222',
          revokedAt: null,
          client: addr(20),
          digest: `0x${'ab'.repeat(32)}`,
          cap: '10000000',
          expiry: '1900000000',
          charged: '2205',
          collected: '1650',
          settled: '1650',
        },
      ],
      miners: [{ miner: addr(10), served: '2205', settled: '1650' }],
      settlements: [
        {
          settlementId: 1,
          txHash: `0x${'12'.repeat(32)}`,
          total: '1650',
          validatorFee: '165',
          ownerFee: '165',
          burned: '82',
          minerTotal: '1238',
          vouchers: 1,
          at: 1_700_000_000_000,
        },
      ],
      totals: { charged: '2205', collected: '1650', settled: '1650', settlements: 1 },
      x402: { payments: 2, paid: '900', charged: '640', credited: '260', settled: '0' },
    },
  },
  gateway_getStatusV1: {
    params: {},
    result: {
      url: 'http://127.0.0.1:8080',
      models: [{ id: 'bigram', miners: 3 }],
      miners: [
        {
          uid: 3,
          peerId: peer.peerId,
          models: ['bigram'],
          inFlight: 1,
          requests: 10,
          failures: 1,
          latencyEwmaMs: 2.5,
          successEwma: 0.9,
        },
      ],
      requests: 10,
    },
  },
  gateway_watchOutcomesV1: {
    params: { sampleRate: 0.5 },
    events: [
      {
        requestId: 'req_1',
        model: 'bigram',
        kind: 'chat',
        uid: 3,
        peerId: peer.peerId,
        ok: true,
        errorCode: null,
        latencyMs: 12.5,
        firstEventMs: 3.1,
        promptTokens: 5,
        completionTokens: 8,
        at: 1_760_000_000_000,
        sample: null,
      },
      {
        requestId: 'req_2',
        model: 'bigram',
        kind: 'completion',
        uid: 3,
        peerId: peer.peerId,
        ok: true,
        errorCode: null,
        latencyMs: 10,
        firstEventMs: 2,
        promptTokens: 2,
        completionTokens: 2,
        at: 1_760_000_000_001,
        sample: {
          kind: 'generate',
          params: { model: 'bigram', kind: 'completion', prompt: 'the', seed: 7, logprobs: true },
          tokens: [
            { text: ' quick', logprob: -0.1, ids: [12] },
            { text: ' brown', logprob: null },
          ],
          finishReason: 'length',
        },
      },
    ],
  },
  consensus_getStatusV1: {
    params: {},
    result: {
      netuid: 1,
      hotkey: '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266',
      uid: 0,
      block: 120,
      epoch: 5,
      miners: [minerScore, { ...minerScore, uid: 4, correctness: null, latencyMs: null, weight: null }],
      weights: {
        commits: 2,
        reveals: 1,
        failures: 0,
        lastCommit: { epoch: 5, txHash: `0x${'cd'.repeat(32)}`, at: 1_760_000_000_000 },
        lastReveal: null,
        pendingRevealEpoch: 6,
      },
      challenges: { rounds: 4, sent: 12, passed: 10, failed: 1, errors: 1, audits: 11, auditFailures: 1 },
    },
  },
  consensus_getRoutingV1: {
    params: {},
    result: {
      miners: [
        {
          uid: 3,
          hotkey: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8',
          score: 0.9,
          routable: true,
          reason: null,
        },
        {
          uid: 4,
          hotkey: '0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc',
          score: 0.2,
          routable: false,
          reason: 'failed verification (audit): routable again after 3 more passed challenges in a row',
        },
      ],
      at: 1_760_000_000_000,
    },
  },
  consensus_listVerificationsV1: {
    params: { uid: 3, limit: 10 },
    result: {
      verifications: [
        {
          id: 7,
          at: 1_760_000_000_000,
          model: 'bigram',
          seed: 123456,
          prompt: 'quick brown',
          maxTokens: 16,
          majority: ' fox',
          miners: [
            {
              uid: 3,
              peerId: peer.peerId,
              verdict: 'pass',
              reason: 'majority',
              text: ' fox',
              tokens: 4,
              latencyMs: 12.5,
              requestId: 'r1',
              audit: {
                tokens: 4,
                argmaxMatched: 4,
                logprobsCompared: 4,
                logprobsMatched: 4,
                maxLogprobDiff: 0.001,
                passed: true,
              },
              receipt,
            },
            {
              uid: 4,
              peerId: null,
              verdict: 'error',
              reason: 'TIMEOUT',
              text: null,
              tokens: 0,
              latencyMs: null,
              requestId: null,
              audit: null,
              receipt: null,
            },
          ],
        },
      ],
    },
  },
  consensus_getEpochV1: {
    params: { epoch: 4 },
    result: {
      agent: {
        enabled: true,
        lastEpoch: 4,
        lastStatus: 'finalised',
        proposed: 1,
        attested: 2,
        mismatches: 0,
        claimed: 5,
        recorded: 1,
        slashed: 0,
        lastError: null,
      },
      settlement: {
        epoch: 4,
        root: `0x${'ab'.repeat(32)}`,
        resultsHash: `0x${'cd'.repeat(32)}`,
        total: '20000000000000000000',
        validators: [0],
        miners: [1, 2],
        leaves: [
          {
            uid: 1,
            account: '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266',
            amount: '8200000000000000000',
            proof: [],
          },
        ],
        results: [
          {
            uid: 1,
            incentive: 65_535,
            dividends: 0,
            trust: 65_535,
            consensus: 40_000,
            amount: '8200000000000000000',
          },
        ],
      },
    },
  },
};

const nodeApi = defineApi(nodeMethods);
const chainApi = defineApi([...chainMethods, ...chainPaymentMethods]);
const appApi = defineApi(appMethods);
const networkApi = defineApi(networkMethods);
const gatewayApi = defineApi(gatewayMethods);
const consensusApi = defineApi(consensusMethods);

/** Handlers answering exactly what the table expects (the server does not validate results). */
const nodeHandlers: Handlers<typeof nodeApi> = {
  node_getHealthV1: () => cases.node_getHealthV1.result,
  node_getVersionV1: () => cases.node_getVersionV1.result,
  node_getStacksV1: () => cases.node_getStacksV1.result,
  node_restartStackV1: ({ name }) => {
    if (name !== 'app') throw EngineError.of(nodeErrors.STACK_NOT_FOUND, `no stack named ${name}`);
    return cases.node_restartStackV1.result;
  },
  async *node_watchStacksV1() {
    yield* cases.node_watchStacksV1.events;
  },
};

/** Table-driven handlers for a namespace: unary methods answer `result`, streams yield `events`. */
function tableHandlers<A extends Record<string, AnyMethod>>(api: A): Handlers<A> {
  const out: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(api)) {
    const c = cases[name as keyof EngineApi] as { result?: unknown; events?: unknown[] };
    out[name] =
      def.kind === 'unary'
        ? () => c.result
        : async function* () {
            yield* c.events ?? [];
          };
  }
  return out as Handlers<A>;
}

let h: Harness;

before(async () => {
  h = await startHarness();
  h.server.register(nodeApi, nodeHandlers);
  h.server.register(chainApi, tableHandlers(chainApi));
  h.server.register(appApi, tableHandlers(appApi));
  h.server.register(networkApi, tableHandlers(networkApi));
  h.server.register(gatewayApi, tableHandlers(gatewayApi));
  h.server.register(consensusApi, tableHandlers(consensusApi));
});

after(() => h.close());

for (const [name, makeClient] of eachTransport(() => h)) {
  describe(`round trip over ${name}`, () => {
    for (const [method, c] of Object.entries(cases) as [keyof EngineApi, RoundTrip<AnyMethod>][]) {
      it(method, async () => {
        const client = makeClient(engineApi);
        const def = engineApi[method];
        if (def.kind === 'unary') {
          assert.ok('result' in c);
          const result = await client.call(method as never, c.params as never);
          assert.deepEqual(result, c.result);
        } else {
          assert.ok('events' in c);
          const events: unknown[] = [];
          for await (const ev of await client.stream(method as never, c.params as never)) events.push(ev);
          assert.deepEqual(events, c.events);
        }
      });
    }

    it('a namespace error of node_restartStackV1 comes back by name and code', async () => {
      const err = await expectEngineError(
        makeClient(engineApi).call('node_restartStackV1', { name: 'nope' }),
        'STACK_NOT_FOUND',
        nodeErrors.STACK_NOT_FOUND.code,
      );
      assert.equal(err.message, 'no stack named nope');
    });

    it('rpc.discover lists every method of engineApi, with x-stream on stream methods', async () => {
      const doc = (await makeClient(engineApi).discover()) as {
        openrpc: string;
        info: { title: string; version: string };
        methods: {
          name: string;
          summary: string;
          params: { name: string; required: boolean }[];
          result: { name: string; schema: Record<string, unknown> };
          errors: { code: number; data: { name: string } }[];
          'x-stream'?: boolean;
        }[];
      };
      assert.equal(doc.openrpc, '1.3.2');
      assert.equal(typeof doc.info.title, 'string');
      const names = doc.methods.map((m) => m.name);
      assert.deepEqual(names, [...names].sort(), 'methods are sorted by name');
      assert.deepEqual(new Set(names), new Set(Object.keys(engineApi)));
      assert.equal(names.length, Object.keys(engineApi).length);
      for (const m of doc.methods) {
        const def = engineApi[m.name as keyof EngineApi];
        assert.equal(m.summary, def.summary);
        if (def.kind === 'stream') {
          assert.equal(m['x-stream'], true, `${m.name} is marked as a stream`);
          assert.equal(m.result.name, 'event');
        } else {
          assert.equal('x-stream' in m, false, `${m.name} is not marked as a stream`);
          assert.equal(m.result.name, 'result');
        }
      }
      const echoStream = doc.methods.find((m) => m.name === 'engine_echoStreamV1');
      assert.deepEqual(echoStream?.params.map((p) => [p.name, p.required]).sort(), [
        ['count', true],
        ['intervalMs', false],
        ['payload', false],
      ]);
      const restart = doc.methods.find((m) => m.name === 'node_restartStackV1');
      assert.deepEqual(restart?.errors, [
        { code: 1001, message: nodeErrors.STACK_NOT_FOUND.summary, data: { name: 'STACK_NOT_FOUND' } },
      ]);
    });
  });
}

describe('the client validates what a handler answers', () => {
  for (const name of TRANSPORTS) {
    it(`a node_* result that fails its schema is INVALID_RESPONSE (${name})`, async () => {
      const bad = await startHarness();
      try {
        bad.server.register(nodeApi, {
          ...nodeHandlers,
          node_getVersionV1: () => ({ version: 1 }) as never,
          async *node_watchStacksV1() {
            yield { stacks: [{ name: 'x' }] } as never;
          },
        });
        const client = bad.client(name, engineApi);
        await expectEngineError(client.call('node_getVersionV1', {}), 'INVALID_RESPONSE');
        const events: unknown[] = [];
        const read = (async () => {
          for await (const ev of await client.stream('node_watchStacksV1', {})) events.push(ev);
        })();
        if (name === 'http') {
          await expectEngineError(read, 'INVALID_RESPONSE');
          assert.deepEqual(events, []);
        } else {
          // A stream handler in the caller's own process is trusted (the in-process path: direct.test.ts).
          await read;
          assert.deepEqual(events, [{ stacks: [{ name: 'x' }] }]);
        }
      } finally {
        await bad.close();
      }
    });
  }
});

describe('token ids on the wire', () => {
  const score = { model: 'bigram', prompt: 'the', priority: 'challenge' as const };
  it('app_scoreV1 takes exactly one of continuation and continuationIds', () => {
    assert.equal(app_scoreV1.params.safeParse({ ...score, continuation: ' quick' }).success, true);
    assert.equal(app_scoreV1.params.safeParse({ ...score, continuationIds: [1, 2] }).success, true);
    assert.equal(
      app_scoreV1.params.safeParse({ ...score, continuation: ' quick', continuationIds: [1] }).success,
      false,
    );
    assert.equal(app_scoreV1.params.safeParse(score).success, false);
    assert.equal(app_scoreV1.params.safeParse({ ...score, continuationIds: [] }).success, false);
    assert.equal(app_scoreV1.params.safeParse({ ...score, continuationIds: [-1] }).success, false);
    assert.equal(app_scoreV1.params.safeParse({ ...score, continuationIds: [1.5] }).success, false);
  });

  it(`a token event carries at most ${MAX_TOKEN_IDS} non-negative integer ids`, () => {
    const ev = (ids: number[]) => AppGenerateEventSchema.safeParse({ type: 'token', text: '', ids }).success;
    assert.equal(ev([]), true);
    assert.equal(ev(Array.from({ length: MAX_TOKEN_IDS }, (_, i) => i)), true);
    assert.equal(ev(Array.from({ length: MAX_TOKEN_IDS + 1 }, (_, i) => i)), false);
    assert.equal(ev([-1]), false);
    assert.equal(ev([0.5]), false);
  });
});
