/**
 * The node's whole configuration as one zod schema: every key, its type, its default and a one-line
 * description. Loading (`load.ts`), environment variable names and the reference docs (`reference.ts`) are
 * all derived from it, so a new key is added here and nowhere else. Objects are strict so typos fail loudly.
 * This module must stay free of I/O.
 */
import { z } from 'zod';

/** A TCP port a node listens on or dials (1..65535). */
const tcpPort = () => z.number().int().min(1).max(65_535);

/** A hotkey address: 0x and 40 hex digits. */
const hotkeyAddress = () =>
  z
    .string()
    .regex(/^0x[0-9a-fA-F]{40}$/, 'a hotkey address: 0x and 40 hex digits')
    .describe('A hotkey address.');

const LogConfigSchema = z.strictObject({
  level: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('Lowest log level written.'),
});

const StackEntrySchema = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z][a-z0-9]*$/, 'stack names are lowercase letters and digits, starting with a letter')
    .describe('Stack name, unique within the node.'),
  module: z
    .string()
    .min(1)
    .describe('Module specifier or path whose default export is the stack definition.'),
});

const RestartConfigSchema = z
  .strictObject({
    initialDelayMs: z
      .number()
      .int()
      .min(1)
      .default(250)
      .describe('First delay before restarting a stack that exited.'),
    maxDelayMs: z
      .number()
      .int()
      .min(1)
      .default(10_000)
      .describe('Longest delay between restarts (backoff cap).'),
    resetAfterMs: z
      .number()
      .int()
      .min(1)
      .default(30_000)
      .describe('A stack that stays up this long has its restart backoff reset.'),
  })
  .refine((r) => r.maxDelayMs >= r.initialDelayMs, {
    message: 'must be >= node.restart.initialDelayMs',
    path: ['maxDelayMs'],
  });

const NodeConfigSchema = z.strictObject({
  processMode: z
    .enum(['single', 'split'])
    .default('single')
    .describe('single: every stack in one process; split: one child process per stack under a supervisor.'),
  host: z
    .string()
    .min(1)
    .default('127.0.0.1')
    .describe('Bind address of the Engine API, health and metrics.'),
  port: z
    .number()
    .int()
    .min(0)
    .max(65_535)
    .default(8645)
    .describe('Port of the Engine API, health and metrics (0 picks a free port).'),
  stacks: z.array(StackEntrySchema).default([]).describe('Stacks this node runs, in start order.'),
  restart: RestartConfigSchema.prefault({}).describe('Restart backoff for stacks that exit.'),
});

const EngineConfigSchema = z.strictObject({
  jwtSecretFile: z
    .string()
    .min(1)
    .optional()
    .describe('File holding the hex Engine API JWT secret (default: `<dataDir>/engine-jwt.hex`).'),
  tokenTtlS: z
    .number()
    .int()
    .min(5)
    .max(3600)
    .default(60)
    .describe('Lifetime of an Engine API JWT, in seconds.'),
  maxBodyBytes: z
    .number()
    .int()
    .min(1024)
    .default(1_048_576)
    .describe('Largest Engine API request body accepted.'),
  streamDeadlineMs: z.number().int().min(1).default(600_000).describe('Longest a stream may run.'),
  maxStreams: z
    .number()
    .int()
    .min(1)
    .default(4096)
    .describe('Most streams open at once on one Engine API server; more are refused with OVERLOADED.'),
});

const ChainConfigSchema = z.strictObject({
  rpcUrl: z
    .url({ protocol: /^(https?|wss?)$/ })
    .default('http://127.0.0.1:8545')
    .describe('JSON-RPC URL of the EVM chain that holds the subnet contracts.'),
  network: z
    .string()
    .min(1)
    .optional()
    .describe('Network file with the deployed contract addresses (default: `<dataDir>/devnet.json`).'),
  rpcTimeoutMs: z
    .number()
    .int()
    .min(100)
    .max(300_000)
    .default(10_000)
    .describe('Deadline of each chain RPC call.'),
  retryCount: z
    .number()
    .int()
    .min(0)
    .max(10)
    .default(1)
    .describe('Retries of a failed chain RPC call (reads only; writes are never resent blindly).'),
  pollIntervalMs: z
    .number()
    .int()
    .min(50)
    .default(1000)
    .describe('How often new blocks and contract events are polled.'),
  confirmations: z
    .number()
    .int()
    .min(0)
    .max(1024)
    .optional()
    .describe(
      "Blocks mined on top of an epoch's last block before its inputs are read and settled (a reorg shallower than this cannot change a settlement). Default by chain id: 0 on a local development chain (31337, 1337: the devnet), 12 elsewhere; keep it below a quarter of the subnet's tempo, the drawn proposer's exclusive window.",
    ),
  wallet: z
    .string()
    .min(1)
    .default('default')
    .describe('Wallet whose hotkey this node signs chain writes with.'),
  hotkey: z.string().min(1).default('default').describe('Hotkey name inside that wallet.'),
  passwordFile: z
    .string()
    .min(1)
    .optional()
    .describe(
      'File whose first line unlocks that wallet (else the WALLET_PASSWORD variable; without either the chain stack is read-only).',
    ),
});

