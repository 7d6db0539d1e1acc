// Hash routes: "#/history", "#/history?id=<message id>", "#/packages",
// "#/packages?name=<package>" (the history window's two views) and "#/settings". Each window
// loads one.

export type Route =
  | { view: "history"; id: string | null }
  | { view: "packages"; name: string | null }
  | { view: "settings" };

export function parseRoute(hash: string): Route {
  const raw = hash.startsWith("#") ? hash.slice(1) : hash;
  const q = raw.indexOf("?");
  const path = (q >= 0 ? raw.slice(0, q) : raw).replace(/\/+$/, "");
  const params = new URLSearchParams(q >= 0 ? raw.slice(q + 1) : "");
  const param = (key: string) => {
    const value = params.get(key);
    return value !== null && value.length > 0 ? value : null;
  };
  if (path === "/settings") return { view: "settings" };
  if (path === "/packages") return { view: "packages", name: param("name") };
  return { view: "history", id: param("id") };
}

export function historyHash(id: string | null): string {
  return id === null ? "#/history" : `#/history?id=${encodeURIComponent(id)}`;
}

export function packagesHash(name: string | null): string {
  return name === null ? "#/packages" : `#/packages?name=${encodeURIComponent(name)}`;
}
