// The one redactor: every output of the process (contexts, triage reports, Slack messages, audit
// entries, logs, the LLM prompt, the CLI's text) goes through it at the boundary where it leaves, as a
// deep walk over the document's strings — so text fields added to a document later are covered too.
// The dead-letter topic is the exception by design: it keeps a bad record's original bytes (README).
//
// It is process-wide (installRedactor at start-up, redactor() everywhere): the boundaries sit deep in
// stages that must not all take a new parameter, and the default (built-in patterns, on) is the safe one.
import type { Registry } from 'prom-client';
import { counterFromStats } from './metrics.ts';
import {
  BUILTIN_PATTERNS,
  isSecretKey,
  mayHoldCredential,
  PERSONAL_TRIGGER,
  REDACTED,
  type RedactPattern,
} from './redact-patterns.ts';

export { BUILTIN_PATTERN_NAMES, isSecretKey, REDACTED } from './redact-patterns.ts';

/** Where text leaves the process; the `output` label of kubetriage_redactions_total. */
export type RedactOutput =
  | 'context'
  | 'report'
  | 'slack'
  | 'audit'
  | 'log'
  | 'llm'
  | 'stdout'
  | 'alertmanager'
  | 'page';

export interface CustomPatternConfig {
  name: string;
  regex: string;
  flags?: string | undefined;
  replacement?: string | undefined;
}

export interface RedactConfig {
  enabled: boolean;
  patterns: CustomPatternConfig[];
  /** Built-in patterns switched off by name. */
  disable: string[];
  /** Outputs where emails and IP addresses are redacted too. */
  personalData: RedactOutput[];
}

export const DEFAULT_REDACT_CONFIG: RedactConfig = {
  enabled: true,
  patterns: [],
  disable: [],
  personalData: ['llm'],
};

/** Compiles a configured pattern; throws an Error with a readable message when it is unusable. */
export function compileCustomPattern(p: CustomPatternConfig): RedactPattern {
  const flags = p.flags ?? '';
  if (!/^[imsuv]*$/.test(flags)) throw new Error(`flags "${flags}" may only use i, m, s, u, v`);
  let re: RegExp;
  try {
    re = new RegExp(p.regex, `${flags}g`);
  } catch (err) {
    throw new Error(`invalid regular expression /${p.regex}/: ${(err as Error).message}`);
  }
  if (re.test('')) throw new Error(`/${p.regex}/ matches the empty string, so it would redact nothing`);
  re.lastIndex = 0;
  const by = p.replacement ?? `[REDACTED:${p.name}]`;
  const single = new RegExp(p.regex, flags);
  return { name: p.name, re, replace: (m) => m.replace(single, by) };
}

/**
 * Verdicts a json() caller keeps between documents that share parts (an incident context's evidence items
 * are the same objects in every revision until they change): an object in `sealed` is never mutated
 * once built, so once this redactor's walk left it unchanged it joins `clean` and is not walked again.
 * Kept per redactor (another one's patterns may differ).
 */
export interface CleanReuse {
  readonly sealed: { has(o: object): boolean };
  readonly clean: { has(o: object): boolean; add(o: object): unknown };
}

interface Memo {
  text: string;
  /** Pattern index → matches, for the metric on a memo hit; null when nothing matched. */
  hits: number[] | null;
}

/** The memo's answer for a string no pattern matched. */
const CLEAN: Memo = { text: '', hits: null };
/** Strings longer than this are redacted but not memoised (log bodies rarely repeat whole). */
const MEMO_MAX_CHARS = 4096;
/** Memo entries per scope; the memo is dropped whole when full (cheaper than LRU bookkeeping). */
const MEMO_MAX_ENTRIES = 50_000;
/** …and at most this many characters of keys in all (8 MiB of UTF-16): bounded memory, whatever arrives. */
const MEMO_MAX_TOTAL_CHARS = 4 * 1024 * 1024;
const MAX_DEPTH = 64;

export class Redactor {
  readonly enabled: boolean;
  readonly #credentials: RedactPattern[];
  readonly #withPersonal: RedactPattern[];
  readonly #personalIn: ReadonlySet<RedactOutput>;
  /** Configured patterns: their text is unknown, so the trigger pre-check cannot apply. */
  readonly #custom: boolean;
  // Evidence summaries repeat on every revision of an incident, ids and enum values in every
  // document: one memo per pattern set makes a repeated string a Map lookup.
  readonly #memo = new Map<string, Memo>();
  readonly #memoPersonal = new Map<string, Memo>();
  #memoChars = 0;
  /** The json() call's reusable verdicts (contexts only); undefined otherwise. */
  #reuse: CleanReuse | undefined;
  /** `${output}\u0000${pattern}` → redactions (read by the metric at scrape time). */
  readonly stats = new Map<string, number>();

