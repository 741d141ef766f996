/**
 * The metagraph: every neuron of a subnet (uid, hotkey, coldkey, role, stake, permit, addresses,
 * registration block, last update, emission) fetched in a few batched calls, and kept current by
 * refetching whenever a contract event touches the subnet (registrations, stake moves, weights, service
 * info, emissions). Later issues add incentive, dividends, trust and consensus from the epoch results.
 */
import { neuronRegistryAbi, stakingAbi, subnetRegistryAbi, weightsAbi } from '@subnet/contracts';
import { sleep } from '@subnet/utils';
import { parseEventLogs } from 'viem';
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
function touches(log: { args?: unknown }, netuid: number): boolean {
  const args = (log.args ?? {}) as Record<string, unknown>;
  return args.netuid === undefined ? false : Number(args.netuid) === netuid;
}

const metagraphEventsAbi = [...neuronRegistryAbi, ...stakingAbi, ...weightsAbi, ...subnetRegistryAbi].filter(
  (item) => item.type === 'event',
);

/**
 * Calls `onChange` with a fresh snapshot now and after every block whose events touch the subnet.
 * One loop polls at the client's interval: the latest block, then one `eth_getLogs` over the four contracts
 * for the blocks since the last poll. (viem's `watchContractEvent` installs a filter per contract and, when
 * the RPC is down, its unwatch throws while uninstalling the filter and leaves its poller running forever;
 * this loop owns its only timer and ends on `signal`.) Errors go to `onError` and polling goes on.
 */
export function watchMetagraph(
  client: ChainClient,
  params: { netuid: number },
  handlers: { onChange: (m: Metagraph) => void; onError?: (err: Error) => void; signal: AbortSignal },
): void {
  const netuid = checkNetuid(params.netuid);
  const { signal } = handlers;
  const address = [
    client.contracts.neuronRegistry,
    client.contracts.staking,
    client.contracts.weights,
    client.contracts.subnetRegistry,
  ];
  const emit = async () => {
    const m = await fetchMetagraph(client, { netuid });
    if (!signal.aborted) handlers.onChange(m);
  };
  void (async () => {
    let seen: bigint | undefined;
    while (!signal.aborted) {
      try {
        const block = await client.public.getBlockNumber({ cacheTime: 0 });
        if (seen === undefined) {
          await emit();
          seen = block;
        } else if (block > seen) {
          const logs = await client.public.getLogs({ address, fromBlock: seen + 1n, toBlock: block });
          const events = parseEventLogs({ abi: metagraphEventsAbi, logs, strict: false });
          if (events.some((e) => touches(e, netuid))) await emit();
          seen = block;
        }
      } catch (err) {
        if (!signal.aborted) handlers.onError?.(toChainError(err, 'watching metagraph events'));
      }
      await sleep(client.public.pollingInterval, { signal }).catch(() => {});
    }
  })();
}
