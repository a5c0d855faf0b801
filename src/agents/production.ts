// Is this incident in production? Severity depends on it, and few users configure it: the answer is
// inferred, with where it came from (`productionSource`). The first source that decides wins:
//   1. agents.productionNamespaces as the user set it (left at its default, it is asked last)
//   2. the environment the namespace's labels / annotations name (enrichment), or the telemetry's
//      deployment.environment(.name) resource attribute (scope.environment / environmentSource)
//   3. the cluster name (prod-eu-1, eu-prod-2, production; staging-1 says no)
//   4. the default namespace patterns (prod, prod-*, *-prod, …)
// An explicit non-production answer (an environment of staging/dev/test, a cluster named staging-*)
// decides too: nothing later upgrades it.
import { type AgentsConfig, DEFAULT_PRODUCTION_NAMESPACES } from '../core/config.ts';
import type { IncidentContextDoc } from '../stream/incidents/document.ts';
import { PatternSet } from './patterns.ts';

export interface ProductionVerdict {
  production: boolean;
  /** `config:…`, `label:environment=prod on Namespace/shop`, `resource:…=…`, `cluster:prod-eu-1`, `default:…`, `none`. */
  source: string;
}

type ProductionConfig = Pick<
  AgentsConfig,
  | 'productionNamespaces'
  | 'productionEnvironments'
  | 'nonProductionEnvironments'
  | 'productionClusters'
  | 'nonProductionClusters'
>;

export class ProductionRules {
  /** The user's namespaces, or null when agents.productionNamespaces is the default list. */
  readonly #configured: PatternSet | null;
  readonly #defaults: readonly { pattern: string; set: PatternSet }[];
  readonly #prodEnv: PatternSet;
  readonly #nonProdEnv: PatternSet;
  readonly #prodCluster: PatternSet;
  readonly #nonProdCluster: PatternSet;

  constructor(c: ProductionConfig) {
    const isDefault =
      c.productionNamespaces.length === DEFAULT_PRODUCTION_NAMESPACES.length &&
      c.productionNamespaces.every((p, i) => p === DEFAULT_PRODUCTION_NAMESPACES[i]);
    this.#configured = isDefault ? null : new PatternSet(c.productionNamespaces);
    this.#defaults = DEFAULT_PRODUCTION_NAMESPACES.map((pattern) => ({
      pattern,
      set: new PatternSet([pattern]),
    }));
    this.#prodEnv = new PatternSet(c.productionEnvironments);
    this.#nonProdEnv = new PatternSet(c.nonProductionEnvironments);
    this.#prodCluster = new PatternSet(c.productionClusters);
    this.#nonProdCluster = new PatternSet(c.nonProductionClusters);
  }

  judge(scope: IncidentContextDoc['scope']): ProductionVerdict {
    if (this.#configured?.matches(scope.namespace))
      return { production: true, source: 'config:agents.productionNamespaces' };
    const env = scope.environment?.toLowerCase();
    if (env) {
      const where = environmentWhere(scope.environmentSource ?? 'environment', scope.environment ?? '');
      if (this.#nonProdEnv.matches(env)) return { production: false, source: where };
      if (this.#prodEnv.matches(env)) return { production: true, source: where };
    }
    const cluster = scope.cluster.toLowerCase();
    if (this.#nonProdCluster.matches(cluster))
      return { production: false, source: `cluster:${scope.cluster}` };
    if (this.#prodCluster.matches(cluster)) return { production: true, source: `cluster:${scope.cluster}` };
    // Only when the user left the default list: their own list was asked first and did not match.
    if (!this.#configured)
      for (const d of this.#defaults)
        if (d.set.matches(scope.namespace))
          return { production: true, source: `default:namespace pattern ${d.pattern}` };
    return { production: false, source: 'none' };
  }
}

/** `label:environment on Namespace/shop` + `prod` → `label:environment=prod on Namespace/shop`. */
function environmentWhere(source: string, value: string): string {
  const m = /^([^ ]+)( on .*)?$/.exec(source);
  return m ? `${m[1]}=${value}${m[2] ?? ''}` : `${source}=${value}`;
}
