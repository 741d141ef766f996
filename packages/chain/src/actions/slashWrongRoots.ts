import { epochConsensusAbi, slashingAbi } from '@subnet/contracts';
import { type Address, type Hash, zeroHash } from 'viem';
import type { ChainClient } from '../client.js';
import { ChainError, toChainError } from '../errors.js';
import { checkEpoch, checkNetuid } from '../validate.js';
import { slashingAddress } from './slashingAddress.js';
import { slashWrongRoot } from './slashWrongRoot.js';

/** One validator slashed for a wrong root. */
export interface WrongRootSlash {
  hotkey: Address;
  amount: bigint;
  hash: Hash;
}

/**
 * Slashes every validator that proposed or attested a root other than the one epoch `epoch` was finalised
 * with: reads the epoch's `EpochProposed` and `EpochAttested` events for who voted, keeps those whose stored
 * vote (`EpochConsensus.voteOf`) is not the final root's fingerprint and who are not slashed yet
 * (`Slashing.isSlashed`), and sends `Slashing.slashWrongRoot` for each. Nothing is sent for an epoch that is
 * not final or had no wrong vote; a slash another reporter sent first (`AlreadySlashed`) is skipped.
 */
export async function slashWrongRoots(
  client: ChainClient,
  params: { netuid: number; epoch: number | bigint },
): Promise<{ slashed: WrongRootSlash[] }> {
  const netuid = checkNetuid(params.netuid);
  const epoch = checkEpoch(params.epoch);
  const address = client.contracts.epochConsensus;
  const read = { address, abi: epochConsensusAbi } as const;
  let wrong: Address[];
  try {
    const root = await client.public.readContract({
      ...read,
      functionName: 'finalRoot',
      args: [netuid, epoch],
    });
    if (root === zeroHash) return { slashed: [] };
    const [info, latest, fingerprint, slashing] = await Promise.all([
      client.public.readContract({ ...read, functionName: 'getEpoch', args: [netuid, epoch] }),
      client.public.getBlockNumber({ cacheTime: 0 }),
      client.public.readContract({ ...read, functionName: 'rootFingerprint', args: [root] }),
      slashingAddress(client),
    ]);
    const range = {
      address,
      abi: epochConsensusAbi,
      args: { netuid, epoch },
      fromBlock: info.endBlock,
      toBlock: info.deadline < latest ? info.deadline : latest,
      strict: true,
    } as const;
    const [proposed, attested] = await Promise.all([
      client.public.getContractEvents({ ...range, eventName: 'EpochProposed' }),
      client.public.getContractEvents({ ...range, eventName: 'EpochAttested' }),
    ]);
    const voters = [
      ...new Set([...proposed.map((e) => e.args.proposer), ...attested.map((e) => e.args.validator)]),
    ];
    const judged = await Promise.all(
      voters.map(async (hotkey) => {
        const [[known, vote], slashed] = await Promise.all([
          client.public.readContract({ ...read, functionName: 'voteOf', args: [netuid, epoch, hotkey] }),
          client.public.readContract({
            address: slashing,
            abi: slashingAbi,
            functionName: 'isSlashed',
            args: [netuid, epoch, hotkey],
          }),
        ]);
        return known && vote !== fingerprint && !slashed ? hotkey : null;
      }),
    );
    wrong = judged.filter((h): h is Address => h !== null);
  } catch (err) {
    throw toChainError(err, `slashWrongRoots(${netuid}, ${epoch})`);
  }
  const slashed: WrongRootSlash[] = [];
  for (const hotkey of wrong) {
    try {
      const tx = await slashWrongRoot(client, { netuid, epoch, hotkey });
      slashed.push({ hotkey, amount: tx.amount, hash: tx.hash });
    } catch (err) {
      if (err instanceof ChainError && err.errorName === 'AlreadySlashed') continue;
      throw err;
    }
  }
  return { slashed };
}
