/**
 * Network files: where a subnet's contracts live on a chain. The devnet writes one
 * (`<dataDir>/devnet.json`); production uses a preset with the deployed addresses.
 */
import { readFile } from 'node:fs/promises';
import { isAddress } from 'viem';
import { z } from 'zod';
import { ChainError, ChainErrorCode } from './errors.js';

const address = z
  .string()
  .refine((v) => isAddress(v, { strict: false }), 'not a 0x-prefixed 20-byte address');

export const ContractAddressesSchema = z.object({
  token: address,
  staking: address,
  subnetRegistry: address,
  neuronRegistry: address,
  weights: address,
  epochConsensus: address,
  paymentToken: address.optional().describe('The payment ERC-20 (devnet PaymentToken; USDC in production)'),
  pricing: address.optional().describe('The Pricing contract (per-model inference prices)'),
  paymentEscrow: address.optional().describe('The PaymentEscrow contract (prepaid accounts)'),
});
export type ContractAddresses = { [K in keyof z.output<typeof ContractAddressesSchema>]: `0x${string}` };

export const NeuronEntrySchema = z.object({
  uid: z.number().int().min(0),
  role: z.enum(['validator', 'miner']),
  wallet: z.string(),
  hotkey: address,
  coldkey: address,
  peerId: z.string().optional().describe('libp2p peer id (derived from the hotkey)'),
  multiaddrs: z.array(z.string()).optional().describe('libp2p addresses the neuron listens on'),
});

/** A network file; the devnet's also lists its subnet and neurons, and once its nodes are up, its gateway. */
export const NetworkSchema = z.object({
  name: z.string().default('custom'),
  rpcUrl: z.string().optional(),
  chainId: z.number().int().positive(),
  contracts: ContractAddressesSchema,
  deployedAtBlock: z.number().int().min(0).default(0),
  netuid: z.number().int().min(1).optional(),
  neurons: z.array(NeuronEntrySchema).optional(),
  gatewayUrl: z.string().optional().describe("The devnet validator's OpenAI-compatible API root"),
  apiKey: z.string().optional().describe('An API key of that gateway (devnet only: written in clear)'),
  dashboardUrl: z.string().optional().describe("The devnet validator's dashboard (on the gateway's port)"),
  adminToken: z.string().optional().describe("That dashboard's admin token (devnet only: written in clear)"),
  payments: z
    .object({
      token: address,
      escrow: address,
      pricing: address,
      clientWallet: z.string().describe('The funded dev wallet that pays (its coldkey)'),
      client: address.describe("That wallet's coldkey address"),
    })
    .optional()
    .describe('The devnet payment rail: contracts and the funded client account'),
});
export type Network = z.output<typeof NetworkSchema> & { contracts: ContractAddresses };

/** Reads and validates a network file. */
export async function loadNetwork(file: string, opts: { signal?: AbortSignal } = {}): Promise<Network> {
  let text: string;
  try {
    text = await readFile(file, { encoding: 'utf8', signal: opts.signal });
  } catch (err) {
    const hint =
      (err as NodeJS.ErrnoException).code === 'ENOENT'
        ? ' (start the devnet with `npm start`, or point chain.network at a network file)'
        : '';
    throw new ChainError(ChainErrorCode.NETWORK_FILE, `cannot read network file ${file}${hint}`, {
      cause: err,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ChainError(ChainErrorCode.NETWORK_FILE, `network file ${file} is not JSON`, { cause: err });
  }
  const parsed = NetworkSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ChainError(ChainErrorCode.NETWORK_FILE, `network file ${file} is invalid: ${issues}`);
  }
  return parsed.data as Network;
}
