/**
 * The text the generated bigram models learn from: the repository's own docs (README.md and docs/*.md),
 * with a built-in paragraph for directories that have none. Reads files only; never writes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** README.md and docs/*.md under `dir` (sorted, joined by newlines), or undefined when there are none. */
export function docsCorpus(dir = '.'): string | undefined {
  const parts: string[] = [];
  try {
    parts.push(readFileSync(join(dir, 'README.md'), 'utf8'));
  } catch {}
  try {
    for (const f of readdirSync(join(dir, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .sort())
      parts.push(readFileSync(join(dir, 'docs', f), 'utf8'));
  } catch {}
  return parts.length === 0 ? undefined : parts.join('\n');
}

/** A few sentences of English for a bigram model when no docs are at hand. */
export const BUILT_IN_CORPUS = [
  'A subnet is a market in which miners serve inference and validators check their work.',
  'Clients call an API that looks like the one they already know, and the best miners answer them.',
  'Validators route each request to a miner, score the answers and agree on the scores at the end of every epoch.',
  'The chain is the ledger: it holds the stake, the registrations, the weights and the emissions of every subnet.',
  'A miner chooses its own backend, from a small generated model to a large one served on a graphics card.',
  'Every part of the node talks to the others through one typed interface, so each can run in its own process.',
].join('\n');
