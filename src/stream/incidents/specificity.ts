// How much a message says about its cause, so an evidence item quotes its most useful line:
// "Failed to pull image …: pull access denied, repository does not exist" says more than
// "Error: ImagePullBackOff", which only names a state.

// Words that name what is wrong, rather than that something is.
const TELLING =
  /denied|does not exist|not found|no such|undefined|not set|missing|invalid|unauthori[sz]ed|forbidden|manifest unknown|out of memory|OOMKilled|insufficient|exceeded|quota|refused|timed? ?out|deadline|unreachable|executable file|permission|exit code|couldn't find/i;
// A bare state name, optionally after "Error:": names the symptom only.
const BARE_STATE = /^\s*(Error:\s*)?[A-Za-z][A-Za-z]*\s*$/;
const QUOTED = /"[^"]*"|'[^']*'/g;
const WORD = /[A-Za-z][A-Za-z-]{2,}/g;

export function specificity(message: string): number {
  if (BARE_STATE.test(message)) return 0;
  const words = new Set((message.replace(QUOTED, ' ').match(WORD) ?? []).map((w) => w.toLowerCase()));
  return words.size + (TELLING.test(message) ? 20 : 0);
}