  constructor(config: RedactConfig = DEFAULT_REDACT_CONFIG) {
    this.enabled = config.enabled;
    const off = new Set(config.disable);
    const builtins = BUILTIN_PATTERNS.filter((p) => !off.has(p.name));
    const custom = config.patterns.map(compileCustomPattern);
    this.#credentials = [...builtins.filter((p) => !p.personal), ...custom];
    this.#withPersonal = [...this.#credentials, ...builtins.filter((p) => p.personal)];
    this.#personalIn = new Set(config.personalData);
    this.#custom = custom.length > 0;
  }

  /** The pre-check reads a `#` as a digit itself (grouping keys mask digits): no probe copy here. */
  #mayMatch(s: string, personal: boolean): boolean {
    if (mayHoldCredential(s)) return true;
    return personal && PERSONAL_TRIGGER.test(s.includes('#') ? s.replace(/#/g, '0') : s);
  }

  /** One string, redacted for `output`. */
  text(s: string, output: RedactOutput): string {
    if (!this.enabled || s.length === 0) return s;
    const personal = this.#personalIn.has(output);
    const patterns = personal ? this.#withPersonal : this.#credentials;
    const memo = personal ? this.#memoPersonal : this.#memo;
    let m = memo.get(s);
    if (m === undefined) {
      // Most strings carry nothing any pattern could match: one scan instead of every pattern.
      m = !this.#custom && !this.#mayMatch(s, personal) ? CLEAN : run(patterns, s);
      if (s.length <= MEMO_MAX_CHARS) {
        this.#memoChars += s.length;
        if (memo.size >= MEMO_MAX_ENTRIES || this.#memoChars > MEMO_MAX_TOTAL_CHARS) {
          this.#memo.clear();
          this.#memoPersonal.clear();
          this.#memoChars = s.length;
        }
        memo.set(s, m);
      }
    }
    return m === CLEAN ? s : this.#count(output, patterns, m).text;
  }

  /**
   * Every string of a JSON-like value (keys too), redacted for `output`; values of keys that name a
   * secret (`password`, `apiKey`, `authorization` …) and a Kubernetes Secret's data go whole.
   * Copy-on-write: what needs no change is returned as is, so a clean document costs no allocation.
   */
  deep<T>(value: T, output: RedactOutput): T {
    if (!this.enabled) return value;
    return this.#walk(value, output, 0) as T;
  }

  /**
   * JSON text of `value` after deep redaction (the serialisation of every document output).
   *
   * The walk comes first: its strings are memo lookups (an incident's revisions repeat nearly all of
   * them), where the scan of the whole JSON text this replaced (lower-cased copy, trigger expression,
   * key-material runs) read every byte of every revision again. bench/pipeline.ts's 2711 contexts, fresh
   * documents per pass, one long-lived redactor (`node --expose-gc bench/redact-cost.ts`, 2 runs each,
   * old and new alternating): clean 27.9–28.1 → 19.6–21.2 µs a context, stringify (7.9–9.7) included;
   * with a credential in each 32.3–32.8 → 36.0–43.5 (the same steps in another order; rare, noisy).
   * A walk that changes nothing returns the value itself, whose JSON is what the scan let through. Only when it did change something does
   * the old scan decide, so the output stays byte for byte what it was: the walk turns an Error into
   * {type, message, stack} where JSON.stringify writes {}, and a document whose text the scan passes
   * as clean is still written as that text (test/core/redact-json.test.ts compares both paths).
   * The memo now holds the strings of every document, within its bounds (MEMO_MAX_*).
   */
  json(value: unknown, output: RedactOutput, reuse?: CleanReuse): string {
    if (!this.enabled) return JSON.stringify(value);
    this.#reuse = reuse;
    let redacted: unknown;
    try {
      redacted = this.#walk(value, output, 0);
    } finally {
      this.#reuse = undefined;
    }
    if (redacted === value) return JSON.stringify(value);
    const text = JSON.stringify(value);
    if (text === undefined) return text;
    if (!this.#custom && !this.#mayMatch(text, this.#personalIn.has(output))) return text;
    return JSON.stringify(redacted);
  }

  #walk(v: unknown, output: RedactOutput, depth: number): unknown {
    if (typeof v === 'string') return this.text(v, output);
    if (v === null || typeof v !== 'object') return v;
    if (depth >= MAX_DEPTH) return `[REDACTED:too-deep]`;
    const reuse = this.#reuse;
    if (reuse === undefined) return this.#walkObject(v, output, depth);
    // Found clean before and never changed since (sealed): the same walk would give the same answer.
    if (reuse.clean.has(v)) return v;
    const r = this.#walkObject(v, output, depth);
    if (r === v && reuse.sealed.has(v)) reuse.clean.add(v);
    return r;
  }

  #walkObject(v: object, output: RedactOutput, depth: number): unknown {
    if (Array.isArray(v)) {
      let out: unknown[] | undefined;
      for (let i = 0; i < v.length; i++) {
        const r = this.#walk(v[i], output, depth + 1);
        if (r !== v[i]) {
          out ??= v.slice();
          out[i] = r;
        }
      }
      return out ?? v;
    }
    if (v instanceof Error) {
      return {
        type: v.name,
        message: this.text(v.message, output),
        ...(v.stack ? { stack: this.text(v.stack, output) } : {}),
      };
    }
    if (ArrayBuffer.isView(v) || v instanceof Date || v instanceof Map || v instanceof Set) return v;
    const obj = v as Record<string, unknown>;
    const secretObject = obj.kind === 'Secret';
    let out: Record<string, unknown> | undefined;
    for (const k of Object.keys(obj)) {
      const val = obj[k];
      let r: unknown;
      if (secretObject && (k === 'data' || k === 'stringData') && val && typeof val === 'object') {
        r = this.#secretData(val as Record<string, unknown>, output);
      } else if ((typeof val === 'string' || typeof val === 'number') && val !== '' && isSecretKey(k)) {
        r = val === REDACTED ? val : REDACTED;
        if (r !== val) this.#inc(output, 'secret-value', 1);
      } else r = this.#walk(val, output, depth + 1);
      const rk = this.text(k, output);
      if (r !== val || rk !== k) {
        out ??= { ...obj };
        if (rk !== k) delete out[k];
        out[rk] = r;
      }
    }
    return out ?? v;
  }

