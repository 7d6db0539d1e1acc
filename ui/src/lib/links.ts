// Which message links may be opened: only http(s) URLs with a host. The shell checks again;
// this check decides whether the page offers a button at all.

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
