/**
 * A seeded pseudo-random generator (mulberry32), so a chaos run's fault
 * schedule, users, categories and AI answers are the same for the same seed.
 */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** A float in [min, max). */
  between(min: number, max: number): number;
  /** An integer in [0, n). */
  index(n: number): number;
  pick<T>(items: readonly T[]): T;
}

export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const index = (n: number) => Math.floor(next() * n);
  return {
    next,
    between: (min, max) => min + next() * (max - min),
    index,
    pick: (items) => items[index(items.length)] as (typeof items)[number],
  };
}

/** Independent streams from one seed: changing how many draws one part makes does not move the others. */
export function stream(seed: number, name: string): Random {
  let hash = 2166136261;
  for (const char of name) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619);
  return seededRandom((seed ^ hash) >>> 0);
}
