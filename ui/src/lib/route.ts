// Hash routes: "#/history", "#/history?id=<message id>", "#/settings". Each window loads one.

export type Route = { view: "history"; id: string | null } | { view: "settings" };

export function parseRoute(hash: string): Route {
  const raw = hash.startsWith("#") ? hash.slice(1) : hash;
  const q = raw.indexOf("?");
  const path = (q >= 0 ? raw.slice(0, q) : raw).replace(/\/+$/, "");
  const params = new URLSearchParams(q >= 0 ? raw.slice(q + 1) : "");
  if (path === "/settings") return { view: "settings" };
  const id = params.get("id");
  return { view: "history", id: id !== null && id.length > 0 ? id : null };
}

export function historyHash(id: string | null): string {
  return id === null ? "#/history" : `#/history?id=${encodeURIComponent(id)}`;
}
