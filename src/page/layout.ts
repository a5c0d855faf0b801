// The page shell: one stylesheet and one small script, both files served from here ('self' in the
// CSP: no inline script or style anywhere). The live region (#live) is what the script swaps in place.
import type { Html } from './html.ts';
import { html } from './html.ts';

export const ASSET_PREFIX = '/incidents/-/assets';

export interface Viewer {
  /** The signed-in approver's name (k8s:… / static:…), or null. */
  name: string | null;
  /** Whether the page can authenticate anyone at all (the approval API is on). */
  canSignIn: boolean;
}

export function layout(o: {
  title: string;
  body: Html;
  viewer: Viewer;
  version: number;
  csrf?: string;
}): Html {
  const who = o.viewer.name
    ? html`<form method="post" action="/incidents/-/logout" class="who"><span>Signed in as <strong>${o.viewer.name}</strong></span> <input type="hidden" name="csrf" value="${o.csrf ?? ''}"><button type="submit">Sign out</button></form>`
    : o.viewer.canSignIn
      ? html`<a class="who" href="/incidents/-/login">Sign in to approve</a>`
      : html`<span class="who">read-only</span>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${o.title}</title>
<link rel="icon" href="${ASSET_PREFIX}/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="${ASSET_PREFIX}/page.css">
<script src="${ASSET_PREFIX}/page.js" defer></script>
</head>
<body data-version="${o.version}">
<a class="skip" href="#main">Skip to content</a>
<header class="top"><nav aria-label="Site"><a href="/incidents">Incidents</a></nav>${who}</header>
<main id="main" tabindex="-1">${o.body}</main>
<p id="live-status" class="live-status" role="status" aria-live="polite"></p>
</body>
</html>
`;
}
