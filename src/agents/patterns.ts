// Glob patterns for namespaces and workloads (`*` any run of characters, `?` one), compiled once.

export class PatternSet {
  readonly #res: RegExp[];

  constructor(patterns: readonly string[]) {
    this.#res = patterns.map(
      (p) =>
        new RegExp(
          `^${p
            .split('')
            .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/-]/g, '\\$&')))
            .join('')}$`,
        ),
    );
  }

  matches(s: string): boolean {
    for (const re of this.#res) if (re.test(s)) return true;
    return false;
  }
}
