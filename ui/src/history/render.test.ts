// @vitest-environment jsdom
// Rendering checks on a real DOM: message text stays text, links are offered only for http(s).
import { describe, expect, it } from "vitest";
import { HOSTILE, render } from "../lib/mount";
import type { MessageDetail } from "../lib/bindings";
import { hit } from "../lib/testdata";
import DetailPane from "./DetailPane.svelte";
import ResultList from "./ResultList.svelte";
import ResultRow from "./ResultRow.svelte";
import StatusBar from "./StatusBar.svelte";

const ARCHIVE_TITLE = "Fetched from the bus archive to fill a gap; not delivered live";
const NOW = new Date("2025-01-01T13:00:00Z");


function detail(fields: Parameters<typeof hit>[1] = {}, link: Partial<Pick<MessageDetail, "link_host" | "link_trusted">> = {}): MessageDetail {
  return {
    hit: hit(1, fields),
    details: "line one\n<b>line two</b>",
    problems: [],
    properties_json: '{\n  "content_type": "application/json"\n}',
    headers_json: '{\n  "fedora_messaging_user_alice": true\n}',
    body: '{\n  "html": "<a href=\\"javascript:x\\">"\n}',
    body_is_json: true,
    link_host: link.link_host ?? null,
    link_trusted: link.link_trusted ?? false,
  };
}

const noop = () => {};

describe("ResultRow", () => {
  it("renders a hostile summary as text with the search terms marked", () => {
    const el = render(ResultRow, {
      hit: hit(7, { summary: `Build FAILED ${HOSTILE}`, packages: ["python-requests"], users: ["alice"] }),
      index: 0,
      selected: false,
      open: false,
      terms: ["failed", "img"],
      now: NOW,
      onpick: noop,
    });
    const row = el.querySelector('[data-testid="result-row"]');
    expect(row?.getAttribute("data-id")).toBe("id-7");
    const summary = el.querySelector('[data-testid="result-summary"]')!;
    expect(summary.textContent).toBe(`Build FAILED ${HOSTILE}`);
    expect(summary.querySelector("img, script")).toBeNull();
    expect([...summary.querySelectorAll("mark")].map((m) => m.textContent)).toEqual(["FAILED", "img"]);
    expect(row?.textContent).toContain("python-requests");
    expect(row?.textContent).toContain("@alice");
    expect((window as unknown as { pwned?: number }).pwned).toBeUndefined();
  });

  it("marks a message fetched from the archive, and only such a message", () => {
    const row = (backfilled: boolean) =>
      render(ResultRow, { hit: hit(3, { backfilled, summary: HOSTILE }), index: 0, selected: false, open: false, terms: [], now: NOW, onpick: noop });
    const badge = row(true).querySelector('[data-testid="archive-badge"]');
    expect(badge?.textContent).toBe("from archive");
    expect(badge?.getAttribute("title")).toBe(ARCHIVE_TITLE);
    expect(badge?.children.length).toBe(0);
    expect(row(false).querySelector('[data-testid="archive-badge"]')).toBeNull();
  });
});