const DevnetConfigSchema = z.strictObject({
  gatewayPort: z
    .number()
    .int()
    .min(0)
    .max(65_535)
    .default(8080)
    .describe(
      "Port of the first devnet validator's OpenAI-compatible gateway on 127.0.0.1; validator i serves on this port + i (0: each picks a free port).",
    ),
  port: z
    .number()
    .int()
    .min(0)
    .max(65_535)
    .default(8545)
    .describe('Port of the devnet anvil node on 127.0.0.1.'),
  blockTimeS: z
    .number()
    .int()
    .min(1)
    .max(60)
    .default(1)
    .describe('Seconds between devnet blocks; a transaction also gets its own block at once (mixed mining).'),
  miners: z.number().int().min(0).max(64).default(3).describe('Miners the devnet registers in subnet 1.'),
  validators: z
    .number()
    .int()
    .min(1)
    .max(16)
    .default(3)
    .describe(
      'Validators the devnet registers and stakes in subnet 1 (each scores the miners, settles epochs and serves a gateway).',
    ),
  tempo: z
    .number()
    .int()
    .min(2)
    .max(10_000)
    .default(20)
    .describe("Blocks per epoch of the devnet's subnet 1 (with 1 s blocks, an epoch every 20 s by default)."),
  dishonestMiners: z
    .number()
    .int()
    .min(0)
    .max(64)
    .default(0)
    .describe(
      'How many of the devnet miners (the last ones) cheat on organic traffic: an adversary app stack (examples/adversaries/challengeSpotter.mjs) serves the real model to what it guesses are challenges and a cheaper one (a bigram of a smaller corpus) to everything else, under the advertised model id.',
    ),
  appStacks: z
    .record(z.string().min(1), z.string().min(1))
    .optional()
    .describe(
      'Per devnet miner wallet (e.g. `miner3`), the module of its app stack in place of `@subnet/app/stack`: an absolute path or a path relative to the working directory whose default export is a stack definition. For trying adversary stacks (examples/adversaries/) on a devnet; JSON in the environment variable.',
    ),
  embeddings: z
    .boolean()
    .default(true)
    .describe(
      'Whether the devnet nodes also serve the pretrained embedding model (use-embed, Universal Sentence Encoder on TensorFlow.js WASM, ~110 MB resident per node). false: the generated chat model only, the lightweight backend of a large devnet (`npm run devnet:large`).',
    ),
  p2pBasePort: z
    .number()
    .int()
    .min(1024)
    .max(65_000)
    .default(9100)
    .describe('First libp2p port of the devnet neurons: neuron i uses TCP p2pBasePort+2i and WebSockets +1.'),
});

