// Log lines without a severity (container stdout) classified by what they say, so the decisive line
// ("Environment variable DEPLOY_ENV is undefined") is kept instead of dropped. Patterns: floors.logPatterns.
import type { FloorsConfig } from '../core/config-floors.ts';

// Only the head of a line is matched: the words that classify it come first, and a huge line must not
// cost a regular expression scan of all of it.
const HEAD = 512;

export class LogClassifier {
  readonly #patterns: { cls: string; re: RegExp }[];

  constructor(patterns: FloorsConfig['logPatterns']) {
    this.#patterns = patterns.map((p) => ({ cls: p.class, re: new RegExp(p.pattern, 'im') }));
  }

  /** The class of the first matching pattern, or '' when none matches. */
  classify(body: string): string {
    const head = body.length > HEAD ? body.slice(0, HEAD) : body;
    for (const p of this.#patterns) if (p.re.test(head)) return p.cls;
    return '';
  }
}
