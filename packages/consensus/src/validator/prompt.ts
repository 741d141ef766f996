/**
 * Seeds and seeded randomness of the validator loop: a challenge seed from the platform's CSPRNG (miners
 * cannot predict it) and mulberry32, the small deterministic PRNG that draws a challenge's content from its
 * seed (`mix.ts`, `corpus.ts`), so a verification record's seed rebuilds it. Pure; never touches the network.
 */

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

/** A fresh challenge seed (u32), from the platform's CSPRNG so miners cannot predict it. */
export function newSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0] as number;
}
