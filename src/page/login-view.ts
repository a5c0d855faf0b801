// Sign-in for approvers: the same credential as `kubetriage approve` (a Kubernetes bearer token, reviewed
// by the API server), exchanged once for a page session; the token itself is not kept.
import { type Html, html } from './html.ts';

export function loginView(o: { next: string; error?: string | undefined }): Html {
  return html`<h1>Sign in to approve</h1>
${o.error ? html`<p class="flash" role="alert">${o.error}</p>` : ''}
<p>Paste a Kubernetes bearer token (for example <code>kubectl create token &lt;service-account&gt;</code>, or your OIDC token). The API server reviews it (TokenReview) and every action is authorised as on the approval API (SubjectAccessReview on proposals.kubetriage.io).</p>
<form method="post" action="/incidents/-/login" class="login">
<input type="hidden" name="next" value="${o.next}">
<label for="token">Kubernetes token</label>
<input id="token" name="token" type="password" autocomplete="off" required>
<button type="submit">Sign in</button>
</form>`;
}
