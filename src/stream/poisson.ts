// One-sided Poisson test: how likely k or more occurrences are when λ are expected. The noise floors
// use it to ask whether a workload's failures depart from its own baseline beyond chance.

// Lanczos approximation of ln Γ(x) (g = 7, n = 9): about 15 significant digits for x > 0.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

// Terms summed past k at most; the tail's terms shrink geometrically once i > λ, so this is plenty.
const MAX_TERMS = 20_000;

/**
 * P(X ≥ k) for X ~ Poisson(λ). Returns 1 when k ≤ λ (never significant: the caller only asks
 * whether the tail is below a small α), so the sum runs over the tail only, in log space.
 */
export function poissonTail(k: number, lambda: number): number {
  if (k <= 0) return 1;
  if (lambda <= 0) return 0;
  if (k <= lambda) return 1;
  let logTerm = -lambda + k * Math.log(lambda) - logGamma(k + 1);
  let sum = 0;
  for (let i = k; i < k + MAX_TERMS; i++) {
    const term = Math.exp(logTerm);
    sum += term;
    if (term < sum * 1e-12) break;
    logTerm += Math.log(lambda / (i + 1));
  }
  return Math.min(1, sum);
}
