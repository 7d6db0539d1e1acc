import { describe, expect, it } from "vitest";
import type { UpdateView } from "./bindings";
import {
  behindText,
  branchChips,
  durationText,
  eventTone,
  filterPackages,
  gatingView,
  groupOf,
  groupPackages,
  karmaText,
  newestFirst,
  upstreamChip,
  versionOf,
} from "./packages";
import { branch, event, summary } from "./testdata";

const NOW = new Date("2025-03-10T12:00:00Z");

function update(fields: Partial<UpdateView> = {}): UpdateView {
  return {
    alias: "FEDORA-2025-abc",
    status: "testing",
    gating: null,
    gating_settled: false,
    karma: null,
    url: null,
    user: null,
    ...fields,
  };
}

function build(nvr: string, state: string) {
  return { nvr, state, sent_at: "2025-03-01T00:00:00Z", url: null };
}

describe("durationText", () => {
  it.each([
    [30_000, "under a minute"],
    [60_000, "1 minute"],
    [12 * 60_000, "12 minutes"],
    [3_600_000, "1 hour"],
    [5 * 3_600_000, "5 hours"],
    [24 * 3_600_000, "1 day"],
    [5 * 24 * 3_600_000 + 7_000_000, "5 days"],
    [-5, "under a minute"],
    [Number.NaN, "under a minute"],
  ])("%d ms → %s", (ms, text) => {
    expect(durationText(ms)).toBe(text);
  });
});

describe("behindText", () => {
  it("says which release Fedora lacks and for how long", () => {
    const p = summary("python-requests", {
      upstream: { version: "2.33.0", sent_at: "2025-03-05T11:00:00Z" },
      behind_upstream: true,
      behind_since: "2025-03-05T11:00:00Z",
      fedora_version: "2.31.0",
    });
    expect(behindText(p, NOW)).toBe("behind 2.33.0 for 5 days");
  });

  it("is nothing for a package that is current or unknown", () => {
    const upstream = { version: "1.0", sent_at: "2025-03-01T00:00:00Z" };
    expect(behindText(summary("a", { upstream, behind_upstream: false }), NOW)).toBeNull();
    expect(behindText(summary("a", { upstream, behind_upstream: null }), NOW)).toBeNull();
    expect(behindText(summary("a"), NOW)).toBeNull();
  });
});

describe("chips", () => {
  it("show upstream as waiting while Fedora is behind, done once it caught up", () => {
    const upstream = { version: "2.0", sent_at: "2025-03-01T00:00:00Z" };
    expect(upstreamChip(summary("a", { upstream, behind_upstream: true, fedora_version: "1.0" }))).toMatchObject({
      state: "waiting",
      text: "upstream 2.0",
      title: "Newest upstream release 2.0; Fedora has 1.0",
    });
    expect(upstreamChip(summary("a", { upstream, behind_upstream: false })).state).toBe("done");
    expect(upstreamChip(summary("a")).state).toBe("none");
  });

  it("follow a branch from build through testing to stable", () => {
    const states = (b: Parameters<typeof branchChips>[0]) => branchChips(b).map((c) => `${c.stage}:${c.state}`);
    expect(states(branch("f43"))).toEqual(["build:none", "testing:none", "stable:none"]);
    expect(states(branch("f43", { build: build("p-1.0-1.fc43", "building") }))).toEqual([
      "build:active",
      "testing:none",
      "stable:none",
    ]);
    expect(states(branch("f43", { build: build("p-1.0-1.fc43", "failed") }))[0]).toBe("build:failed");
    expect(
      states(branch("f43", { build: build("p-1.0-1.fc43", "complete"), update: update({ status: "pending" }) })),
    ).toEqual(["build:done", "testing:waiting", "stable:none"]);
    expect(states(branch("f43", { build: build("p-1.0-1.fc43", "complete"), update: update() }))).toEqual([
      "build:done",
      "testing:active",
      "stable:none",
    ]);
    expect(
      states(
        branch("f43", {
          build: build("p-1.0-1.fc43", "complete"),
          update: update({ status: "stable" }),
          stable: "p-1.0-1.fc43",
        }),
      ),
    ).toEqual(["build:done", "testing:done", "stable:done"]);
    // Rawhide has no updates to test: a build tagged stable is stable.
    expect(states(branch("rawhide", { build: build("p-1.0-1.fc44", "complete"), stable: "p-1.0-1.fc44" }))).toEqual([
      "build:done",
      "testing:none",
      "stable:done",
    ]);
  });

  it("name the version built and stable, and the update's status", () => {
    const [b, t, s] = branchChips(
      branch("f43", {
        build: build("python-requests-2.33.0-1.fc43", "complete"),
        update: update({ status: "testing" }),
        stable: "python-requests-2.31.0-2.fc43",
      }),
    );
    expect(b?.text).toBe("build 2.33.0-1.fc43");
    expect(b?.title).toBe("python-requests-2.33.0-1.fc43: complete");
    expect(t?.text).toBe("in testing");
    expect(t?.title).toBe("Update FEDORA-2025-abc: testing");
    expect(s?.text).toBe("stable 2.31.0-2.fc43");
  });

  it("word the update's status for the testing chip", () => {
    const text = (status: string | null) => branchChips(branch("f43", { update: update({ status }) }))[1]?.text;
    expect(text("pending")).toBe("testing pending");
    expect(text(null)).toBe("testing pending");
    expect(text("testing")).toBe("in testing");
    expect(text("stable")).toBe("testing");
    expect(text("obsolete")).toBe("obsolete");
    expect(text("side_tag_active")).toBe("side tag active");
  });
});

