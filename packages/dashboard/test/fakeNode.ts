/**
 * A small subnet behind a real Engine API server, for the dashboard's tests: the chain, consensus, network
 * and gateway methods the dashboard calls, answered from plain state the test changes (blocks are pushed,
 * outcomes are pushed, keys live in a map). The dashboard reaches it through the in-process transport, the
 * same encode, validate and decode steps as HTTP.
 */
import {
  chain_getEpochResultsV1,
  chain_getEpochV1,
  chain_getMinerEarningsV1,
  chain_getPaymentAccountV1,
  chain_getPaymentsV1,
  chain_getSubnetV1,
  chain_watchBlocksV1,
  chain_watchMetagraphV1,
  consensus_getStatusV1,
  consensus_listVerificationsV1,
  createEngineClient,
  createEngineServer,
  createInProcessTransport,
  defineApi,
  type EngineApi,
  type EngineClient,
  EngineError,
  type EngineServer,
  type EventOf,
  engineApi,
  gateway_createKeyV1,
  gateway_getPaymentsV1,
  gateway_listKeysV1,
  gateway_revokeKeyV1,
  gateway_watchOutcomesV1,
  gatewayErrors,
  type Handlers,
  network_listPeersV1,
  paymentErrors,
  type ResultOf,
} from '@subnet/engine-api';
import { fromPush } from '@subnet/utils';

export const NETUID = 1;
export const TEMPO = 10;
const addr = (n: number) => `0x${n.toString(16).padStart(40, '0')}`;

type Neuron = ResultOf<EngineApi['chain_getMetagraphV1']>['neurons'][number];
type Block = EventOf<EngineApi['chain_watchBlocksV1']>;
type Outcome = EventOf<EngineApi['gateway_watchOutcomesV1']>;
type KeyInfo = ResultOf<EngineApi['gateway_listKeysV1']>['keys'][number];

function neuron(uid: number, role: 'validator' | 'miner'): Neuron {
  return {
    uid,
    hotkey: addr(0x100 + uid),
    coldkey: addr(0x200 + uid),
    role,
    stake: role === 'validator' ? '1000000000000000000000' : '0',
    validatorPermit: role === 'validator',
    peerId: `peer-${uid}`,
    multiaddrs: [],
    metadata: '',
    registeredAt: 1,
    lastUpdate: 1,
    emission: role === 'validator' ? '200' : '100',
    incentive: role === 'miner' ? 1 / 3 : 0,
    dividends: role === 'validator' ? 1 : 0,
    trust: 0.5,
    consensus: role === 'miner' ? 1 / 3 : 0,
  };
}

const api = defineApi([
  chain_getSubnetV1,
  chain_watchBlocksV1,
  chain_watchMetagraphV1,
  chain_getEpochV1,
  chain_getEpochResultsV1,
  consensus_getStatusV1,
  consensus_listVerificationsV1,
  network_listPeersV1,
  gateway_createKeyV1,
  gateway_listKeysV1,
  gateway_revokeKeyV1,
  gateway_watchOutcomesV1,
]);

/** TEST DOUBLE of the chain stack's payment methods and the gateway's payment report (plain state). */
const paymentApi = defineApi([
  chain_getPaymentsV1,
  chain_getPaymentAccountV1,
  chain_getMinerEarningsV1,
  gateway_getPaymentsV1,
]);

export const PAYMENT_TOKEN = addr(0x70ce1);
export const GATEWAY = addr(0x100);
type GatewayPayments = ResultOf<EngineApi['gateway_getPaymentsV1']>;

export interface FakePayments {
  /** Earnings per miner hotkey (lower-case). */
  earnings: Map<string, { unclaimed: string; claimed: string }>;
  /** Prepaid accounts per client (lower-case). */
  accounts: Map<
    string,
    { balance: string; pendingWithdrawal: string; withdrawableAt: number; walletBalance: string }
  >;
  report: GatewayPayments;
  /** Calls per payment method, to see what is cached. */
  calls: Map<string, number>;
}

