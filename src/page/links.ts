// Where links to the incident page point (page.externalUrl), set once at start-up like the redactor:
// the Slack message and the Alertmanager annotations ask here, so their builders need no new parameter.
import { incidentPageUrl } from '../core/config-page.ts';

let base: string | null = null;

export function setPageLinks(externalUrl: string | null): void {
  base = externalUrl;
}

/** The incident's page, or undefined when no page.externalUrl is configured. */
export function pageLink(incident: string): string | undefined {
  return incidentPageUrl(base, incident);
}