describe("DetailPane", () => {
  const props = (d: MessageDetail) => ({
    detail: d,
    loading: false,
    error: null,
    terms: [],
    now: NOW,
    onclose: noop,
    onmarkread: noop,
    onopenlink: noop,
  });

  it("shows a known host's link as a button whose text is the URL, its host beside it, and the rule", () => {
    const url = "https://bodhi.fedoraproject.org/updates/FEDORA-2025-1";
    const el = render(
      DetailPane,
      props(detail({ url, rule: "my-packages" }, { link_host: "bodhi.fedoraproject.org", link_trusted: true })),
    );
    const link = el.querySelector('[data-testid="detail-link"]');
    expect(link?.tagName).toBe("BUTTON");
    expect(link?.textContent).toBe(url);
    expect(el.querySelector('[data-testid="detail-host"]')?.textContent).toBe("bodhi.fedoraproject.org");
    expect(el.querySelector('[data-testid="detail-rule"]')?.textContent).toBe("kept by rule my-packages");
  });

  it("shows a link to an unknown host as text, naming the host, with no button", () => {
    const url = "https://bodhi.fedoraproject.org.evil.example/updates/FEDORA-2025-1";
    const el = render(
      DetailPane,
      props(detail({ url, source: "bodhi" }, { link_host: "bodhi.fedoraproject.org.evil.example", link_trusted: false })),
    );
    expect(el.querySelector('[data-testid="detail-link"]')).toBeNull();
    expect(el.querySelector("button.link, a")).toBeNull();
    expect(el.querySelector('[data-testid="detail-url"]')?.textContent).toBe(url);
    expect(el.querySelector('[data-testid="detail-host"]')?.textContent).toBe(
      "Goes to bodhi.fedoraproject.org.evil.example, not a known Bodhi host: not opened",
    );
  });

  it("offers no button for other schemes and says when no rule kept it", () => {
    const el = render(DetailPane, props(detail({ url: "javascript:alert(1)", rule: null })));
    expect(el.querySelector('[data-testid="detail-link"]')).toBeNull();
    expect(el.textContent).toContain("javascript:alert(1)");
    expect(el.querySelector('[data-testid="detail-rule"]')?.textContent).toBe("no rule");
  });

  it("marks a back-filled message next to its source, as text", () => {
    const el = render(DetailPane, props(detail({ backfilled: true, summary: HOSTILE })));
    const badge = el.querySelector('[data-testid="archive-badge"]');
    expect(badge?.textContent).toBe("from archive");
    expect(badge?.getAttribute("title")).toBe(ARCHIVE_TITLE);
    expect(el.querySelector("img, script")).toBeNull();
    const live = render(DetailPane, props(detail()));
    expect(live.querySelector('[data-testid="archive-badge"]')).toBeNull();
  });

  it("prints headers and body verbatim as text", () => {
    const d = detail({ summary: HOSTILE });
    const el = render(DetailPane, props(d));
    expect(el.querySelector('[data-testid="detail-headers"]')?.textContent).toBe(d.headers_json);
    expect(el.querySelector('[data-testid="detail-body"]')?.textContent).toBe(d.body);
    expect(el.querySelector('[data-testid="detail-summary"]')?.textContent).toBe(HOSTILE);
    expect(el.querySelector("img, script, a")).toBeNull();
  });
});

describe("ResultList", () => {
  // jsdom lays nothing out and has no ResizeObserver, which `bind:clientHeight` needs; with no
  // sizes to report, an inert one is faithful.
  globalThis.ResizeObserver ??= class {
    observe() {}
    unobserve() {}
    disconnect() {}
  };

  it("keeps only a window of rows in the DOM however many are loaded", () => {
    const rows = Array.from({ length: 5000 }, (_, i) => hit(5000 - i));
    const el = render(ResultList, {
      rows,
      selected: 2,
      openId: null,
      terms: [],
      now: NOW,
      onpick: noop,
      onneedmore: noop,
    });
    const shown = el.querySelectorAll('[data-testid="result-row"]');
    // jsdom has no layout (height 0): only the overscan is rendered.
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.length).toBeLessThan(50);
    expect(shown[0]?.getAttribute("data-id")).toBe("id-5000");
    expect(el.querySelector('[aria-selected="true"]')?.getAttribute("data-id")).toBe("id-4998");
  });
});

describe("StatusBar", () => {
  const status = (unread: number, error: string | null = null) => ({
    connections: [{ name: "fedora", state: "connected" as const, detail: null }],
    unread,
    paused: false,
    paused_until: null,
    error,
  });
  const props = { error: null, loaded: 3, more: false, loading: false };

  it("counts the tray's new notifications apart from the history's unread rows", () => {
    const one = render(StatusBar, { ...props, status: status(1) });
    expect(one.textContent).toContain("1 new notification");
    expect(one.textContent).not.toContain("notifications");
    const two = render(StatusBar, { ...props, status: status(2) });
    expect(two.textContent).toContain("2 new notifications");
    const none = render(StatusBar, { ...props, status: status(0) });
    expect(none.textContent).not.toContain("notification");
    expect(none.textContent).toContain("fedora: connected");
  });

  it("says when the tray process is not running, as text", () => {
    const el = render(StatusBar, {
      ...props,
      status: { ...status(0, `Herald is not running <b>${HOSTILE}</b>`), connections: [] },
    });
    const shown = el.querySelector(".error-text");
    expect(shown?.textContent).toBe(`Herald is not running <b>${HOSTILE}</b>`);
    expect(el.querySelector("b, img, script")).toBeNull();
  });
});
