import type { ChainClient } from '../client.js';
import { toChainError } from '../errors.js';

/** The latest block number (`eth_blockNumber`). */
export async function getCurrentBlock(client: ChainClient): Promise<bigint> {
  try {
    return await client.public.getBlockNumber({ cacheTime: 0 });
  } catch (err) {
    throw toChainError(err, 'getCurrentBlock');
  }
}
