// The incident page's only script (served as a file: the CSP allows no inline script). Reading works
// without it; with it, the list and the open incident refresh in place when a new revision arrives
// (server-sent events), keeping the reader's scroll position, open details and focus.
(() => {
  const first = document.getElementById('live');
  if (!first || !('EventSource' in window)) return;
  const status = document.getElementById('live-status');
  let busy = false;
  let again = false;
  let timer = 0;

  /** A stable key for an element inside #live (its own id, or the nearest ancestor's). */
  const keyOf = (el) => el.closest('[id]')?.id ?? '';

  async function refresh() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      const res = await fetch(location.href, {
        credentials: 'same-origin',
        headers: { accept: 'text/html' },
      });
      if (!res.ok) return;
      const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
      const next = doc.getElementById('live');
      const cur = document.getElementById('live');
      if (!next || !cur || next.dataset.version === cur.dataset.version) return;
      const open = new Set([...cur.querySelectorAll('details[open]')].map(keyOf));
      const focused =
        document.activeElement && cur.contains(document.activeElement) ? document.activeElement : null;
      const focusKey = focused ? `${keyOf(focused)}|${focused.textContent}` : null;
      const x = window.scrollX;
      const y = window.scrollY;
      cur.replaceWith(document.adoptNode(next));
      for (const d of next.querySelectorAll('details')) if (open.has(keyOf(d))) d.open = true;
      window.scrollTo(x, y);
      if (focusKey)
        for (const el of next.querySelectorAll('a, button, summary'))
          if (`${keyOf(el)}|${el.textContent}` === focusKey) {
            el.focus({ preventScroll: true });
            break;
          }
      const rev = document.getElementById('revision');
      if (status) status.textContent = rev ? `Updated to revision ${rev.textContent}.` : 'List updated.';
      document.body.dataset.version = next.dataset.version ?? '';
    } catch {
      // The next update tries again; the page as shown stays readable.
    } finally {
      busy = false;
      if (again) {
        again = false;
        void refresh();
      }
    }
  }

  const events = new EventSource('/incidents/-/events');
  events.addEventListener('update', (ev) => {
    let change;
    try {
      change = JSON.parse(ev.data);
    } catch {
      return;
    }
    const mine = document.getElementById('live')?.dataset.incident;
    if (mine && change.id !== mine) return;
    // Bursts of revisions (a replay, a busy cluster) make one fetch.
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  });
})();