export interface FakeNode {
  server: EngineServer;
  engine: EngineClient<EngineApi>;
  neurons: Neuron[];
  /** Emits a new block to every block watcher. */
  block(n: number): void;
  /** Emits an organic outcome to every outcome watcher. */
  outcome(o: Partial<Outcome> & { uid: number; ok: boolean; latencyMs: number }): void;
  keys: Map<string, KeyInfo>;
  payments: FakePayments;
  close(): Promise<void>;
}

/**
 * `payments`: 'deployed' (the default), 'not-deployed' (the payment methods answer PAYMENTS_NOT_DEPLOYED)
 * or 'absent' (a node without them: METHOD_NOT_FOUND).
 */
export function startFakeNode(opts: { payments?: 'deployed' | 'not-deployed' | 'absent' } = {}): FakeNode {
  const neurons = [neuron(0, 'validator'), neuron(1, 'miner'), neuron(2, 'miner'), neuron(3, 'miner')];
  const blockFns = new Set<(b: Block) => void>();
  const outcomeFns = new Set<(o: Outcome) => void>();
  const keys = new Map<string, KeyInfo>();
  let current = 25;
  let seq = 0;

  const handlers: Handlers<typeof api> = {
    chain_getSubnetV1: ({ netuid }) => ({
      netuid,
      owner: addr(0xaa),
      name: 'testnet',
      description: 'a subnet under test',
      active: true,
      registeredAt: 0,
      lockedAmount: '0',
      params: {
        tempo: TEMPO,
        maxAllowedUids: 256,
        maxValidators: 64,
        immunityPeriod: 100,
        minStake: '0',
        registrationBurn: '0',
        maxRegistrationBurn: '0',
        kappa: 32767,
        bondsMovingAverage: 900000,
        ownerSplit: 18,
        minerSplit: 41,
        validatorSplit: 41,
        commitRevealPeriod: 1,
        weightsRateLimit: 1,
        minAllowedWeights: 1,
        maxWeightLimit: 65535,
        weightsVersionKey: 0,
        registrationAllowed: true,
        burnAdjustmentInterval: 100,
      },
      epochSchedule: [{ epoch: 0, startBlock: 0, tempo: TEMPO }],
    }),
    chain_watchBlocksV1: (_p, ctx) =>
      fromPush<Block>(ctx.signal, (push, _fail, done) => {
        blockFns.add(push);
        done.addEventListener('abort', () => blockFns.delete(push), { once: true });
      }),
    chain_watchMetagraphV1: (_p, ctx) =>
      fromPush(ctx.signal, (push) => push({ netuid: NETUID, block: current, neurons })),
    chain_getEpochV1: ({ netuid }) => {
      const currentEpoch = Math.floor(current / TEMPO);
      const epoch = currentEpoch - 1;
      return {
        netuid,
        epoch,
        currentEpoch,
        currentBlock: current,
        startBlock: epoch * TEMPO,
        endBlock: epoch * TEMPO + TEMPO - 1,
        endBlockHash: `0x${(epoch * TEMPO + TEMPO - 1).toString(16).padStart(64, '0')}`,
        deadline: epoch * TEMPO + 2 * TEMPO - 1,
        status: 'finalised',
        proposer: addr(0x100),
        proposal: null,
        emission: '1000',
        claimed: '0',
        yumaVersion: 3,
      };
    },
    chain_getEpochResultsV1: ({ netuid, epoch }) => {
      const latest = Math.floor(current / TEMPO) - 1;
      const e = epoch ?? latest;
      if (e > latest || e < 0)
        throw new EngineError('NOT_FOUND', 1103, `epoch ${e} of subnet ${netuid} is not finalised`);
      return {
        netuid,
        epoch: e,
        root: `0x${'11'.repeat(32)}`,
        resultsHash: `0x${'22'.repeat(32)}`,
        total: '1000',
        block: e * TEMPO + TEMPO,
        results: neurons.map((n) => ({
          uid: n.uid,
          incentive: n.incentive,
          dividends: n.dividends,
          trust: n.trust,
          consensus: n.consensus,
          emission: n.role === 'validator' ? '400' : String(100 + e),
        })),
      };
    },
    consensus_getStatusV1: () => ({
      netuid: NETUID,
      hotkey: addr(0x100),
      uid: 0,
      block: current,
      epoch: Math.floor(current / TEMPO),
      miners: neurons
        .filter((n) => n.role === 'miner')
        .map((n) => ({
          uid: n.uid,
          hotkey: n.hotkey,
          score: n.uid / 10,
          correctness: 1,
          availability: 1,
          latencyMs: 100 * n.uid,
          latencyFactor: 1,
          challenges: 3,
          passed: 3,
          failed: 0,
          errors: 0,
          organic: 0,
          weight: null,
        })),
      weights: {
        commits: 0,
        reveals: 0,
        failures: 0,
        lastCommit: null,
        lastReveal: null,
        pendingRevealEpoch: null,
      },
      challenges: { rounds: 1, sent: 3, passed: 3, failed: 0, errors: 0, audits: 0, auditFailures: 0 },
    }),
    consensus_listVerificationsV1: ({ uid }) => ({
      verifications: [
        {
          id: 1,
          at: 1_700_000_000_000,
          model: 'devnet-chat',
          seed: 7,
          prompt: 'hello there',
          maxTokens: 32,
          majority: 'general kenobi',
          miners: [1, 2, 3]
            .filter((u) => uid === undefined || u === uid)
            .map((u) => ({
              uid: u,
              peerId: `peer-${u}`,
              verdict: 'pass' as const,
              reason: 'majority',
              text: 'general kenobi',
              tokens: 2,
              latencyMs: 42,
              requestId: `req-${u}`,
              audit: null,
              receipt: null,
            })),
        },
      ],
    }),
    network_listPeersV1: () => ({
      peers: neurons.map((n) => ({
        peerId: n.peerId,
        hotkey: n.hotkey,
        uid: n.uid,
        role: n.role,
        validatorPermit: n.validatorPermit,
        connected: n.uid !== 3,
        multiaddrs: [],
        latencyMs: 1,
        models:
          n.role === 'miner'
            ? [
                {
                  id: 'devnet-chat',
                  backend: 'llama.cpp' as const,
                  taskTypes: ['chat' as const],
                  contextLength: 512,
                  modelType: 'llm',
                },
              ]
            : [],
        load: null,
        hardware: null,
        lastHeartbeatAt: null,
      })),
    }),
    gateway_createKeyV1: ({ name, requestsPerMinute, tokensPerMinute }) => {
      const id = `key_${(++seq).toString().padStart(8, '0')}`;
      const info: KeyInfo = {
        id,
        name,
        prefix: 'sk-sub-abcd',
        createdAt: Date.now(),
        revokedAt: null,
        limits: { requestsPerMinute: requestsPerMinute ?? 600, tokensPerMinute: tokensPerMinute ?? 200_000 },
        usage: { requests: 0, promptTokens: 0, completionTokens: 0, rejected: 0, lastUsedAt: null },
      };
      keys.set(id, info);
      return { key: `sk-sub-abcd${id}`, info };
    },
    gateway_listKeysV1: () => ({ keys: [...keys.values()] }),
    gateway_revokeKeyV1: ({ id }) => {
      const k = keys.get(id);
      if (k === undefined) throw EngineError.of(gatewayErrors.KEY_NOT_FOUND, `no API key ${id}`);
      const revoked = k.revokedAt === null;
      k.revokedAt ??= Date.now();
      return { revoked };
    },
    gateway_watchOutcomesV1: (_p, ctx) =>
      fromPush<Outcome>(ctx.signal, (push, _fail, done) => {
        outcomeFns.add(push);
        done.addEventListener('abort', () => outcomeFns.delete(push), { once: true });
      }),
  };
  const payments: FakePayments = {
    earnings: new Map([
      [addr(0x101), { unclaimed: '1238', claimed: '0' }],
      [addr(0x102), { unclaimed: '400', claimed: '2500000' }],
    ]),
    accounts: new Map([
      [
        addr(0xc1),
        {
          balance: '5000000',
          pendingWithdrawal: '1000000',
          withdrawableAt: 1_700_003_600,
          walletBalance: '123456789',
        },
      ],
    ]),
    report: {
      keys: [
        {
          id: 'key_0a1b2c3d4e5f',
          name: 'pay-client-1',
          revokedAt: null,
          client: addr(0xc1),
          digest: `0x${'ab'.repeat(32)}`,
          cap: '10000000',
          expiry: '1900000000',
          charged: '2205',
          collected: '1650',
          settled: '1650',
        },
      ],
      miners: [{ miner: addr(0x101), served: '2205', settled: '1650' }],
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
    },
    calls: new Map(),
  };
  const mode = opts.payments ?? 'deployed';
  const counted = (name: string) => {
    payments.calls.set(name, (payments.calls.get(name) ?? 0) + 1);
    if (mode === 'not-deployed')
      throw EngineError.of(paymentErrors.PAYMENTS_NOT_DEPLOYED, 'this chain takes no payments');
  };
  const paymentHandlers: Handlers<typeof paymentApi> = {
    chain_getPaymentsV1: () => {
      counted('chain_getPaymentsV1');
      return {
        chainId: 31337,
        block: current,
        token: {
          address: PAYMENT_TOKEN,
          name: 'Subnet USD',
          symbol: 'sUSD',
          decimals: 6,
          eip712: { name: 'Subnet USD', version: '1' },
        },
        escrow: addr(0xe5c40),
        pricing: addr(0x9c1),
        noticePeriodS: 3600,
        gateway: GATEWAY,
        models: [
          {
            model: 'devnet-chat',
            modelId: `0x${'cd'.repeat(32)}`,
            promptPerMillion: '100000',
            completionPerMillion: '400000',
            effectiveBlock: 10,
            pending: { promptPerMillion: '150000', completionPerMillion: '400000', effectiveBlock: 30 },
          },
        ],
        split: { validatorBps: 1000, ownerBps: 1000, burnBps: 500, minerBps: 7500 },
      };
    },
    chain_getPaymentAccountV1: ({ client, gateway }) => {
      counted('chain_getPaymentAccountV1');
      const a = payments.accounts.get(client.toLowerCase()) ?? {
        balance: '0',
        pendingWithdrawal: '0',
        withdrawableAt: 0,
        walletBalance: '0',
      };
      return {
        client,
        gateway: gateway ?? GATEWAY,
        ...a,
        spendable: (BigInt(a.balance) - BigInt(a.pendingWithdrawal)).toString(),
      };
    },
    chain_getMinerEarningsV1: ({ miner }) => {
      counted('chain_getMinerEarningsV1');
      const m = miner ?? GATEWAY;
      return { miner: m, ...(payments.earnings.get(m.toLowerCase()) ?? { unclaimed: '0', claimed: '0' }) };
    },
    gateway_getPaymentsV1: () => {
      payments.calls.set('gateway_getPaymentsV1', (payments.calls.get('gateway_getPaymentsV1') ?? 0) + 1);
      return payments.report;
    },
  };
  const server = createEngineServer({ maxStreams: 64, streamDeadlineMs: 3_600_000 });
  server.register(api, handlers);
  if (mode !== 'absent') server.register(paymentApi, paymentHandlers);
  const engine = createEngineClient(engineApi, createInProcessTransport(server));
  return {
    server,
    engine,
    neurons,
    keys,
    payments,
    block(n) {
      current = n;
      for (const fn of blockFns)
        fn({ number: n, hash: `0x${n.toString(16).padStart(64, '0')}`, timestamp: 1_700_000_000 + 2 * n });
    },
    outcome(o) {
      const full: Outcome = {
        requestId: `req-${++seq}`,
        model: 'devnet-chat',
        kind: 'chat',
        peerId: `peer-${o.uid}`,
        sample: null,
        errorCode: o.ok ? null : 'UPSTREAM_FAILED',
        firstEventMs: null,
        promptTokens: 1,
        completionTokens: 1,
        at: Date.now(),
        ...o,
      };
      for (const fn of outcomeFns) fn(full);
    },
    async close() {
      await engine.close();
      await server.close();
    },
  };
}