const NetworkConfigSchema = z.strictObject({
  netuid: z.number().int().min(1).max(65_535).default(1).describe('Subnet this node takes part in.'),
  listen: z
    .array(z.string().min(1))
    .default(['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws'])
    .describe('libp2p listen multiaddrs (TCP and WebSockets; port 0 picks a free port).'),
  announce: z
    .array(z.string().min(1))
    .default([])
    .describe('Multiaddrs to announce and register on chain instead of the listen addresses.'),
  bootnodes: z
    .array(z.string().min(1))
    .default([])
    .describe('Multiaddrs (with /p2p/<peerId>) dialled at start, besides the addresses registered on chain.'),
  registerAddresses: z
    .boolean()
    .default(true)
    .describe("Write this node's peer id and addresses on chain when they differ from the registered ones."),
  heartbeatIntervalMs: z
    .number()
    .int()
    .min(100)
    .max(600_000)
    .default(5000)
    .describe('How often this node gossips its heartbeat (load, queue depth, models).'),
  maxConnections: z.number().int().min(1).max(10_000).default(300).describe('Most open libp2p connections.'),
  synapse: z
    .strictObject({
      maxRequestBytes: z
        .number()
        .int()
        .min(1024)
        .max(64 * 1_048_576)
        .default(4 * 1_048_576)
        .describe('Largest synapse request frame a miner accepts.'),
      maxResponseBytes: z
        .number()
        .int()
        .min(1024)
        .max(256 * 1_048_576)
        .default(16 * 1_048_576)
        .describe('Largest synapse response (all its events) a validator accepts.'),
      maxInFlight: z
        .number()
        .int()
        .min(1)
        .max(65_536)
        .default(1024)
        .describe('Synapses one validator may have open at once on a miner; more are refused as busy.'),
      replayWindowMs: z
        .number()
        .int()
        .min(1000)
        .max(3_600_000)
        .default(300_000)
        .describe('How long request ids are remembered, and how far a request timestamp may be off.'),
      receiptIntervalMs: z
        .number()
        .int()
        .min(1)
        .max(600_000)
        .default(1000)
        .describe('A miner signs one receipt batch (Merkle root of its responses) at most this often.'),
      receiptBatchSize: z
        .number()
        .int()
        .min(1)
        .max(65_536)
        .default(1024)
        .describe('A receipt batch is signed early once it holds this many responses.'),
      maxTokenTextBytes: z
        .number()
        .int()
        .min(16)
        .max(1_048_576)
        .default(1024)
        .describe(
          'Largest text (UTF-8 bytes) of one token event a validator accepts, also per top-logprob token; a miner over it is cut off.',
        ),
      tokenSlack: z
        .number()
        .int()
        .min(0)
        .max(1024)
        .default(8)
        .describe("Token events a generate answer may hold beyond the request's maxTokens."),
      maxEmbeddingDims: z
        .number()
        .int()
        .min(1)
        .max(65_536)
        .default(8192)
        .describe('Most dimensions of one embedding vector a validator accepts.'),
      maxStrayBytes: z
        .number()
        .int()
        .min(1024)
        .max(256 * 1_048_576)
        .default(1_048_576)
        .describe(
          'Bytes of frames for unknown or finished requests a miner may send on one stream before it is cut off.',
        ),
      maxBufferedBytes: z
        .number()
        .int()
        .min(65_536)
        .max(1024 * 1_048_576)
        .default(64 * 1_048_576)
        .describe(
          'Bytes a validator holds of one miner: received and not yet consumed, or part of an incomplete frame; over it the miner is cut off.',
        ),
      maxPendingRequestBytes: z
        .number()
        .int()
        .min(1024)
        .max(1024 * 1_048_576)
        .default(8 * 1_048_576)
        .describe(
          "Bytes a miner holds of one validator's incomplete request frames, over all its streams; over it the stream is reset.",
        ),
      overLimitBanMs: z
        .number()
        .int()
        .min(0)
        .max(86_400_000)
        .default(60_000)
        .describe('How long a validator sends no synapse to a miner that broke a limit.'),
      maxStreamsPerConnection: z
        .number()
        .int()
        .min(1)
        .max(1024)
        .default(8)
        .describe('Synapse streams one connection may hold open (a validator needs one).'),
    })
    .prefault({})
    .describe('The synapse protocol (validator to miner requests) limits.'),
  gossip: z
    .strictObject({
      maxHeartbeatModels: z
        .number()
        .int()
        .min(1)
        .max(256)
        .default(64)
        .describe('Most models one heartbeat may list; a heartbeat with more is rejected (and penalised).'),
      heartbeatsPerInterval: z
        .number()
        .int()
        .min(1)
        .max(1000)
        .default(4)
        .describe(
          'Heartbeats of one origin accepted per heartbeat interval (a token bucket of that size); the rest are dropped before their signature is checked.',
        ),
    })
    .prefault({})
    .describe('Gossip limits (heartbeat validation).'),
  llamaRpc: z
    .strictObject({
      serve: z
        .strictObject({
          port: tcpPort().describe(
            "Port of this member's local `ggml-rpc-server` on 127.0.0.1, where tunnel streams go.",
          ),
          allow: z
            .array(hotkeyAddress())
            .min(1)
            .max(64)
            .describe('Hotkeys (the group lead) that may open tunnel streams; they must also be registered.'),
        })
        .optional()
        .describe(
          'Member side: serve `/subnet/llama-rpc/1.0.0`, piping streams from allowed hotkeys to the local RPC server (unset: not served).',
        ),
      tunnels: z
        .array(
          z.strictObject({
            hotkey: hotkeyAddress().describe("The member's hotkey address."),
            port: tcpPort().describe("Loopback port the lead's `llama-server --rpc 127.0.0.1:<port>` dials."),
          }),
        )
        .refine((ts) => new Set(ts.map((t) => t.port)).size === ts.length, 'each tunnel needs its own port')
        .default([])
        .describe(
          'Lead side: one loopback listener per member; each connection is carried over libp2p to that member.',
        ),
    })
    .prefault({})
    .describe(
      "llama.cpp's RPC protocol over libp2p between a pipeline group's members (never over raw TCP).",
    ),
});

const GatewayConfigSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1').describe('Bind address of the OpenAI-compatible API.'),
  port: z
    .number()
    .int()
    .min(0)
    .max(65_535)
    .default(8080)
    .describe('Port of the OpenAI-compatible API (0 picks a free port).'),
  dbFile: z
    .string()
    .min(1)
    .optional()
    .describe('SQLite file holding API keys (hashed) and usage (default: `<dataDir>/gateway.sqlite`).'),
  maxBodyBytes: z
    .number()
    .int()
    .min(1024)
    .max(64 * 1_048_576)
    .default(4 * 1_048_576)
    .describe('Largest request body accepted; larger ones are refused with 413.'),
  requestsPerMinute: z
    .number()
    .int()
    .min(1)
    .default(600)
    .describe('Default per-key request rate limit (a token bucket refilled per minute).'),
  tokensPerMinute: z
    .number()
    .int()
    .min(1)
    .default(200_000)
    .describe('Default per-key token rate limit (prompt and completion tokens, counted by the model).'),
  requestTimeoutMs: z
    .number()
    .int()
    .min(100)
    .max(600_000)
    .default(120_000)
    .describe('Deadline of one request to a miner.'),
  maxAttempts: z
    .number()
    .int()
    .min(1)
    .max(10)
    .default(3)
    .describe('Miners tried for one request before the first token (failover).'),
  firstEventTimeoutMs: z
    .number()
    .int()
    .min(0)
    .max(600_000)
    .default(30_000)
    .describe(
      'An attempt whose miner has sent nothing this long is abandoned for another miner, while another can be tried (the last waits for requestTimeoutMs). 0: never.',
    ),
  providerRefreshMs: z
    .number()
    .int()
    .min(100)
    .max(600_000)
    .default(2000)
    .describe('How long the miners found for a model are reused before asking the network stack again.'),
  routingPollMs: z
    .number()
    .int()
    .min(100)
    .max(60_000)
    .default(1000)
    .describe(
      "How often the router asks its node's consensus stack for routing advice (verified scores; miners failing verification get no organic traffic).",
    ),
  adminTokenFile: z
    .string()
    .min(1)
    .optional()
    .describe(
      "File holding the dashboard's admin token, created (0600, a random token) at start when missing (default: `<dataDir>/gateway-admin-token`).",
    ),
  dashboard: z
    .strictObject({
      enabled: z
        .boolean()
        .default(true)
        .describe('Serve the dashboard (web app at `/`, its JSON API under `/api/`) on the gateway port.'),
      nodes: z
        .array(
          z.strictObject({
            name: z
              .string()
              .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, dot, dash and underscore')
              .describe('Name shown in the dashboard.'),
            url: z.url().describe("Base URL of the node's Engine API, e.g. http://127.0.0.1:8646."),
          }),
        )
        .default([])
        .describe(
          'Nodes whose models the dashboard loads and unloads (they must share `engine.jwtSecretFile` with this node).',
        ),
    })
    .prefault({})
    .describe('The dashboard: the subnet at a glance, and keys and models managed with the admin token.'),
  payments: z
    .strictObject({
      settleIntervalMs: z
        .number()
        .int()
        .min(0)
        .max(86_400_000)
        .default(60_000)
        .describe(
          'How often what account-bound keys were charged is settled on chain (one chain_settlePaymentsV1 transaction per interval; 0 = never).',
        ),
      priceRefreshMs: z
        .number()
        .int()
        .min(100)
        .max(3_600_000)
        .default(10_000)
        .describe('How long the payment terms (prices, split) read from the chain stack are reused.'),
      keyBindsPerMinute: z
        .number()
        .int()
        .min(1)
        .max(100_000)
        .default(10)
        .describe(
          'Account-bound keys one client address (IP) may make per minute (POST /v1/payments/keys; each costs a chain read and a key).',
        ),
    })
    .prefault({})
    .describe('Payments (docs/payments.md): metering of account-bound keys, receipts and settlement.'),
});

