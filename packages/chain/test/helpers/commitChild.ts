/**
 * A chain stack in its own process for the kill test (weightsCommit.test.ts): it unlocks validator1's hotkey
 * from the devnet wallets and sends one weight commit through `chain_commitWeightsV1`, then waits for the
 * receipt (which never comes while the test holds mining off) until it is killed with SIGKILL.
 * Argument: a JSON object {dataDir, rpcUrl, contracts, password, uids, weights}.
 */
import { createEngineClient, createEngineServer, createInProcessTransport } from '@subnet/engine-api';
import { createWalletStore } from '@subnet/wallet';
import type { ContractAddresses } from '../../src/network.js';
import { chainApi, chainHandlers } from '../../src/stack.js';
import { createSubnetClient } from '../../src/subnetClient.js';

const args = JSON.parse(process.argv[2] ?? '{}') as {
  dataDir: string;
  rpcUrl: string;
  contracts: ContractAddresses;
  password: string;
  uids: number[];
  weights: number[];
};
const hotkey = await createWalletStore({ dataDir: args.dataDir }).unlock(
  'validator1',
  'default',
  args.password,
);
const sdk = createSubnetClient({
  rpcUrl: args.rpcUrl,
  chainId: 31337,
  contracts: args.contracts,
  pollingIntervalMs: 50,
});
const opts = {
  dataDir: args.dataDir,
  chain: {
    rpcUrl: args.rpcUrl,
    rpcTimeoutMs: 5000,
    retryCount: 0,
    pollIntervalMs: 50,
    wallet: 'validator1',
    hotkey: 'default',
  },
} as Parameters<typeof chainHandlers>[0];
const server = createEngineServer({ streamDeadlineMs: 60_000, maxStreams: 4 });
server.register(chainApi, chainHandlers(opts, sdk, sdk.withAccount(hotkey)));
const client = createEngineClient(chainApi, createInProcessTransport(server));
process.stdout.write('committing\n');
await client.call(
  'chain_commitWeightsV1',
  { netuid: 1, uids: args.uids, weights: args.weights },
  { timeoutMs: 600_000 },
);
process.stdout.write('committed\n');
