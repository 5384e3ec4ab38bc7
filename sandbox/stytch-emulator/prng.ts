/**
 * mulberry32: a tiny seeded PRNG with a 2^32 period. Good enough to spread injected faults; used
 * so a given seed and request order always give the same outcomes.
 *
 * @returns a function giving the next number in [0, 1).
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