  #secretData(data: Record<string, unknown>, output: RedactOutput): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(data)) out[this.text(k, output)] = REDACTED;
    this.#inc(output, 'kubernetes-secret', Object.keys(data).length);
    return out;
  }

  #count(output: RedactOutput, patterns: RedactPattern[], m: Memo): Memo {
    if (m.hits)
      for (let i = 0; i < m.hits.length; i++) if (m.hits[i]) this.#inc(output, patterns[i]!.name, m.hits[i]!);
    return m;
  }

  #inc(output: RedactOutput, pattern: string, n: number): void {
    if (n <= 0) return;
    const key = `${output}\u0000${pattern}`;
    this.stats.set(key, (this.stats.get(key) ?? 0) + n);
  }
}

/**
 * Applies every pattern in order; a candidate a pattern turns down is searched again one char on.
 * Grouping keys mask digits as `#` (`xoxb-#-#-AbC…`): patterns are matched on a probe where `#` reads as
 * a digit (same length, so positions hold) and the original text is cut at the matches.
 */
function run(patterns: RedactPattern[], s: string): Memo {
  let text = s;
  let hits: number[] | null = null;
  for (let i = 0; i < patterns.length; i++) {
    const p = patterns[i]!;
    const re = p.re;
    re.lastIndex = 0;
    const probe = text.includes('#') ? text.replace(/#/g, '0') : text;
    let out = '';
    let last = 0;
    let n = 0;
    for (let m = re.exec(probe); m !== null; m = re.exec(probe)) {
      const r = p.replace(m[0], m.slice(1), probe);
      if (r === undefined) {
        re.lastIndex = m.index + 1;
        continue;
      }
      out += text.slice(last, m.index) + r;
      last = m.index + m[0].length;
      n++;
      if (m[0].length === 0) re.lastIndex++;
    }
    if (n > 0) {
      text = out + text.slice(last);
      hits ??= new Array<number>(patterns.length).fill(0);
      hits[i] = n;
    }
  }
  return { text, hits };
}

let current = new Redactor();

/** The process's redactor: the built-in patterns until installRedactor is called with the config. */
export function redactor(): Redactor {
  return current;
}

/** Installs the configured redactor (at start-up) and, with a registry, its metric. */
export function installRedactor(config: RedactConfig, registry?: Registry): Redactor {
  current = new Redactor(config);
  if (registry && !registry.getSingleMetric('kubetriage_redactions_total'))
    counterFromStats(
      registry,
      'kubetriage_redactions_total',
      'Secrets (and, where configured, personal data) redacted from an output, by output and pattern',
      ['output', 'pattern'],
      function* () {
        for (const [k, n] of current.stats) {
          const [output, pattern] = k.split('\u0000') as [string, string];
          yield [{ output, pattern }, n];
        }
      },
    );
  return current;
}