const ConsensusConfigSchema = z.strictObject({
  challengeIntervalMs: z
    .number()
    .int()
    .min(100)
    .max(3_600_000)
    .default(10_000)
    .describe(
      'Mean gap between challenges of one model: challenges start at random (Poisson) times, each at an exponential gap of this mean divided among the models.',
    ),
  redundancy: z
    .number()
    .int()
    .min(1)
    .max(16)
    .default(3)
    .describe(
      'Miners that get the same challenge, each at its own random time; their majority is recorded as evidence, never as a verdict (only the reference audit decides).',
    ),
  maxTokens: z
    .number()
    .int()
    .min(1)
    .max(4096)
    .default(32)
    .describe(
      'Middle maxTokens of the default prior that shapes challenges until organic traffic is seen (then maxTokens is drawn from the organic mix).',
    ),
  challengeTimeoutMs: z
    .number()
    .int()
    .min(100)
    .max(600_000)
    .default(30_000)
    .describe(
      "Deadline of each reference call (app_scoreV1, app_embedV1) of an audit; a challenge synapse's deadline is gateway.requestTimeoutMs, as for organic requests.",
    ),
  auditFraction: z
    .number()
    .min(0)
    .max(1)
    .default(1)
    .describe("Fraction of challenge responses checked against the validator's own reference model."),
  auditTolerance: z
    .number()
    .min(0)
    .max(10)
    .default(0.1)
    .describe(
      "Logprob tolerance (nats) of the audit: a miner's token counts as the greedy choice when within this of the reference's best, and a reported logprob matches when within this of the reference's.",
    ),
  auditMinMatch: z
    .number()
    .min(0)
    .max(1)
    .default(0.9)
    .describe(
      'Fraction of audited tokens that must be the greedy choice (and of compared logprobs that must match) to pass.',
    ),
  auditPlausibleRatio: z
    .number()
    .gt(0)
    .max(1)
    .default(1e-4)
    .describe(
      "Audit of sampled answers (temperature > 0): a token is a plausible draw when its tempered probability under the reference is at least this share of the best token's (and it lies in the top-p nucleus).",
    ),
  embedMinCosine: z
    .number()
    .min(-1)
    .max(1)
    .default(0.99)
    .describe(
      "Least cosine similarity of a miner's embedding to the validator's reference embedding of the same input.",
    ),
  organicSampleRate: z
    .number()
    .min(0)
    .max(1)
    .default(0.1)
    .describe(
      'Share of successful organic requests whose params and answer the gateway hands to the validator (gateway_watchOutcomesV1 sampleRate): their shapes feed the organic mix challenges are drawn from.',
    ),
  organicAuditRate: z
    .number()
    .min(0)
    .max(1)
    .default(0.03)
    .describe(
      'Share of successful organic requests audited after the fact against the reference model (at most organicSampleRate); verdicts count like challenge verdicts.',
    ),
  mixCapacity: z
    .number()
    .int()
    .min(16)
    .max(100_000)
    .default(1024)
    .describe('Organic request shapes kept per model (and over all models) to draw challenges from.'),
  ewmaAlpha: z
    .number()
    .gt(0)
    .max(1)
    .default(0.1)
    .describe('Weight of the newest sample in the correctness, availability and latency moving averages.'),
  latencyTargetMs: z
    .number()
    .int()
    .min(1)
    .max(600_000)
    .default(5000)
    .describe(
      'Latency at or below which a miner loses nothing; the latency factor is target / latency above it.',
    ),
  receiptTimeoutMs: z
    .number()
    .int()
    .min(0)
    .max(600_000)
    .default(20_000)
    .describe(
      "How long to keep asking for a challenged miner's signed receipt (they are signed in batches).",
    ),
  maxVerifications: z
    .number()
    .int()
    .min(1)
    .max(100_000)
    .default(1000)
    .describe(
      'Verification records kept in memory and in the state file (newest first; older ones are dropped).',
    ),
  maxVerificationTextBytes: z
    .number()
    .int()
    .min(64)
    .max(1_048_576)
    .default(2048)
    .describe(
      'Largest prompt or answer text (UTF-8 bytes) a verification record keeps; longer ones are cut.',
    ),
  stateFile: z
    .string()
    .min(1)
    .optional()
    .describe(
      "SQLite file holding the validator's scores, verification records and pending claims across restarts (default: `<dataDir>/consensus/<netuid>-<wallet>-<hotkey>.sqlite`).",
    ),
  stateFlushIntervalMs: z
    .number()
    .int()
    .min(10)
    .max(60_000)
    .default(1000)
    .describe('How often changed scores and verification records are written to the state file.'),
  routingRecoveryPasses: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(3)
    .describe(
      'Challenges in a row a miner must pass after a failed verdict before the gateway may route organic traffic to it again; doubled for each further recent fail (up to 32 ×).',
    ),
  routingMinCorrectness: z
    .number()
    .min(0)
    .max(1)
    .default(0.5)
    .describe(
      'Correctness average below which a miner gets no organic traffic (consensus_getRoutingV1) and no weight in the commit.',
    ),
  setWeights: z
    .boolean()
    .default(true)
    .describe('Commit and reveal weights on chain once per epoch (false: score only).'),
  settleEpochs: z
    .boolean()
    .default(true)
    .describe(
      'Run the epoch agent: settle each ended epoch (Yuma, emission split, Merkle root) and propose or attest it (docs/epoch.md).',
    ),
  claim: z
    .enum(['own', 'all', 'none'])
    .default('own')
    .describe(
      "Which leaves of a finalised epoch this validator claims: its own; all (as the epoch's proposer, every neuron's, paid to their coldkeys); none.",
    ),
  claimToStake: z
    .boolean()
    .default(false)
    .describe(
      "Add this validator's own claimed emission to its stake in the subnet instead of paying its coldkey.",
    ),
});

