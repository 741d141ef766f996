/**
 * Synthetic challenge prompts: a deterministic function of a seed (mulberry32 over a fixed word list), so a
 * verification record's seed is enough to rebuild its prompt. Pure; never touches the network.
 */

/** Words prompts are drawn from: common English, so any text model has something to continue. */
export const CHALLENGE_WORDS: readonly string[] = [
  'the',
  'quick',
  'brown',
  'fox',
  'jumps',
  'over',
  'lazy',
  'dog',
  'a',
  'river',
  'runs',
  'through',
  'old',
  'town',
  'where',
  'people',
  'walk',
  'each',
  'morning',
  'to',
  'market',
  'and',
  'buy',
  'bread',
  'with',
  'fresh',
  'milk',
  'from',
  'farm',
  'near',
  'hill',
  'under',
  'bright',
  'sky',
  'of',
  'summer',
  'light',
  'children',
  'play',
  'in',
  'green',
  'fields',
  'while',
  'birds',
  'sing',
  'songs',
  'about',
  'rain',
  'wind',
  'stone',
  'house',
  'door',
  'window',
  'table',
  'book',
  'story',
  'long',
  'night',
  'star',
  'moon',
  'sea',
];

/** mulberry32: a small deterministic PRNG in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The prompt of challenge `seed`: 4 to 11 words of {@link CHALLENGE_WORDS}, space-separated. */
export function challengePrompt(seed: number, words: readonly string[] = CHALLENGE_WORDS): string {
  if (words.length === 0) throw new RangeError('challengePrompt needs a non-empty word list');
  const rnd = mulberry32(seed);
  const n = 4 + Math.floor(rnd() * 8);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(words[Math.floor(rnd() * words.length)] as string);
  return out.join(' ');
}

/** A fresh challenge seed (u32), from the platform's CSPRNG so miners cannot predict it. */
export function newSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0] as number;
}
