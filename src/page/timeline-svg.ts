// The incident's timeline as server-side SVG: evidence over time in one lane per kind (each item a bar
// from first to last seen), rollouts and scale changes as markers, the incident window shaded, the
// context revisions as ticks on top. Colours come from page.css by class (the CSP allows no inline
// style); every label is escaped; a text legend goes beside it (legend()).
import type { EvidenceDoc, IncidentContextDoc } from '../stream/incidents/document.ts';
import { type Html, html } from './html.ts';
import type { RevisionSeen } from './store.ts';

export const LANES = [
  { key: 'events', label: 'Kubernetes events' },
  { key: 'restarts', label: 'Restarts' },
  { key: 'span-errors', label: 'Span errors' },
  { key: 'latency', label: 'Latency and metrics' },
  { key: 'logs', label: 'Logs' },
] as const;
type LaneKey = (typeof LANES)[number]['key'];

/** Scale changes are events about replicas (ScalingReplicaSet, HPA rescales): markers, not a lane. */
export function isScaleChange(e: EvidenceDoc): boolean {
  return e.kind === 'k8s_event' && /ScalingReplicaSet|SuccessfulRescale/.test(e.key);
}

export function laneOf(e: EvidenceDoc): LaneKey | 'marker' {
  if (e.kind === 'rollout' || isScaleChange(e)) return 'marker';
  switch (e.kind) {
    case 'k8s_event':
      return 'events';
    case 'restart':
      return 'restarts';
    case 'span_errors':
      return 'span-errors';
    case 'log':
      return 'logs';
    default:
      return 'latency';
  }
}

const W = 960;
const LEFT = 150;
const RIGHT = 16;
const TOP = 40;
const LANE_H = 30;
/** Rollouts up to this long before the first signal are drawn (a bad rollout shows trouble within minutes). */
const ROLLOUT_LEAD_MS = 30 * 60_000;

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}

