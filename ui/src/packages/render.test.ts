// @vitest-environment jsdom
// Rendering checks on a real DOM: package names, states and summaries from the bus stay text,
// chips say their state, and a timeline link is offered only for a known host.
import { describe, expect, it } from "vitest";
import { HOSTILE, render } from "../lib/mount";
import DetailPane from "../history/DetailPane.svelte";
import { branch, event, hit, summary } from "../lib/testdata";
import PackageRow from "./PackageRow.svelte";
import TimelinePane from "./TimelinePane.svelte";

const NOW = new Date("2025-03-10T12:00:00Z");


const noop = () => {};

function chips(el: HTMLElement, branchName: string): string[] {
  return [...el.querySelectorAll(`[data-testid="stage-chip"][data-branch="${branchName}"]`)].map(
    (c) => `${c.getAttribute("data-stage")}:${c.getAttribute("data-state")}`,
  );
}

describe("PackageRow", () => {
  const requests = summary("python-requests", {
    upstream: { version: "2.33.0", sent_at: "2025-03-05T11:00:00Z" },
    behind_upstream: true,
    behind_since: "2025-03-05T11:00:00Z",
    fedora_version: "2.32.3",
    ftbfs: true,
    branches: [
      branch("rawhide", {
        build: { nvr: "python-requests-2.32.3-1.fc44", state: "complete", sent_at: "2025-02-01T00:00:00Z", url: null },
        stable: "python-requests-2.32.3-1.fc44",
      }),
      branch("f43", {
        build: { nvr: "python-requests-2.32.3-1.fc43", state: "complete", sent_at: "2025-02-01T00:00:00Z", url: null },
        update: {
          alias: "FEDORA-2025-4f1a2b3c4d",
          status: "testing",
          gating: "failed",
          gating_settled: false,
          karma: -1,
          url: null,
          user: "alice",
        },
      }),
    ],
  });

  it("shows the chain per branch, the wait for upstream, FTBFS, gating and karma", () => {
    const el = render(PackageRow, { p: requests, index: 0, selected: false, now: NOW, onpick: noop });
    const row = el.querySelector('[data-testid="package-row"]');
    expect(row?.getAttribute("data-package")).toBe("python-requests");
    expect(el.querySelector('[data-testid="behind-badge"]')?.textContent).toBe("behind 2.33.0 for 5 days");
    expect(el.querySelector('[data-testid="ftbfs-badge"]')?.textContent).toBe("FTBFS");
    expect(el.querySelector('[data-stage="upstream"]')?.getAttribute("data-state")).toBe("waiting");
    expect(chips(el, "rawhide")).toEqual(["build:done", "testing:none", "stable:done"]);
    expect(chips(el, "f43")).toEqual(["build:done", "testing:active", "stable:none"]);
    const gating = el.querySelector('[data-branch="f43"] [data-testid="gating"]');
    expect(gating?.textContent).toBe("gating failed (settling)");
    expect(gating?.getAttribute("data-settled")).toBe("false");
    expect(el.querySelector('[data-branch="f43"] [data-testid="karma"]')?.textContent).toBe("karma -1");
    expect(el.querySelector('[data-branch="rawhide"] [data-testid="gating"]')).toBeNull();
  });

  it("renders a hostile package name and state as text", () => {
    const p = summary(`evil${HOSTILE}`, {
      branches: [
        branch(`f43${HOSTILE}`, {
          build: { nvr: `evil-1-1.fc43${HOSTILE}`, state: HOSTILE, sent_at: "2025-02-01T00:00:00Z", url: null },
        }),
      ],
    });
    const el = render(PackageRow, { p, index: 0, selected: false, now: NOW, onpick: noop });
    expect(el.querySelector('[data-testid="package-name"]')?.textContent).toBe(`evil${HOSTILE}`);
    expect(el.textContent).toContain(`build ${HOSTILE}`);
    expect(el.querySelector("img, script")).toBeNull();
    expect((window as unknown as { pwned?: number }).pwned).toBeUndefined();
  });

  it("tells which package was picked", () => {
    let picked = "";
    const el = render(PackageRow, { p: requests, index: 0, selected: true, now: NOW, onpick: (n: string) => (picked = n) });
    const row = el.querySelector<HTMLElement>('[data-testid="package-row"]');
    expect(row?.getAttribute("aria-selected")).toBe("true");
    row?.click();
    expect(picked).toBe("python-requests");
  });
});

