// The agents stage's public surface: what the CLI (the composition root) wires together.
export { TriageChain, type TriageChainOptions } from './chain.ts';
export { TriagePublisher } from './publisher.ts';
export { CAUSES, TRIAGE_REPORT_SCHEMA, type TriageReport } from './report.ts';
