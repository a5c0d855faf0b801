// `enrich.rules` compiled once at start-up (the config schema has already checked every pattern):
// ignore known-benign events, team overrides, grouping overrides.
import type { EnrichConfig } from '../core/config.ts';
import type { EventFacts } from '../stream/workload.ts';

type Rules = EnrichConfig['rules'];

export interface WorkloadFacts {
  namespace: string;
  kind: string;
  name: string;
}

type Test = ((s: string) => boolean) | undefined;

interface Compiled<T> {
  /** `id`, or the rule's config path (enrich.rules.ignore.2). */
  label: string;
  namespace: Test;
  kind: Test;
  name: Test;
  extra: T;
}

/** `*` any run of characters, `?` one character; anchored; any of the list. */
export function globTest(patterns: readonly string[] | undefined): Test {
  if (!patterns) return undefined;
  const res = patterns.map(
    (p) =>
      new RegExp(
        `^${p
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '.*')
          .replace(/\?/g, '.')}$`,
      ),
  );
  return (s) => res.some((re) => re.test(s));
}

function compile<
  R extends { id?: string | undefined; namespace?: string[]; kind?: string[]; name?: string[] },
  T,
>(list: readonly R[], path: string, extra: (r: R) => T): Compiled<T>[] {
  return list.map((r, i) => ({
    label: r.id ?? `${path}.${i}`,
    namespace: globTest(r.namespace),
    kind: globTest(r.kind),
    name: globTest(r.name),
    extra: extra(r),
  }));
}

function matches(c: Compiled<unknown>, ns: string, kind: string, name: string): boolean {
  return (!c.namespace || c.namespace(ns)) && (!c.kind || c.kind(kind)) && (!c.name || c.name(name));
}

export class EnrichRules {
  readonly #ignore: Compiled<{ reason: Test; message: RegExp | undefined }>[];
  readonly #teams: Compiled<string>[];
  readonly #grouping: Compiled<{ kind: string; name: string }>[];

  constructor(rules: Rules) {
    this.#ignore = compile(rules.ignore, 'enrich.rules.ignore', (r) => ({
      reason: globTest(r.reason),
      message: r.message === undefined ? undefined : new RegExp(r.message),
    }));
    this.#teams = compile(rules.teams, 'enrich.rules.teams', (r) => r.team);
    this.#grouping = compile(rules.grouping, 'enrich.rules.grouping', (r) => r.groupAs);
  }

  get empty(): boolean {
    return this.#ignore.length + this.#teams.length + this.#grouping.length === 0;
  }

  get hasIgnore(): boolean {
    return this.#ignore.length > 0;
  }

  /** The label of the first ignore rule the event matches, or undefined. */
  ignore(e: EventFacts): string | undefined {
    for (const r of this.#ignore) {
      if (!matches(r, e.namespace, e.objectKind, e.objectName)) continue;
      if (r.extra.reason && !r.extra.reason(e.reason)) continue;
      if (r.extra.message && !r.extra.message.test(e.message)) continue;
      return r.label;
    }
    return undefined;
  }

  /** The team a rule assigns to the workload, with the rule's label. */
  team(w: WorkloadFacts): { team: string; source: string } | undefined {
    for (const r of this.#teams)
      if (matches(r, w.namespace, w.kind, w.name)) return { team: r.extra, source: `rule:${r.label}` };
    return undefined;
  }

  /** The workload whose incident this one's signals join instead, if a grouping rule says so. */
  groupAs(w: WorkloadFacts): { kind: string; name: string } | undefined {
    for (const r of this.#grouping) if (matches(r, w.namespace, w.kind, w.name)) return r.extra;
    return undefined;
  }
}