describe("TimelinePane", () => {
  const props = (events: ReturnType<typeof event>[]) => ({
    name: "python-requests",
    events,
    loading: false,
    error: null,
    now: NOW,
    onclose: noop,
    onopenlink: noop,
    onopenmessage: noop,
  });

  it("lists events newest first with stage, branch, state and summary as text", () => {
    const el = render(
      TimelinePane,
      props([
        event("old", { sent_at: "2025-03-01T00:00:00Z", stage: "build", branch: "f43", state: "complete" }),
        event("new", { sent_at: "2025-03-09T00:00:00Z", stage: "gating", branch: "f43", state: "failed: 1 of 2", summary: HOSTILE }),
      ]),
    );
    const rows = [...el.querySelectorAll('[data-testid="timeline-event"]')];
    expect(rows.map((r) => r.getAttribute("data-id"))).toEqual(["new", "old"]);
    expect(rows[0]?.querySelector('[data-testid="timeline-stage"]')?.textContent).toBe("gating");
    expect(rows[0]?.querySelector('[data-testid="timeline-branch"]')?.textContent).toBe("f43");
    expect(rows[0]?.querySelector('[data-testid="timeline-state"]')?.textContent).toBe("failed: 1 of 2");
    expect(rows[0]?.classList.contains("error")).toBe(true);
    expect(rows[0]?.querySelector('[data-testid="timeline-summary"]')?.textContent).toBe(HOSTILE);
    expect(el.querySelector("img, script")).toBeNull();
    expect(el.querySelector('[data-testid="timeline-title"]')?.textContent).toBe("python-requests");
  });

  it("offers a link only to a known host, naming the host, and shows the rest as text", () => {
    let opened = "";
    const trusted = "https://bodhi.fedoraproject.org/updates/FEDORA-2025-1";
    const spoofed = "https://bodhi.fedoraproject.org.evil.example/updates/FEDORA-2025-1";
    const el = render(TimelinePane, {
      ...props([
        event("a", { url: trusted, link_host: "bodhi.fedoraproject.org", link_trusted: true, source: "bodhi", sent_at: "2025-03-02T00:00:00Z" }),
        event("b", { url: spoofed, link_host: "bodhi.fedoraproject.org.evil.example", link_trusted: false, source: "bodhi" }),
        event("c", { url: "javascript:alert(1)", link_trusted: true, sent_at: "2025-02-01T00:00:00Z" }),
      ]),
      onopenlink: (url: string) => (opened = url),
    });
    const links = [...el.querySelectorAll<HTMLElement>('[data-testid="timeline-link"]')];
    expect(links.map((l) => l.textContent)).toEqual([trusted]);
    links[0]?.click();
    expect(opened).toBe(trusted);
    expect(el.querySelector('[data-testid="timeline-host"]')?.textContent).toBe("bodhi.fedoraproject.org");
    const plain = [...el.querySelectorAll('[data-testid="timeline-url"]')].map((u) => u.textContent);
    // Newest first: the javascript: one was sent after the spoofed one.
    expect(plain).toEqual(["javascript:alert(1)", spoofed]);
    expect(el.textContent).toContain("Goes to bodhi.fedoraproject.org.evil.example, not a known Bodhi host: not opened");
    expect(el.querySelector("a")).toBeNull();
  });

  it("says when nothing is known yet", () => {
    const el = render(TimelinePane, props([]));
    expect(el.querySelector('[data-testid="timeline-empty"]')?.textContent).toBe("Nothing in the history about this package yet.");
  });
});

describe("DetailPane", () => {
  it("offers each package the message names as a way to its timeline", () => {
    let asked = "";
    const el = render(DetailPane, {
      detail: {
        hit: hit(1, { packages: ["python-requests", "python-urllib3"] }),
        details: "",
        problems: [],
        properties_json: "{}",
        headers_json: "{}",
        body: "{}",
        body_is_json: true,
        link_host: null,
        link_trusted: false,
      },
      loading: false,
      error: null,
      terms: [],
      now: NOW,
      onclose: noop,
      onmarkread: noop,
      onopenlink: noop,
      onopenpackage: (name: string) => (asked = name),
    });
    const buttons = [...el.querySelectorAll<HTMLElement>('[data-testid="detail-package"]')];
    expect(buttons.map((b) => b.textContent)).toEqual(["python-requests", "python-urllib3"]);
    buttons[1]?.click();
    expect(asked).toBe("python-urllib3");
  });
});