const AppModelConfigSchema = z
  .strictObject({
    id: z.string().min(1).max(256).describe('Id clients name the model by (unique).'),
    backend: z
      .enum(['llama.cpp', 'ollama', 'openai', 'use'])
      .describe(
        'Inference backend serving the model (use: the Universal Sentence Encoder shipped on npm, embeddings only).',
      ),
    path: z.string().min(1).optional().describe('GGUF file (llama.cpp).'),
    baseUrl: z.url().optional().describe('Server root (ollama, openai).'),
    model: z.string().min(1).optional().describe('Model name on that server (ollama, openai).'),
    contextLength: z
      .number()
      .int()
      .min(16)
      .max(1_048_576)
      .optional()
      .describe("Context size in tokens (default: the model's own, capped at 4096 for llama.cpp)."),
    rpc: z
      .strictObject({
        servers: z
          .array(
            z
              .string()
              .regex(/^(127\.0\.0\.1|localhost|\[::1\]):\d{1,5}$/, 'a loopback host:port')
              .describe('A loopback host:port'),
          )
          .min(1)
          .max(16)
          .describe(
            "The group's RPC devices, in order: loopback ports of `network.llamaRpc.tunnels` (a member's ggml-rpc-server reached over libp2p) or of this node's own `app.rpcServer`. Never a remote address: llama.cpp's RPC protocol is unauthenticated.",
          ),
        tensorSplit: z
          .array(z.number().min(0).max(1_000_000))
          .optional()
          .describe(
            'Share of the layers per device, in the order of `servers` (llama-server --tensor-split; `subnet model plan` proposes one). Default: by the free memory each device reports.',
          ),
      })
      .optional()
      .describe(
        "A pipeline group (llama.cpp only): the lead runs llama-server with these RPC devices and serves the model like any other (docs/architecture.md, 'Distributed inference'). The first use builds llama.cpp's tools (cached).",
      ),
  })
  .refine((m) => m.rpc === undefined || m.backend === 'llama.cpp', {
    message: 'rpc (a pipeline group) needs backend llama.cpp',
  })
  .refine((m) => m.rpc?.tensorSplit === undefined || m.rpc.tensorSplit.length === m.rpc.servers.length, {
    message: 'rpc.tensorSplit needs one share per rpc.servers entry',
  })
  .refine(
    (m) =>
      m.backend === 'llama.cpp'
        ? m.path !== undefined
        : m.backend === 'use'
          ? m.path === undefined && m.baseUrl === undefined && m.model === undefined
          : m.baseUrl !== undefined && m.model !== undefined,
    {
      message:
        'llama.cpp models need path; ollama and openai models need baseUrl and model; use models take none of them',
    },
  );

