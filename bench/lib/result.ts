// The shape every benchmark returns; bench/run.ts turns these into JSON, Markdown and SVG charts.

export interface BenchRow {
  /** Row label, e.g. "logs × 1000". */
  case: string;
  /** Column name → value (numbers are what --compare compares). */
  values: Record<string, number | string>;
}

export interface Chart {
  title: string;
  unit: string;
  /** Groups of bars: label → series name → value. */
  groups: { label: string; bars: Record<string, number> }[];
}

export interface BenchResult {
  name: string;
  title: string;
  /** What is measured, in a sentence or two (goes into the report). */
  method: string;
  reproduce: string;
  columns: string[];
  rows: BenchRow[];
  /** Headline ratios and figures, also compared across runs. */
  headline: Record<string, number>;
  /** Target checks: description → [met, detail]. */
  targets: Target[];
  charts: Chart[];
  /** Markdown appended after the table (timelines, top profile frames). */
  notes?: string[];
  /** Files saved next to the report as <date>-<name>-<key> (e.g. profiles): key → temporary path. */
  files?: Record<string, string>;
}

/** A target of the issue and what was measured against it. */
export interface Target {
  target: string;
  met: boolean;
  detail: string;
  /** The measured figure over the rounds (median, min, max), when the target is one number. */
  measured?: { median: number; min: number; max: number; rounds: number };
  /** The threshold as written, e.g. "≥ 1.0×". */
  goal?: string;
}

export interface BenchOptions {
  quick: boolean;
  log: (line: string) => void;
}