export function timelineSvg(doc: IncidentContextDoc, revisions: RevisionSeen[]): Html {
  const times: number[] = [Date.parse(doc.window.start), Date.parse(doc.window.end)];
  for (const e of doc.evidence) times.push(Date.parse(e.at), Date.parse(e.lastAt));
  // Rollouts long before the trouble (last week's) would squash the chart: they are listed under Scope.
  const early = Math.min(...times.filter(Number.isFinite)) - ROLLOUT_LEAD_MS;
  const rollouts = doc.rollouts.filter((r) => r.at !== null && Date.parse(r.at) >= early);
  for (const r of rollouts) times.push(Date.parse(r.at!));
  const finite = times.filter(Number.isFinite);
  let t0 = Math.min(...finite);
  let t1 = Math.max(...finite);
  if (!Number.isFinite(t0)) t0 = t1 = 0;
  if (t1 - t0 < 60_000) t1 = t0 + 60_000;
  const pad = (t1 - t0) * 0.03;
  t0 -= pad;
  t1 += pad;
  const x = (t: number) => LEFT + ((t - t0) / (t1 - t0)) * (W - LEFT - RIGHT);
  const H = TOP + LANES.length * LANE_H + 34;
  const bottom = TOP + LANES.length * LANE_H;

  const ws = x(Date.parse(doc.window.start));
  const we = x(Date.parse(doc.window.end));
  const parts: Html[] = [];
  parts.push(
    html`<rect class="tl-window" x="${ws.toFixed(1)}" y="${TOP - 6}" width="${Math.max(2, we - ws).toFixed(1)}" height="${bottom - TOP + 6}"><title>incident window ${doc.window.start} → ${doc.window.end}</title></rect>`,
  );
  LANES.forEach((lane, i) => {
    const y = TOP + i * LANE_H;
    parts.push(
      html`<line class="tl-lane" x1="${LEFT}" y1="${y + LANE_H}" x2="${W - RIGHT}" y2="${y + LANE_H}"/><text class="tl-label" x="8" y="${y + LANE_H / 2 + 4}">${lane.label}</text>`,
    );
  });
  // Time axis: five ticks.
  for (let i = 0; i <= 4; i++) {
    const t = t0 + ((t1 - t0) * i) / 4;
    const tx = x(t);
    parts.push(
      html`<line class="tl-tick" x1="${tx.toFixed(1)}" y1="${bottom}" x2="${tx.toFixed(1)}" y2="${bottom + 5}"/><text class="tl-axis" x="${tx.toFixed(1)}" y="${bottom + 18}" text-anchor="middle">${clock(t)}</text>`,
    );
  }
  parts.push(html`<text class="tl-axis" x="${W - RIGHT}" y="${bottom + 32}" text-anchor="end">UTC</text>`);
  for (const e of doc.evidence) {
    const lane = laneOf(e);
    if (lane === 'marker') continue;
    const i = LANES.findIndex((l) => l.key === lane);
    const y = TOP + i * LANE_H + 7;
    const a = x(Date.parse(e.at));
    const b = x(Date.parse(e.lastAt));
    if (!Number.isFinite(a)) continue;
    const w = Math.max(4, (Number.isFinite(b) ? b : a) - a);
    parts.push(
      html`<a href="#${e.id}"><rect class="tl-bar lane-${lane}${e.context ? ' tl-context' : ''}" x="${a.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${LANE_H - 14}" rx="3"><title>${e.summary} (×${e.count}, ${e.at} → ${e.lastAt})</title></rect></a>`,
    );
  }
  // Rollouts: dashed lines across the lanes, labelled with the revision.
  for (const r of rollouts) {
    const t = r.at ? Date.parse(r.at) : Number.NaN;
    if (!Number.isFinite(t)) continue;
    const rx = x(t).toFixed(1);
    parts.push(
      html`<g class="tl-rollout"><line x1="${rx}" y1="${TOP - 10}" x2="${rx}" y2="${bottom}"/><text x="${rx}" y="${TOP - 14}" text-anchor="middle">rollout${r.revision === null ? '' : ` r${r.revision}`}</text><title>rollout ${r.replicaSet}: ${r.images.join(', ')} at ${r.at}</title></g>`,
    );
  }
  for (const e of doc.evidence) {
    if (!isScaleChange(e)) continue;
    const t = Date.parse(e.at);
    if (!Number.isFinite(t)) continue;
    const sx = x(t);
    parts.push(
      html`<a href="#${e.id}"><path class="tl-scale" d="M${sx.toFixed(1)} ${bottom - 12} l6 6 l-6 6 l-6 -6 z"><title>scale change: ${e.summary}</title></path></a>`,
    );
  }
  // Revisions of the context: small ticks above the lanes.
  for (const r of revisions) {
    const t = Date.parse(r.at);
    if (!Number.isFinite(t)) continue;
    const rx = x(Math.min(Math.max(t, t0), t1)).toFixed(1);
    parts.push(
      html`<line class="tl-revision" x1="${rx}" y1="${TOP - 8}" x2="${rx}" y2="${TOP - 2}"><title>revision ${r.revision} at ${r.at} (${r.status}, ${r.evidence} evidence items)</title></line>`,
    );
  }
  const desc = `${doc.evidence.length} evidence items between ${doc.window.start} and ${doc.window.end}; ${rollouts.length} rollout(s) drawn; ${revisions.length} revisions seen.`;
  return html`<svg class="timeline" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="tl-title" aria-describedby="tl-desc" xmlns="http://www.w3.org/2000/svg"><title id="tl-title">Timeline of the incident</title><desc id="tl-desc">${desc}</desc>${parts}</svg>`;
}

/** The legend as text (what the colours and markers mean, with counts per lane). */
export function legend(doc: IncidentContextDoc): Html {
  const counts = new Map<string, number>();
  for (const e of doc.evidence) counts.set(laneOf(e), (counts.get(laneOf(e)) ?? 0) + 1);
  const items = LANES.map(
    (l) =>
      html`<li><span class="swatch lane-${l.key}" aria-hidden="true"></span>${l.label}: ${counts.get(l.key) ?? 0} item(s)</li>`,
  );
  return html`<ul class="legend">${items}<li><span class="swatch tl-window" aria-hidden="true"></span>shaded: incident window</li><li><span class="swatch tl-rollout-swatch" aria-hidden="true"></span>dashed line: rollout</li><li><span class="swatch tl-scale" aria-hidden="true"></span>diamond: scale change</li><li><span class="swatch tl-revision-swatch" aria-hidden="true"></span>tick on top: a revision of the incident</li></ul>`;
}