const AppConfigSchema = z.strictObject({
  models: z
    .array(AppModelConfigSchema)
    .default([])
    .refine((ms) => new Set(ms.map((m) => m.id)).size === ms.length, { message: 'model ids must be unique' })
    .describe('Models loaded at start, one inference module each.'),
  rpcServer: z
    .strictObject({
      port: tcpPort().describe(
        "Loopback port of this node's ggml-rpc-server (the same as `network.llamaRpc.serve.port`).",
      ),
      threads: z
        .number()
        .int()
        .min(1)
        .max(1024)
        .optional()
        .describe('CPU threads it computes with (default: all).'),
    })
    .optional()
    .describe(
      "Lend this node's memory and compute to a pipeline group's lead: run llama.cpp's ggml-rpc-server on 127.0.0.1 (reached by the lead only through `network.llamaRpc.serve`). The first use builds llama.cpp's tools (cached).",
    ),
  toolsCacheDir: z
    .string()
    .min(1)
    .optional()
    .describe(
      "Where llama.cpp's RPC tools are built and cached (default: $XDG_CACHE_HOME/subnet, else ~/.cache/subnet).",
    ),
  scheduler: z
    .strictObject({
      concurrency: z.number().int().min(1).max(256).default(1).describe('Requests one model serves at once.'),
      queueCapacity: z
        .number()
        .int()
        .min(0)
        .max(65_536)
        .default(16)
        .describe('Requests one model holds waiting; beyond that, OVERLOADED with retryAfterMs.'),
      deadlineMs: z
        .number()
        .int()
        .min(1)
        .default(120_000)
        .describe('Deadline of one request, queue wait included.'),
    })
    .prefault({})
    .describe('Per-model admission control.'),
  modelTypes: z
    .array(
      z.strictObject({
        pattern: z.string().min(1).describe('Case-insensitive regular expression over the model id.'),
        type: z.string().min(1).describe('Model type (llm, embedding, diffusion, …).'),
      }),
    )
    .default([])
    .describe('Model-type rules tried before the built-in ones.'),
});

/**
 * The node's configuration. `ConfigSchema.parse({})` yields a complete config: every nested object defaults
 * to its own defaults (`prefault({})`). Unknown keys are rejected.
 */
export const ConfigSchema = z.strictObject({
  dataDir: z
    .string()
    .min(1)
    .default('.subnet')
    .describe(
      'Directory for keys, state and secrets (relative paths resolve against the working directory).',
    ),
  log: LogConfigSchema.prefault({}).describe('Logging.'),
  node: NodeConfigSchema.prefault({}).describe('Process layout, bind address and stacks.'),
  engine: EngineConfigSchema.prefault({}).describe('Engine API server.'),
  chain: ChainConfigSchema.prefault({}).describe('The EVM chain and the contracts of the subnets.'),
  app: AppConfigSchema.prefault({}).describe('The app (inference) stack: models and scheduling.'),
  gateway: GatewayConfigSchema.prefault({}).describe(
    "The gateway stack: the validator's OpenAI-compatible API, API keys and rate limits.",
  ),
  network: NetworkConfigSchema.prefault({}).describe(
    'The network stack: libp2p identity (the hotkey), discovery, gossip and synapses.',
  ),
  consensus: ConsensusConfigSchema.prefault({}).describe(
    "The consensus stack: the validator's synthetic challenges, verification, miner scores and weights.",
  ),
  devnet: DevnetConfigSchema.prefault({}).describe(
    'The local devnet started by `subnet devnet` / `npm start`.',
  ),
});

/** What the config accepts: every key optional (file contents, flags). */
export type ConfigInput = z.input<typeof ConfigSchema>;

/** What `ConfigSchema.parse` returns: defaults applied, `engine.jwtSecretFile` possibly unset. */
export type ParsedConfig = z.output<typeof ConfigSchema>;

/**
 * The resolved config returned by `loadConfig`: `dataDir` is absolute and `engine.jwtSecretFile` is always
 * set (it defaults to `<dataDir>/engine-jwt.hex`).
 */
export type Config = ParsedConfig & { engine: { jwtSecretFile: string } };
