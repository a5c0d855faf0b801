// The config `demo` and `eval` judge scenarios with. Without --config: the defaults, plus the simulated
// cluster's production namespaces (its ground truth assumes them production, as its operator would
// configure). With --config: exactly that file.
import { type Config, loadConfig } from '../core/config.ts';
import { PRODUCTION_NAMESPACES } from '../sim/scenarios/types.ts';

export function scenarioConfig(file: string | undefined): { config: Config; note: string | null } {
  const config = loadConfig(file, {});
  if (file) return { config, note: null };
  const added = PRODUCTION_NAMESPACES.filter((n) => !config.agents.productionNamespaces.includes(n));
  config.agents.productionNamespaces = [...config.agents.productionNamespaces, ...added];
  return {
    config,
    note: `the scenarios' cluster is production: namespaces ${added.join(', ')} added to agents.productionNamespaces (--config to judge with your own)`,
  };
}
