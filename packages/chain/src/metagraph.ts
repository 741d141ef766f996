/**
 * The metagraph: every neuron of a subnet (uid, hotkey, coldkey, role, stake, permit, addresses,
 * registration block, last update, emission) fetched in a few batched calls, and kept current by
 * refetching whenever a contract event touches the subnet (registrations, stake moves, weights, service
 * info, emissions). Later issues add incentive, dividends, trust and consensus from the epoch results.
 */
import { neuronRegistryAbi, stakingAbi, subnetRegistryAbi, weightsAbi } from '@subnet/contracts';
import type { Log } from 'viem';
import { enrichNeurons } from './actions/getSubnetNeurons.js';
import type { ChainClient } from './client.js';
import { toChainError } from './errors.js';
import type { Metagraph } from './types.js';
import { checkNetuid } from './validate.js';

/** One consistent snapshot, read at a single block. */
export async function fetchMetagraph(client: ChainClient, params: { netuid: number }): Promise<Metagraph> {
  const netuid = checkNetuid(params.netuid);
  try {
    const block = await client.public.getBlockNumber({ cacheTime: 0 });
    const records = await client.public.readContract({
      address: client.contracts.neuronRegistry,
      abi: neuronRegistryAbi,
      functionName: 'getSubnetNeurons',
      args: [netuid],
      blockNumber: block,
    });
    const neurons = await enrichNeurons(client, netuid, records, block);
    return { netuid, block, neurons: neurons.sort((a, b) => a.uid - b.uid) };
  } catch (err) {
    throw toChainError(err, `metagraph of subnet ${netuid}`);
  }
}

/** Does this log concern `netuid`? Staking logs without a netuid (stake/unstake/claim) do not. */
function touches(log: Log & { args?: Record<string, unknown> }, netuid: number): boolean {
  const args = log.args ?? {};
  return args.netuid === undefined ? false : Number(args.netuid) === netuid;
}

/**
 * Calls `onChange` with a fresh snapshot now and after every block whose events touch the subnet.
 * Polls at the client's interval; stops when `signal` aborts. Errors go to `onError` and polling goes on.
 */
export function watchMetagraph(
  client: ChainClient,
  params: { netuid: number },
  handlers: { onChange: (m: Metagraph) => void; onError?: (err: Error) => void; signal: AbortSignal },
): void {
  const netuid = checkNetuid(params.netuid);
  let pending = false;
  let again = false;
  const refresh = async () => {
    if (pending) {
      again = true;
      return;
    }
    pending = true;
    try {
      do {
        again = false;
        const m = await fetchMetagraph(client, { netuid });
        if (!handlers.signal.aborted) handlers.onChange(m);
      } while (again && !handlers.signal.aborted);
    } catch (err) {
      handlers.onError?.(err as Error);
    } finally {
      pending = false;
    }
  };
  const onLogs = (logs: readonly Log[]) => {
    if (logs.some((l) => touches(l as Log & { args?: Record<string, unknown> }, netuid))) void refresh();
  };
  const onError = (err: Error) => handlers.onError?.(toChainError(err, 'watching metagraph events'));
  const unwatch = [
    client.public.watchContractEvent({
      address: client.contracts.neuronRegistry,
      abi: neuronRegistryAbi,
      onLogs,
      onError,
    }),
    client.public.watchContractEvent({ address: client.contracts.staking, abi: stakingAbi, onLogs, onError }),
    client.public.watchContractEvent({ address: client.contracts.weights, abi: weightsAbi, onLogs, onError }),
    client.public.watchContractEvent({
      address: client.contracts.subnetRegistry,
      abi: subnetRegistryAbi,
      onLogs,
      onError,
    }),
  ];
  handlers.signal.addEventListener(
    'abort',
    () => {
      for (const u of unwatch) u();
    },
    { once: true },
  );
  void refresh();
}
