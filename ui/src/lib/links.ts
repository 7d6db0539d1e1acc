// Which message links may be opened: only http(s) URLs with a host, and only when the core
// found the host to be one the message's source is known to use (`[herald.hosts]`). The shell
// checks the scheme again; these checks decide whether the page offers a button at all.

export function isWebUrl(url: string | null | undefined): url is string {
  if (typeof url !== "string") return false;
  // URL parsing forgives leading blanks and control characters; a link that needs forgiving is
  // not offered.
  if (!/^https?:\/\/[^\s/?#]/i.test(url) || /[\s\u0000-\u001f\u007f]/.test(url)) return false;
  try {
    const parsed = new URL(url);
    return (parsed.protocol === "http:" || parsed.protocol === "https:") && parsed.hostname.length > 0;
  } catch {
    return false;
  }
}

/** A link is offered to open only when it is a web link to a host its source is known to use. */
export function canOpen(url: string | null | undefined, trusted: boolean): url is string {
  return trusted === true && isWebUrl(url);
}

const SOURCE_NAMES: Record<string, string> = {
  koji: "Koji",
  "koji-messagebus": "Koji",
  "koji-protonmsg": "Koji",
  bodhi: "Bodhi",
  copr: "Copr",
  anitya: "Anitya",
  pulp: "Pulp",
  hotness: "the-new-hotness",
  bugzilla: "Bugzilla",
  "dist-git": "dist-git",
  ci: "CI",
  resultsdb: "ResultsDB",
  greenwave: "Greenwave",
  waiverdb: "WaiverDB",
  koschei: "Koschei",
};

/** What the pane says beside a link it does not offer: where it would go, and why not. */
export function unknownHostNote(host: string, source: string): string {
  const name = SOURCE_NAMES[source];
  return name === undefined
    ? `Goes to ${host}, not a known host: not opened`
    : `Goes to ${host}, not a known ${name} host: not opened`;
}
