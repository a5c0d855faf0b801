// The one parser of numeric command-line options: commander calls it while parsing, so `--seed abc`
// fails before anything runs, with the option named, and exits 2 like every other usage error.
import { InvalidArgumentError } from 'commander';

/** An integer option within [min, max]; "abc", "1.5", "1e3", "" and out-of-range values are refused. */
export function integerOption(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const v = value.trim();
    const n = Number(v);
    if (!/^[+-]?\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(
        `expected an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`}, not "${value}".`,
      );
    return n;
  };
}

/** A finite number >= min, or one of `words` (mapped to its number), e.g. `--speed max`. */
export function numberOption(min: number, words: Record<string, number> = {}): (value: string) => number {
  return (value) => {
    const v = value.trim();
    const word = words[v];
    if (word !== undefined) return word;
    const n = Number(v);
    if (v === '' || !Number.isFinite(n) || n < min) {
      const alt = Object.keys(words);
      throw new InvalidArgumentError(
        `expected a number >= ${min}${alt.length ? ` or ${alt.join(', ')}` : ''}, not "${value}".`,
      );
    }
    return n;
  };
}

/** Commander's usage errors (bad option value, unknown option, missing argument) exit with this. */
export const USAGE_EXIT_CODE = 2;