describe("versionOf", () => {
  it.each([
    ["python-requests-2.33.0-1.fc43", "2.33.0-1.fc43"],
    ["kernel-6.12.1-200.fc41", "6.12.1-200.fc41"],
    ["odd", "odd"],
    ["a-1", "a-1"],
  ])("%s → %s", (nvr, version) => {
    expect(versionOf(nvr)).toBe(version);
  });
});

describe("gatingView and karmaText", () => {
  it("call a decision that has not held long enough settling", () => {
    expect(gatingView(update({ gating: "passed", gating_settled: true }))).toEqual({
      state: "passed",
      settled: true,
      text: "gating passed",
    });
    expect(gatingView(update({ gating: "failed", gating_settled: false }))).toEqual({
      state: "failed",
      settled: false,
      text: "gating failed (settling)",
    });
    expect(gatingView(update({ gating: "waiting", gating_settled: false }))?.text).toBe("gating waiting");
    expect(gatingView(update({ gating: "something new" }))?.state).toBe("waiting");
    expect(gatingView(update())).toBeNull();
    expect(gatingView(null)).toBeNull();
  });

  it("sign karma", () => {
    expect(karmaText(2)).toBe("karma +2");
    expect(karmaText(-1)).toBe("karma -1");
    expect(karmaText(0)).toBe("karma 0");
    expect(karmaText(null)).toBeNull();
  });
});

describe("grouping", () => {
  const behind = summary("behind", { behind_upstream: true });
  const ftbfs = summary("ftbfs", { ftbfs: true });
  const broken = summary("broken", { branches: [branch("f43", { build: build("broken-1-1.fc43", "failed") })] });
  const gated = summary("gated", {
    branches: [branch("f43", { update: update({ gating: "failed", gating_settled: true }) })],
  });
  const settling = summary("settling", {
    branches: [branch("f43", { update: update({ gating: "failed", gating_settled: false }) })],
  });
  const done = summary("done", { branches: [branch("f43", { update: update({ status: "stable" }) })] });
  const quiet = summary("quiet", { behind_upstream: false });

  it("puts what needs the packager first, then updates in flight, then the rest", () => {
    expect([behind, ftbfs, broken, gated].map(groupOf)).toEqual(["attention", "attention", "attention", "attention"]);
    expect(groupOf(settling)).toBe("in_flight");
    expect(groupOf(done)).toBe("quiet");
    expect(groupOf(quiet)).toBe("quiet");
  });

  it("keeps the shell's order inside each group and leaves empty groups out", () => {
    const groups = groupPackages([quiet, settling, behind, done, gated]);
    expect(groups.map((g) => [g.label, g.packages.map((p) => p.package)])).toEqual([
      ["Needs attention", ["behind", "gated"]],
      ["Updates in flight", ["settling"]],
      ["Up to date", ["quiet", "done"]],
    ]);
    expect(groupPackages([])).toEqual([]);
  });

  it("filters by any part of the name, in any case", () => {
    const list = [summary("python-requests"), summary("python-urllib3"), summary("kernel")];
    expect(filterPackages(list, " PYTHON ").map((p) => p.package)).toEqual(["python-requests", "python-urllib3"]);
    expect(filterPackages(list, "").length).toBe(3);
    expect(filterPackages(list, "nothing")).toEqual([]);
  });
});

describe("timeline", () => {
  it("lists the newest first, the one stored last first among equal times", () => {
    const events = [
      event("a", { sent_at: "2025-03-01T00:00:00Z" }),
      event("c", { sent_at: "2025-03-03T00:00:00Z" }),
      event("b", { sent_at: "2025-03-02T00:00:00Z" }),
      event("b2", { sent_at: "2025-03-02T00:00:00Z" }),
    ];
    expect(newestFirst(events).map((e) => e.id)).toEqual(["c", "b2", "b", "a"]);
  });

  it.each([
    ["failed", "error"],
    ["failing", "error"],
    ["failed: 1 of 2 required tests failed", "error"],
    ["waiting: 2 results missing", "warning"],
    ["-1 karma", "warning"],
    ["complete", "success"],
    ["passed: all required tests passed", "success"],
    ["pushed to stable", "success"],
    ["+1 karma", "success"],
    ["tagged into f43-updates-candidate", "neutral"],
    [null, "neutral"],
  ])("state %s reads as %s", (state, tone) => {
    expect(eventTone(event("x", { state }))).toBe(tone);
  });
});
