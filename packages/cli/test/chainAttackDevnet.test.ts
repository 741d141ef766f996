/**
 * Issue 14 end to end: the devnet's three honest validators beside two dishonest ones, each a real chain
 * actor driven by this test with its own wallet (registered through the CLI):
 * - a **weight copier** (250 SUB) that commits the commit hash of validator1 in every epoch and, once
 *   validator1 reveals, replays validator1's reveal (uids, weights and salt read from the reveal
 *   transaction's calldata). The hash binds the committer, so the replay reverts with `CommitHashMismatch`:
 *   the copier never gets weights in and earns lower dividends per stake than the honest validators.
 * - a **wrong-root proposer** (1,200 SUB: drawn in about a quarter of the epochs, under a third of the stake)
 *   that, whenever it is the drawn proposer, proposes a root that pays the whole epoch to itself. The honest
 *   validators do not attest it; after the sub-deadline one of them proposes the right root as a competing
 *   one, the others attest it, and the epoch finalises anyway. The wrong-root proposer is struck and slashed.
 * The honest validators hold 3,000 of the 4,450 SUB staked, over two thirds: every epoch finalises.
 *
 * One `it` per property, on what the first one collects, so a run says which hold.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSubnetClient, loadNetwork, type SubnetClient } from '@subnet/chain';
import {
  buildEpochTree,
  encodeResults,
  OWNER_UID,
  resultsHash,
  subnetTokenAbi,
  weightsAbi,
} from '@subnet/contracts';
import type { EngineApi, EngineClient } from '@subnet/engine-api';
import { freePortRange } from '@subnet/utils';
import { createWalletStore } from '@subnet/wallet';
import { type Address, BaseError, ContractFunctionRevertedError, decodeFunctionData, type Hex } from 'viem';
import {
  type CliRun,
  devnetEngine,
  devnetPids,
  firstLine,
  runCli,
  setEthBalance,
  spawnDevnet,
  stopDevnet,
} from './devnetProcess.js';

const TEMPO = 10;
const SUB = 10n ** 18n;
/** Epochs to watch after the attackers are in, at least; more until the wrong-root proposer was drawn. */
const MIN_EPOCHS = 4;
/**
 * Stakes in SUB: the honest validators hold 1,000 each, 3,000 of 4,450 (67.4 %): the right root reaches two
 * thirds without either attacker. The wrong-root proposer is drawn in 27 % of the epochs.
 */
const HONEST_STAKE = 1000;
const COPIER_STAKE = 250n;
const WRONG_STAKE = 1200n;

