/**
 * A deliberately broken EpochConsensus for the simulator's own test: the real source with its finalisation
 * threshold lowered from two thirds to one half (`3 * x >= 2 * total` becomes `2 * x >= total`), compiled
 * with solc-js the way packages/contracts/scripts/compile.ts compiles the suite. Test code only: the broken
 * contract exists to prove the simulator's safety check catches what the contract no longer refuses.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import solc from 'solc';
import type { Hex } from 'viem';

const require = createRequire(import.meta.url);
// @subnet/contracts resolves to packages/contracts/dist/src/index.js; its sources are in packages/contracts/contracts.
const contractsDir = join(dirname(require.resolve('@subnet/contracts')), '..', '..', 'contracts');
const openZeppelinDir = dirname(require.resolve('@openzeppelin/contracts/package.json'));

/** The real source with every two-thirds test turned into a one-half test; throws if none was found. */
export function halfThresholdSource(): string {
  const source = readFileSync(join(contractsDir, 'EpochConsensus.sol'), 'utf8');
  const twoThirds = /3 \* ([A-Za-z_]+) >= 2 \* (uint256\([A-Za-z_.]+\))/g;
  const found = source.match(twoThirds)?.length ?? 0;
  if (found < 3) throw new Error(`expected the 2/3 tests in EpochConsensus.sol, found ${found}`);
  return source.replace(twoThirds, '2 * $1 >= $2');
}

/** Compiles EpochConsensus from `source` (its imports from the real contracts/ folder); creation bytecode. */
export function compileEpochConsensus(source: string): Hex {
  const findImports = (path: string): { contents: string } | { error: string } => {
    const oz = '@openzeppelin/contracts/';
    try {
      if (path.startsWith(oz))
        return { contents: readFileSync(join(openZeppelinDir, path.slice(oz.length)), 'utf8') };
      if (path.startsWith('contracts/'))
        return { contents: readFileSync(join(contractsDir, path.slice('contracts/'.length)), 'utf8') };
    } catch {}
    return { error: `import not found: ${path}` };
  };
  const input = {
    language: 'Solidity',
    sources: { 'contracts/EpochConsensus.sol': { content: source } },
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: 'cancun',
      outputSelection: { 'contracts/EpochConsensus.sol': { EpochConsensus: ['evm.bytecode.object'] } },
    },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports })) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts?: Record<string, Record<string, { evm: { bytecode: { object: string } } }>>;
  };
  const errors = (out.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length > 0) throw new Error(errors.map((e) => e.formattedMessage).join('\n'));
  const object = out.contracts?.['contracts/EpochConsensus.sol']?.EpochConsensus?.evm.bytecode.object;
  if (object === undefined || object === '') throw new Error('solc produced no EpochConsensus bytecode');
  return `0x${object}`;
}
