// kubetriage's alert rules and Grafana dashboard: the rules pass `promtool check rules` and the unit
// tests in deploy/prometheus/tests.yaml (each alert fires on its trouble and stays silent on a near
// miss; promtool built by scripts/promtool/build.sh), and every kubetriage_* metric the rules and the
// dashboard query is one the service registers.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { newRegistry } from '../../src/core/metrics.ts';

const RULES = 'deploy/helm/kubetriage/files/prometheus-rules.yaml';
const DASHBOARD = 'deploy/helm/kubetriage/files/grafana-dashboard.json';
const RULE_TESTS = 'deploy/prometheus/tests.yaml';
const PROMTOOL_VERSION = process.env.PROMETHEUS_VERSION ?? 'v0.316.0';
const cacheRoot =
  process.env.KUBETRIAGE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'kubetriage');
const PROMTOOL = join(cacheRoot, `promtool-${PROMTOOL_VERSION}`, 'promtool');

function requirePromtool(): void {
  try {
    accessSync(PROMTOOL, constants.X_OK);
  } catch {
    // Never a silent skip: scripts/prepare-test-parts.sh (npm test, ./run test, .ci/run) builds it.
    throw new Error(
      `${PROMTOOL} not found: build it with \`bash scripts/prepare-test-parts.sh\` (or scripts/promtool/build.sh)`,
    );
  }
}

function promtool(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(PROMTOOL, args, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** `new Counter({ name: 'kubetriage_…' })`, or the name given to counterFromStats / gaugeFrom (core/metrics.ts). */
const REGISTERED_NAME = /(?:name:|counterFromStats\(|gaugeFrom\()\s*(?:\w+,\s*)?'(kubetriage_[a-z0-9_]+)'/g;

/**
 * Every metric name the service registers: the names its code passes to prom-client (string literals;
 * several metrics are registered only once the stage they belong to starts) and the default process
 * and Node.js metrics newRegistry() collects under the kubetriage_ prefix.
 */
async function registeredMetrics(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const file of sourceFiles('src'))
    for (const m of readFileSync(file, 'utf8').matchAll(REGISTERED_NAME)) names.add(m[1] as string);
  for (const m of await newRegistry().getMetricsAsJSON()) names.add(m.name);
  return names;
}

/** kubetriage_* names in PromQL, histogram series suffixes folded back to the metric. */
function metricsIn(promql: string): string[] {
  return [...promql.matchAll(/\b(kubetriage_[a-z0-9_]+)/g)].map((m) =>
    (m[1] as string).replace(/_(bucket|sum|count)$/, ''),
  );
}

function ruleExprs(): { alert: string; expr: string }[] {
  const doc = parseYaml(readFileSync(RULES, 'utf8')) as {
    groups: { rules: { alert: string; expr: string }[] }[];
  };
  return doc.groups.flatMap((g) => g.rules);
}

function dashboardExprs(): { title: string; expr: string }[] {
  const d = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    panels: { title: string; targets?: { expr: string }[] }[];
    templating: { list: { definition?: string }[] };
  };
  return [
    ...d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr }))),
    ...d.templating.list
      .filter((v) => v.definition)
      .map((v) => ({ title: 'variable', expr: v.definition as string })),
  ];
}

test('every kubetriage_* metric in the alert rules and the dashboard is one the service registers', async () => {
  const known = await registeredMetrics();
  assert.ok(known.has('kubetriage_consumer_lag') && known.has('kubetriage_process_resident_memory_bytes'));
  const unknown: string[] = [];
  for (const { alert, expr } of ruleExprs())
    for (const m of metricsIn(expr)) if (!known.has(m)) unknown.push(`rule ${alert}: ${m}`);
  for (const { title, expr } of dashboardExprs())
    for (const m of metricsIn(expr)) if (!known.has(m)) unknown.push(`panel ${title}: ${m}`);
  assert.deepEqual(unknown, []);
});

test('the dashboard covers input, lag, dead letters, incidents, time to first context and report, LLM, approvals', () => {
  const all = dashboardExprs()
    .map((e) => e.expr)
    .join('\n');
  for (const m of [
    'kubetriage_records_total',
    'kubetriage_consumer_lag',
    'kubetriage_dlq_records_total',
    'kubetriage_incidents_open',
    'kubetriage_incidents_total',
    'kubetriage_time_to_first_context_seconds_bucket',
    'kubetriage_time_to_first_triage_seconds_bucket',
    'kubetriage_agent_latency_seconds_bucket',
    'kubetriage_llm_failures_total',
    'kubetriage_exec_events_total',
  ])
    assert.ok(all.includes(m), m);
});

// Never skips: throws (failing this file with the build command) when promtool is missing.
requirePromtool();

describe('alert rules with promtool', () => {
  test('promtool check rules', async () => {
    const r = await promtool(['check', 'rules', RULES]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, new RegExp(`SUCCESS: ${ruleExprs().length} rules found`));
  });

  test('promtool test rules: each alert fires on its trouble and stays silent on a near miss', async () => {
    const tests = parseYaml(readFileSync(RULE_TESTS, 'utf8')) as {
      tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    for (const { alert } of ruleExprs()) {
      const cases = tests.tests.flatMap((t) => t.alert_rule_test).filter((c) => c.alertname === alert);
      assert.ok(
        cases.some((c) => c.exp_alerts.length > 0),
        `${alert} has a firing case`,
      );
      assert.ok(
        cases.some((c) => c.exp_alerts.length === 0),
        `${alert} has a silent case`,
      );
    }
    const r = await promtool(['test', 'rules', RULE_TESTS]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /SUCCESS/);
  });
});
