import {
  type HotkeyConsent,
  hotkeyBindingTypedData,
  NO_CONSENT,
  neuronRegistryAbi,
  subnetTokenAbi,
} from '@subnet/contracts';
import { type Account, type Address, type Hash, isAddressEqual, parseEventLogs, zeroAddress } from 'viem';
import { type ChainClient, requireWallet } from '../client.js';
import { ChainError, ChainErrorCode, toChainError } from '../errors.js';
import { sendContractTx } from '../tx.js';
import { checkAddress, checkNetuid } from '../validate.js';
import { checkServiceInfo } from './updateServiceInfo.js';

/** How long a consent signed here stays valid (seconds after the latest block's timestamp). */
export const CONSENT_VALIDITY_S = 3600n;

/** What {@link registerNeuron} takes. */
export interface RegisterNeuronParameters {
  netuid: number;
  hotkey: Address;
  role: 'validator' | 'miner';
  peerId?: string;
  multiaddrs?: readonly string[];
  metadata?: string;
  /**
   * The hotkey's signing account: at its first registration (bound to no coldkey yet) it signs its consent to
   * the binding to this client's coldkey (EIP-712 `HotkeyBinding`, valid for {@link CONSENT_VALIDITY_S}).
   */
  hotkeyAccount?: Account;
  /** A consent the hotkey signed elsewhere (`hotkeyBindingTypedData` of @subnet/contracts), instead. */
  consent?: HotkeyConsent;
}

/**
 * Registers `hotkey` in a subnet as a miner or validator (`NeuronRegistry.registerNeuron`), signed by the
 * coldkey, after approving the current demand-priced burn (`NeuronRegistry.registrationBurn`,
 * `SubnetToken.approve`). A hotkey bound to no coldkey yet needs its consent: `hotkeyAccount` signs it, or
 * `consent` carries it; without either the call fails with INVALID_INPUT before sending anything.
 */
export async function registerNeuron(
  client: ChainClient,
  params: RegisterNeuronParameters,
): Promise<{ uid: number; hash: Hash; burn: bigint }> {
  const netuid = checkNetuid(params.netuid);
  const hotkey = checkAddress(params.hotkey, 'hotkey');
  const info = checkServiceInfo(params);
  const coldkey = requireWallet(client).account.address;
  let burn: bigint;
  let bound: Address;
  try {
    [burn, bound] = await Promise.all([
      client.public.readContract({
        address: client.contracts.neuronRegistry,
        abi: neuronRegistryAbi,
        functionName: 'registrationBurn',
        args: [netuid],
      }),
      client.public.readContract({
        address: client.contracts.neuronRegistry,
        abi: neuronRegistryAbi,
        functionName: 'hotkeyColdkey',
        args: [hotkey],
      }),
    ]);
  } catch (err) {
    throw toChainError(err, 'registerNeuron');
  }
  const consent = isAddressEqual(bound, zeroAddress)
    ? (params.consent ?? (await signConsent(client, hotkey, coldkey, params.hotkeyAccount)))
    : NO_CONSENT;
  if (burn > 0n) {
    await sendContractTx(client, {
      address: client.contracts.token,
      abi: subnetTokenAbi,
      functionName: 'approve',
      args: [client.contracts.neuronRegistry, burn],
    });
  }
  const tx = await sendContractTx(client, {
    address: client.contracts.neuronRegistry,
    abi: neuronRegistryAbi,
    functionName: 'registerNeuron',
    args: [netuid, hotkey, params.role === 'validator', info.peerId, info.multiaddrs, info.metadata, consent],
  });
  // The uid comes from the mined event: a simulation's answer can be stale when registrations race.
  const [event] = parseEventLogs({
    abi: neuronRegistryAbi,
    logs: tx.receipt.logs,
    eventName: 'NeuronRegistered',
  });
  if (event === undefined)
    throw new ChainError(ChainErrorCode.TX_FAILED, `registerNeuron ${tx.hash}: no NeuronRegistered event`);
  return { uid: Number(event.args.uid), hash: tx.hash, burn };
}

// The hotkey's EIP-712 consent to its binding to `coldkey`, valid for CONSENT_VALIDITY_S from the latest block.
async function signConsent(
  client: ChainClient,
  hotkey: Address,
  coldkey: Address,
  account: Account | undefined,
): Promise<HotkeyConsent> {
  if (account === undefined || account.signTypedData === undefined)
    throw new ChainError(
      ChainErrorCode.INVALID_INPUT,
      `hotkey ${hotkey} is not bound to a coldkey yet: its first registration needs the hotkey's signature ` +
        '(pass the hotkey account, or a consent it signed)',
    );
  if (!isAddressEqual(account.address, hotkey))
    throw new ChainError(
      ChainErrorCode.INVALID_INPUT,
      `the hotkey account ${account.address} is not the hotkey ${hotkey} being registered`,
    );
  let deadline: bigint;
  try {
    deadline = (await client.public.getBlock({ blockTag: 'latest' })).timestamp + CONSENT_VALIDITY_S;
  } catch (err) {
    throw toChainError(err, 'registerNeuron');
  }
  const signature = await account.signTypedData(
    hotkeyBindingTypedData({
      chainId: client.chain.id,
      neuronRegistry: client.contracts.neuronRegistry,
      hotkey,
      coldkey,
      deadline,
    }),
  );
  return { deadline, signature };
}
