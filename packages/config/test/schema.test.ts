import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigSchema } from '../src/index.js';

describe('ConfigSchema', () => {
  it('network.llamaRpc: a member serves its loopback port to listed hotkeys; a lead opens tunnels', () => {
    const lead = `0x${'ab'.repeat(20)}`;
    const member = `0x${'CD'.repeat(20)}`;
    const ok = ConfigSchema.parse({
      network: {
        llamaRpc: { serve: { port: 50052, allow: [lead] }, tunnels: [{ hotkey: member, port: 50100 }] },
      },
    });
    assert.deepEqual(ok.network.llamaRpc, {
      serve: { port: 50052, allow: [lead] },
      tunnels: [{ hotkey: member, port: 50100 }],
    });
    const bad = (llamaRpc: unknown, path: string) => {
      const r = ConfigSchema.safeParse({ network: { llamaRpc } });
      assert.equal(r.success, false);
      assert.ok(
        r.error?.issues.some((i) => i.path.join('.').startsWith(`network.llamaRpc.${path}`)),
        JSON.stringify(r.error?.issues),
      );
    };
    bad({ serve: { port: 50052, allow: ['lead'] } }, 'serve.allow.0');
    bad({ serve: { port: 50052, allow: [] } }, 'serve.allow');
    bad({ serve: { port: 0, allow: [lead] } }, 'serve.port');
    bad({ serve: { port: 50052, allow: [lead], host: '0.0.0.0' } }, 'serve');
    bad({ tunnels: [{ hotkey: member, port: 70000 }] }, 'tunnels.0.port');
    bad(
      {
        tunnels: [
          { hotkey: member, port: 50100 },
          { hotkey: lead, port: 50100 },
        ],
      },
      'tunnels',
    );
  });

  it('parses {} to a complete config of defaults', () => {
    assert.deepEqual(ConfigSchema.parse({}), {
      dataDir: '.subnet',
      log: { level: 'info' },
      node: {
        processMode: 'single',
        host: '127.0.0.1',
        port: 8645,
        stacks: [],
        restart: { initialDelayMs: 250, maxDelayMs: 10_000, resetAfterMs: 30_000 },
      },
      engine: { tokenTtlS: 60, maxBodyBytes: 1_048_576, streamDeadlineMs: 600_000, maxStreams: 4096 },
      chain: {
        rpcUrl: 'http://127.0.0.1:8545',
        rpcTimeoutMs: 10_000,
        retryCount: 1,
        pollIntervalMs: 1000,
        wallet: 'default',
        hotkey: 'default',
      },
      app: {
        models: [],
        scheduler: { concurrency: 1, queueCapacity: 16, deadlineMs: 120_000 },
        modelTypes: [],
      },
      network: {
        netuid: 1,
        listen: ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws'],
        announce: [],
        bootnodes: [],
        registerAddresses: true,
        heartbeatIntervalMs: 5000,
        maxConnections: 300,
        synapse: {
          maxRequestBytes: 4 * 1_048_576,
          maxResponseBytes: 16 * 1_048_576,
          maxInFlight: 1024,
          replayWindowMs: 300_000,
          receiptIntervalMs: 1000,
          receiptBatchSize: 1024,
          maxTokenTextBytes: 1024,
          tokenSlack: 8,
          maxEmbeddingDims: 8192,
          maxStrayBytes: 1_048_576,
          maxBufferedBytes: 64 * 1_048_576,
          maxPendingRequestBytes: 8 * 1_048_576,
          overLimitBanMs: 60_000,
          maxStreamsPerConnection: 8,
        },
        gossip: { maxHeartbeatModels: 64, heartbeatsPerInterval: 4 },
        llamaRpc: { tunnels: [] },
      },
      gateway: {
        host: '127.0.0.1',
        port: 8080,
        maxBodyBytes: 4 * 1_048_576,
        requestsPerMinute: 600,
        tokensPerMinute: 200_000,
        requestTimeoutMs: 120_000,
        maxAttempts: 3,
        firstEventTimeoutMs: 30_000,
        providerRefreshMs: 2000,
        routingPollMs: 1000,
        dashboard: { enabled: true, nodes: [] },
        payments: { settleIntervalMs: 60_000, priceRefreshMs: 10_000, keyBindsPerMinute: 10 },
      },
      consensus: {
        challengeIntervalMs: 10_000,
        redundancy: 3,
        maxTokens: 32,
        challengeTimeoutMs: 30_000,
        auditFraction: 1,
        auditTolerance: 0.1,
        auditMinMatch: 0.9,
        auditPlausibleRatio: 1e-4,
        embedMinCosine: 0.99,
        organicSampleRate: 0.1,
        organicAuditRate: 0.03,
        mixCapacity: 1024,
        ewmaAlpha: 0.1,
        latencyTargetMs: 5000,
        receiptTimeoutMs: 20_000,
        maxVerifications: 1000,
        maxVerificationTextBytes: 2048,
        stateFlushIntervalMs: 1000,
        routingRecoveryPasses: 3,
        routingMinCorrectness: 0.5,
        setWeights: true,
        settleEpochs: true,
        claim: 'own',
        claimToStake: false,
      },
      devnet: {
        gatewayPort: 8080,
        port: 8545,
        blockTimeS: 1,
        miners: 3,
        validators: 3,
        tempo: 20,
        dishonestMiners: 0,
        embeddings: true,
        p2pBasePort: 9100,
      },
    });
  });

  it('fills the defaults of a partly given section', () => {
    const config = ConfigSchema.parse({ node: { restart: { maxDelayMs: 500 } } });
    assert.deepEqual(config.node.restart, { initialDelayMs: 250, maxDelayMs: 500, resetAfterMs: 30_000 });
    assert.equal(config.node.port, 8645);
  });

  it('rejects a chain RPC URL that is not http(s) or ws(s)', () => {
    assert.equal(ConfigSchema.safeParse({ chain: { rpcUrl: 'ftp://x' } }).success, false);
    assert.equal(ConfigSchema.safeParse({ chain: { rpcUrl: 'not a url' } }).success, false);
    assert.equal(ConfigSchema.safeParse({ chain: { rpcUrl: 'https://rpc.example.org' } }).success, true);
  });

  it('rejects unknown keys at every level', () => {
    assert.equal(ConfigSchema.safeParse({ nod: {} }).success, false);
    assert.equal(ConfigSchema.safeParse({ node: { restart: { delay: 1 } } }).success, false);
  });

  it('rejects a bad stack name and a backoff cap below the initial delay', () => {
    assert.equal(
      ConfigSchema.safeParse({ node: { stacks: [{ name: 'Net-1', module: 'x' }] } }).success,
      false,
    );
    const r = ConfigSchema.safeParse({ node: { restart: { initialDelayMs: 2000, maxDelayMs: 1000 } } });
    assert.equal(r.success, false);
  });

  it('app: a pipeline group names loopback RPC devices only, one share each; a member runs its RPC server', () => {
    const group = { id: 'g', backend: 'llama.cpp', path: '/m.gguf' };
    const ok = ConfigSchema.parse({
      app: {
        models: [{ ...group, rpc: { servers: ['127.0.0.1:50052', 'localhost:50100'], tensorSplit: [1, 2] } }],
        rpcServer: { port: 50052 },
      },
    });
    assert.deepEqual(ok.app.models[0]?.rpc?.servers, ['127.0.0.1:50052', 'localhost:50100']);
    assert.equal(ok.app.rpcServer?.port, 50052);
    const refused = (app: unknown) =>
      assert.equal(ConfigSchema.safeParse({ app }).success, false, JSON.stringify(app));
    // A remote RPC device would expose llama.cpp's unauthenticated protocol to the network.
    for (const server of ['10.0.0.2:50052', '0.0.0.0:50052', 'example.com:50052', '127.0.0.1', '127.0.0.1:x'])
      refused({ models: [{ ...group, rpc: { servers: [server] } }] });
    refused({ models: [{ ...group, rpc: { servers: [] } }] });
    refused({
      models: [{ ...group, rpc: { servers: Array.from({ length: 17 }, (_, i) => `127.0.0.1:${5000 + i}`) } }],
    });
    refused({ models: [{ ...group, rpc: { servers: ['127.0.0.1:1'], tensorSplit: [1, 1] } }] });
    refused({ models: [{ ...group, rpc: { servers: ['127.0.0.1:1'], tensorSplit: [-1] } }] });
    refused({ models: [{ ...group, rpc: { servers: ['127.0.0.1:1'], extra: true } }] });
    refused({
      models: [
        {
          id: 'o',
          backend: 'ollama',
          baseUrl: 'http://127.0.0.1:1',
          model: 'x',
          rpc: { servers: ['127.0.0.1:1'] },
        },
      ],
    });
    refused({ rpcServer: { port: 0 } });
    refused({ rpcServer: { port: 70_000 } });
  });

  it('accepts app models per backend and refuses incomplete or duplicate ones', () => {
    const ok = ConfigSchema.parse({
      app: {
        models: [
          { id: 'tiny', backend: 'llama.cpp', path: '/m/tiny.gguf', contextLength: 256 },
          { id: 'llama3', backend: 'ollama', baseUrl: 'http://127.0.0.1:11434', model: 'llama3:8b' },
          { id: 'use-embed', backend: 'use' },
        ],
        scheduler: { concurrency: 2 },
        modelTypes: [{ pattern: 'tiny', type: 'llm' }],
      },
    });
    assert.equal(ok.app.models.length, 3);
    assert.deepEqual(ok.app.scheduler, { concurrency: 2, queueCapacity: 16, deadlineMs: 120_000 });
    for (const models of [
      [{ id: 'a', backend: 'llama.cpp' }],
      [{ id: 'a', backend: 'openai', baseUrl: 'http://127.0.0.1:8000' }],
      [{ id: 'a', backend: 'use', model: 'universal-sentence-encoder-lite' }],
      [
        { id: 'a', backend: 'llama.cpp', path: '/a' },
        { id: 'a', backend: 'llama.cpp', path: '/b' },
      ],
    ])
      assert.equal(ConfigSchema.safeParse({ app: { models } }).success, false, JSON.stringify(models));
    assert.equal(ConfigSchema.safeParse({ app: { scheduler: { concurrency: 0 } } }).success, false);
  });
});
