/**
 * The metagraph: every neuron of a subnet (uid, hotkey, coldkey, role, stake, permit, addresses,
 * registration block, last update) with its line of the latest finalised epoch's results (incentive,
 * dividends, trust, consensus, emission), fetched in a few batched calls, and kept current by refetching
 * whenever a contract event touches the subnet (registrations, stake moves, weights, service info) and
 * rereading the results only when an epoch is finalised.
 */
import {
  epochConsensusAbi,
  neuronRegistryAbi,
  stakingAbi,
  subnetRegistryAbi,
  weightsAbi,
} from '@subnet/contracts';
import { sleep } from '@subnet/utils';
import { isAddressEqual, parseEventLogs } from 'viem';
import { latestResultsByUid } from './actions/getEpochResults.js';
import { enrichNeurons } from './actions/getSubnetNeurons.js';
import type { ChainClient } from './client.js';
import { toChainError } from './errors.js';
import type { EpochResult, Metagraph } from './types.js';
import { checkNetuid } from './validate.js';

/**
 * One consistent snapshot, read at a single block. `results` (the latest finalised epoch's, by uid) are read
 * at that block unless given.
 */
export async function fetchMetagraph(
  client: ChainClient,
  params: { netuid: number; results?: ReadonlyMap<number, EpochResult> },
): Promise<Metagraph> {
  const netuid = checkNetuid(params.netuid);
  try {
    const block = await client.public.getBlockNumber({ cacheTime: 0 });
    const [records, results] = await Promise.all([
      client.public.readContract({
        address: client.contracts.neuronRegistry,
        abi: neuronRegistryAbi,
        functionName: 'getSubnetNeurons',
        args: [netuid],
        blockNumber: block,
      }),
      params.results ?? latestResultsByUid(client, netuid, block),
    ]);
    const neurons = await enrichNeurons(client, netuid, records, results, block);
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

const metagraphEventsAbi = [
  ...neuronRegistryAbi,
  ...stakingAbi,
  ...weightsAbi,
  ...subnetRegistryAbi,
  ...epochConsensusAbi,
].filter((item) => item.type === 'event');

/**
 * Calls `onChange` with a fresh snapshot now and after every block whose events touch the subnet.
 * One loop polls at the client's interval: the latest block, then one `eth_getLogs` over the five contracts
 * for the blocks since the last poll. Of the epoch contract's events only `EpochFinalised` matters: it
 * rereads the results (kept between snapshots otherwise); proposals, attestations and claims change nothing
 * shown (a claim to stake shows up as the staking contract's `StakeCredited`).
 * (viem's `watchContractEvent` installs a filter per contract and, when the RPC is down, its unwatch throws
 * while uninstalling the filter and leaves its poller running forever; this loop owns its only timer and
 * ends on `signal`.) Errors go to `onError` and polling goes on.
 */
export function watchMetagraph(
  client: ChainClient,
  params: { netuid: number },
  handlers: { onChange: (m: Metagraph) => void; onError?: (err: Error) => void; signal: AbortSignal },
): void {
  const netuid = checkNetuid(params.netuid);
  const { signal } = handlers;
  const epochConsensus = client.contracts.epochConsensus;
  const address = [
    client.contracts.neuronRegistry,
    client.contracts.staking,
    client.contracts.weights,
    client.contracts.subnetRegistry,
    epochConsensus,
  ];
  let results: ReadonlyMap<number, EpochResult> | undefined;
  const emit = async (refreshResults: boolean) => {
    if (refreshResults || results === undefined) results = await latestResultsByUid(client, netuid);
    const m = await fetchMetagraph(client, { netuid, results });
    if (!signal.aborted) handlers.onChange(m);
  };
  void (async () => {
    let seen: bigint | undefined;
    while (!signal.aborted) {
      try {
        const block = await client.public.getBlockNumber({ cacheTime: 0 });
        if (seen === undefined) {
          await emit(true);
          seen = block;
        } else if (block > seen) {
          const logs = await client.public.getLogs({ address, fromBlock: seen + 1n, toBlock: block });
          const events = parseEventLogs({ abi: metagraphEventsAbi, logs, strict: false }).filter((e) =>
            touches(e, netuid),
          );
          const fromEpoch = (e: { address: string }) =>
            isAddressEqual(e.address as `0x${string}`, epochConsensus);
          const finalised = events.some((e) => fromEpoch(e) && e.eventName === 'EpochFinalised');
          if (finalised || events.some((e) => !fromEpoch(e))) await emit(finalised);
          seen = block;
        }
      } catch (err) {
        if (!signal.aborted) handlers.onError?.(toChainError(err, 'watching metagraph events'));
      }
      await sleep(client.public.pollingInterval, { signal }).catch(() => {});
    }
  })();
}