interface Info {
  rpcUrl: string;
  anvilPid: number;
  nodes: { wallet: string; role: string; uid: number; pid: number; url: string }[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PASSWORD = 'chain-attack-password';
const cli = (args: string[], cwd: string, rpcUrl: string) => runCli(args, cwd, rpcUrl, PASSWORD);

/** The custom error a call reverted with, by name ('' when it did not revert with one). */
function revertName(err: unknown): string {
  if (!(err instanceof BaseError)) return '';
  const reverted = err.walk((e) => e instanceof ContractFunctionRevertedError);
  return reverted instanceof ContractFunctionRevertedError ? (reverted.data?.errorName ?? '') : '';
}

describe('chain attacks on the devnet: a weight copier and a wrong-root proposer', {
  timeout: 480_000,
}, () => {
  let dir: string;
  let proc: ChildProcess | undefined;
  let info: Info;
  let engine: EngineClient<EngineApi>;

  // What the run collects; each `it` below asserts one property of it.
  const epochs = new Map<number, { status: string; dividends: Map<number, number> }>();
  const copier = { commits: 0, replays: [] as string[], uid: -1 };
  const wrong = { uid: -1, hotkey: '' as Address, proposed: [] as number[], stakeBefore: 0n, stakeAfter: 0n };
  const honestUids = [0, 1, 2];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'subnet-chain-attack-'));
    proc = spawnDevnet(dir, {
      SUBNET_DEVNET__GATEWAY_PORT: '0',
      SUBNET_DEVNET__P2P_BASE_PORT: String(await freePortRange(40)),
      SUBNET_DEVNET__TEMPO: String(TEMPO),
    });
    try {
      info = JSON.parse(await firstLine(proc)) as Info;
    } catch (err) {
      await stopDevnet(proc);
      throw err;
    }
    const validator = info.nodes.find((n) => n.wallet === 'validator2');
    assert.ok(validator !== undefined);
    engine = await devnetEngine(dir, validator.url);
  });
  after(
    async () => {
      await engine?.close();
      if (proc !== undefined) await stopDevnet(proc, devnetPids(info));
      rmSync(dir, { recursive: true, force: true });
    },
    { timeout: 120_000 },
  );

  it('runs: both attackers register and act in every epoch; the epochs are watched', async () => {
    const rpcUrl = info.rpcUrl;
    const network = await loadNetwork(join(dir, '.subnet', 'devnet.json'));
    const base = { rpcUrl, chainId: network.chainId, contracts: network.contracts, pollingIntervalMs: 100 };
    const read = createSubnetClient(base);
    const pub = read.chain.public;
    const run = async (args: string[], what: string): Promise<string> => {
      const r: CliRun = await cli(args, dir, rpcUrl);
      assert.equal(r.code, 0, `${what}: ${r.stderr}`);
      return r.stdout;
    };

    // The two attackers' wallets: gas from anvil, SUB from the devnet owner, stake allocated, registered.
    const devPassword = readFileSync(join(dir, '.subnet', 'devnet', 'wallet-password'), 'utf8').trim();
    const owner = read.withAccount(
      await createWalletStore({ dataDir: join(dir, '.subnet') }).unlock('owner', 'coldkey', devPassword),
    );
    const store = createWalletStore({ dataDir: join(dir, '.subnet') });
    const join_ = async (name: string, stake: bigint): Promise<{ uid: number; sdk: SubnetClient }> => {
      await run(['wallet', 'create', name, '--kdf', 'light'], `wallet create ${name}`);
      const shown = JSON.parse(await run(['--json', 'wallet', 'show', name], 'wallet show')) as {
        coldkey: { address: Address };
        hotkeys: { address: Address }[];
      };
      const hotkey = shown.hotkeys[0]?.address as Address;
      for (const address of [shown.coldkey.address, hotkey]) {
        await setEthBalance(info.rpcUrl, address);
      }
      const fund = await owner.chain.wallet?.writeContract({
        address: network.contracts.token,
        abi: subnetTokenAbi,
        functionName: 'transfer',
        // 100 SUB over the stake for the registration burn (priced by demand; the devnet caps it at 100 SUB).
        args: [shown.coldkey.address, (stake + 100n) * SUB],
      });
      await pub.waitForTransactionReceipt({ hash: fund as Hex });
      const amount = String(stake);
      await run(['stake', 'add', '--amount', amount, '--wallet', name], 'stake add');
      await run(['stake', 'allocate', '--amount', amount, '--netuid', '1', '--wallet', name], 'allocate');
      await run(['neuron', 'register', '--netuid', '1', '--role', 'validator', '--wallet', name], 'register');
      const uid = (await read.getNeuronInfo(1, hotkey)).uid;
      return { uid, sdk: read.withAccount(await store.unlock(name, 'default', PASSWORD)) };
    };
    const cp = await join_('copier', COPIER_STAKE);
    const wr = await join_('wrongroot', WRONG_STAKE);
    copier.uid = cp.uid;
    wrong.uid = wr.uid;
    wrong.hotkey = wr.sdk.address as Address;
    wrong.stakeBefore = (await read.getNeuronInfo(1, wrong.hotkey)).stake;

    const victim = 0; // validator1
    const stop = new AbortController();
    const weightsAddress = network.contracts.weights;

    // The copier: each epoch, validator1's commit hash as its own; then validator1's reveal replayed.
    const copying = (async () => {
      let copiedEpoch = -1n;
      const copied = new Set<bigint>();
      let replayedEpoch = -1n;
      let fromBlock = await pub.getBlockNumber();
      while (!stop.signal.aborted) {
        try {
          const commit = await pub.readContract({
            address: weightsAddress,
            abi: weightsAbi,
            functionName: 'getCommit',
            args: [1, victim],
          });
          if (commit.commitHash !== `0x${'0'.repeat(64)}` && commit.epoch > copiedEpoch) {
            await cp.sdk.chain.wallet?.writeContract({
              address: weightsAddress,
              abi: weightsAbi,
              functionName: 'commitWeights',
              args: [1, commit.commitHash],
            });
            copiedEpoch = commit.epoch;
            copied.add(commit.epoch);
            copier.commits++;
          }
          const to = await pub.getBlockNumber();
          const reveals = await pub.getContractEvents({
            address: weightsAddress,
            abi: weightsAbi,
            eventName: 'WeightsRevealed',
            args: { netuid: 1, uid: victim },
            fromBlock,
            toBlock: to,
          });
          fromBlock = to + 1n;
          for (const log of reveals) {
            // Only reveals of commits the copier copied (the first ones it sees may predate it).
            if ((log.args.epoch ?? 0n) <= replayedEpoch || !copied.has(log.args.epoch ?? 0n)) continue;
            replayedEpoch = log.args.epoch ?? 0n;
            // A rational copier replays only a reveal whose commit epoch is its own copy's: a copy that landed
            // an epoch late could only be revealed an epoch late (RevealTooEarly), which pays nothing either.
            const own = await pub.readContract({
              address: weightsAddress,
              abi: weightsAbi,
              functionName: 'getCommit',
              args: [1, copier.uid],
            });
            if (own.epoch !== log.args.epoch) continue;
            const tx = await pub.getTransaction({ hash: log.transactionHash });
            const { args } = decodeFunctionData({ abi: weightsAbi, data: tx.input });
            try {
              await pub.simulateContract({
                account: cp.sdk.chain.wallet?.account as never,
                address: weightsAddress,
                abi: weightsAbi,
                functionName: 'revealWeights',
                args: args as never,
              });
              copier.replays.push('accepted');
            } catch (err) {
              copier.replays.push(revertName(err) || (err as Error).message.slice(0, 120));
            }
          }
        } catch {
          // A transient read or a rate-limited commit: try again on the next round.
        }
        await sleep(500);
      }
    })();

    // The wrong-root proposer: whenever drawn, a root that pays the whole epoch to itself.
    const attacking = (async () => {
      const done = new Set<bigint>();
      while (!stop.signal.aborted) {
        try {
          const view = await read.getEpoch(1);
          if (
            view.status === 'awaiting' &&
            !done.has(view.epoch) &&
            view.proposer?.toLowerCase() === wrong.hotkey.toLowerCase()
          ) {
            done.add(view.epoch);
            const total = view.emission;
            const results = encodeResults([
              { uid: wrong.uid, incentive: 0, dividends: 65_535, trust: 65_535, consensus: 0, amount: total },
            ]);
            const tree = buildEpochTree(1, view.epoch, [
              { uid: wrong.uid, account: wrong.hotkey, amount: total },
              { uid: OWNER_UID, account: wrong.hotkey, amount: 0n },
            ]);
            await wr.sdk.proposeEpoch({
              netuid: 1,
              epoch: view.epoch,
              root: tree.root,
              resultsHash: resultsHash(results),
              total,
              results,
            });
            wrong.proposed.push(Number(view.epoch));
          }
        } catch {
          // Lost the window (the drawn proposer's exclusive blocks passed): the next epoch it is drawn in.
        }
        await sleep(300);
      }
    })();

    // Watch epochs from the first one that starts after both attackers are in.
    const { currentEpoch: first } = await read.getEpoch(1);
    const from = Number(first) + 1;
    const deadline = Date.now() + 360_000;
    try {
      for (;;) {
        const status = await engine.call('chain_getEpochV1', { netuid: 1 });
        for (let e = from; e < status.epoch; e++) {
          if (epochs.has(e)) continue;
          const view = await engine.call('chain_getEpochV1', { netuid: 1, epoch: e });
          if (view.status === 'expired') epochs.set(e, { status: 'expired', dividends: new Map() });
          if (view.status !== 'finalised') continue;
          const r = await engine.call('chain_getEpochResultsV1', { netuid: 1, epoch: e });
          epochs.set(e, {
            status: 'finalised',
            dividends: new Map(r.results.map((x) => [x.uid, x.dividends])),
          });
        }
        const settled = [...epochs.keys()].length;
        if (settled >= MIN_EPOCHS && wrong.proposed.some((e) => epochs.has(e))) break;
        assert.ok(
          Date.now() < deadline,
          `watched ${settled} epochs; the wrong-root proposer proposed in ${wrong.proposed}`,
        );
        await sleep(1000);
      }
    } finally {
      stop.abort();
      await Promise.all([copying, attacking]);
    }
    // The honest epoch agents report wrong voters once an epoch is final (outside its last two blocks).
    const slashDeadline = Date.now() + 60_000;
    do {
      wrong.stakeAfter = (await read.getNeuronInfo(1, wrong.hotkey)).stake;
      if (wrong.stakeAfter < wrong.stakeBefore) break;
      await sleep(1000);
    } while (Date.now() < slashDeadline);
  });

  it('epochs keep finalising: every watched epoch is finalised, none expired', () => {
    assert.ok(epochs.size >= MIN_EPOCHS, `watched ${epochs.size}`);
    const expired = [...epochs].filter(([, v]) => v.status !== 'finalised').map(([e]) => e);
    assert.deepEqual(expired, [], 'no epoch expired');
  });

  it('the copier’s replayed reveals revert with CommitHashMismatch; it earns less per stake', () => {
    assert.ok(copier.commits > 0, 'the copier committed copied hashes');
    assert.ok(copier.replays.length > 0, 'the copier replayed reveals');
    assert.deepEqual(new Set(copier.replays), new Set(['CommitHashMismatch']), `${copier.replays}`);
    // Per unit of stake, in the last two epochs watched.
    const late = [...epochs].slice(-2);
    for (const [e, { dividends }] of late) {
      for (const uid of honestUids) {
        assert.ok(
          (dividends.get(copier.uid) ?? 0) / Number(COPIER_STAKE) < (dividends.get(uid) ?? 0) / HONEST_STAKE,
          `epoch ${e}: copier uid ${copier.uid} ${dividends.get(copier.uid)} vs uid ${uid} ${dividends.get(uid)}`,
        );
      }
    }
  });

  it('the wrong-root proposer’s epochs finalise with another root, and it is slashed', async () => {
    assert.ok(wrong.proposed.length > 0, 'it was drawn and proposed');
    for (const e of wrong.proposed.filter((x) => epochs.has(x))) {
      const view = await engine.call('chain_getEpochV1', { netuid: 1, epoch: e });
      assert.equal(view.status, 'finalised');
      const r = await engine.call('chain_getEpochResultsV1', { netuid: 1, epoch: e });
      assert.ok(
        r.results.every((x) => x.uid !== wrong.uid || BigInt(x.emission) < BigInt(view.emission)),
        `epoch ${e} paid the wrong-root proposer everything`,
      );
    }
    // By the subnet's slash share (10 % by default) for each epoch it proposed a wrong root in, at most.
    const proposed = BigInt(wrong.proposed.length);
    assert.ok(
      wrong.stakeAfter < wrong.stakeBefore &&
        wrong.stakeAfter * 10n ** proposed >= wrong.stakeBefore * 9n ** proposed,
      `stake ${wrong.stakeBefore} before, ${wrong.stakeAfter} after ${proposed} wrong proposals`,
    );
  });
});
