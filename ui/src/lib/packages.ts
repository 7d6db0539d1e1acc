// The Packages view's logic, as pure functions of the package model's summaries: the stage
// chips of each branch (upstream → build → testing → stable), how long a package has waited
// for its upstream release, gating and karma, the attention groups the list is shown in, and
// a timeline newest first.
import type { BranchView, PackageSummary, Stage, TimelineEvent, UpdateView } from "./bindings";

/** How a stage stands: done, under way, waiting for something, failed, or not reached. */
export type ChipState = "done" | "active" | "waiting" | "failed" | "none";

export type ChipStage = "upstream" | "build" | "testing" | "stable";

export type Chip = {
  stage: ChipStage;
  state: ChipState;
  /** What the chip says: the stage and a word of its state. */
  text: string;
  /** The longer story, for the tooltip. */
  title: string;
};

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "5 days", "1 day", "3 hours", "12 minutes", "under a minute". */
export function durationText(ms: number): string {
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? "" : "s"}`;
  if (!Number.isFinite(ms) || ms < MINUTE) return "under a minute";
  if (ms < HOUR) return plural(Math.floor(ms / MINUTE), "minute");
  if (ms < DAY) return plural(Math.floor(ms / HOUR), "hour");
  return plural(Math.floor(ms / DAY), "day");
}

/** The part of an NVR after the name: "2.33.0-1.fc43" of "python-requests-2.33.0-1.fc43". */
export function versionOf(nvr: string): string {
  const release = nvr.lastIndexOf("-");
  if (release <= 0) return nvr;
  const version = nvr.lastIndexOf("-", release - 1);
  return version <= 0 ? nvr : nvr.slice(version + 1);
}

/** "behind 2.33.0 for 5 days" while Fedora lacks the newest upstream release; else null. */
export function behindText(p: PackageSummary, now: Date): string | null {
  if (p.behind_upstream !== true || p.upstream === null) return null;
  const since = Date.parse(p.behind_since ?? p.upstream.sent_at);
  if (Number.isNaN(since)) return `behind ${p.upstream.version}`;
  return `behind ${p.upstream.version} for ${durationText(now.getTime() - since)}`;
}

/** The package's upstream chip: done when Fedora has the newest release, waiting when behind. */
export function upstreamChip(p: PackageSummary): Chip {
  if (p.upstream === null) {
    return { stage: "upstream", state: "none", text: "upstream", title: "No upstream release seen" };
  }
  const version = p.upstream.version;
  const fedora = p.fedora_version === null ? "" : `; Fedora has ${p.fedora_version}`;
  const state: ChipState = p.behind_upstream === true ? "waiting" : p.behind_upstream === false ? "done" : "active";
  return { stage: "upstream", state, text: `upstream ${version}`, title: `Newest upstream release ${version}${fedora}` };
}

const BUILD_STATES: Record<string, ChipState> = {
  complete: "done",
  building: "active",
  failed: "failed",
  canceled: "none",
  deleted: "none",
};

function buildChip(b: BranchView): Chip {
  if (b.build === null) return { stage: "build", state: "none", text: "build", title: "No build seen" };
  const state = BUILD_STATES[b.build.state] ?? "none";
  return {
    stage: "build",
    state,
    text: state === "done" ? `build ${versionOf(b.build.nvr)}` : `build ${b.build.state}`,
    title: `${b.build.nvr}: ${b.build.state}`,
  };
}

/** Bodhi's update statuses as a chip: in testing (or pushed on), waiting to be pushed, or gone. */
const UPDATE_STATES: Record<string, ChipState> = {
  pending: "waiting",
  testing: "active",
  stable: "done",
  obsolete: "none",
  unpushed: "none",
  revoked: "none",
  side_tag_active: "waiting",
  side_tag_expired: "none",
};

/** What the testing chip says for an update's status: where it is, in a word or two. */
function testingText(status: string | null, state: ChipState): string {
  if (state === "done") return "testing";
  if (status === "testing") return "in testing";
  if (status === null || status === "pending") return "testing pending";
  return status.replaceAll("_", " ");
}

function testingChip(b: BranchView): Chip {
  const u = b.update;
  if (u === null) return { stage: "testing", state: "none", text: "testing", title: "No update seen" };
  const state = u.status === null ? "waiting" : (UPDATE_STATES[u.status] ?? "none");
  return {
    stage: "testing",
    state,
    text: testingText(u.status, state),
    title: `Update ${u.alias}: ${u.status ?? "submitted"}`,
  };
}

function stableChip(b: BranchView): Chip {
  if (b.stable !== null) {
    return { stage: "stable", state: "done", text: `stable ${versionOf(b.stable)}`, title: `${b.stable} is stable` };
  }
  if (b.update?.status === "stable") {
    return { stage: "stable", state: "done", text: "stable", title: `Update ${b.update.alias} is stable` };
  }
  return { stage: "stable", state: "none", text: "stable", title: "Not stable yet" };
}

/** One branch's chips, in the order of the chain: build → testing → stable. */
export function branchChips(b: BranchView): Chip[] {
  return [buildChip(b), testingChip(b), stableChip(b)];
}

export type GatingView = {
  state: "passed" | "failed" | "waiting";
  settled: boolean;
  text: string;
};

/** Greenwave's decision on the update, "settling" until it has held long enough to count. */
export function gatingView(u: UpdateView | null): GatingView | null {
  if (u === null || u.gating === null) return null;
  const state = u.gating === "passed" || u.gating === "failed" ? u.gating : "waiting";
  const settled = state !== "waiting" && u.gating_settled;
  const settling = state !== "waiting" && !settled ? " (settling)" : "";
  return { state, settled, text: `gating ${state}${settling}` };
}

/** "karma +2", "karma -1", "karma 0"; null when unknown. */
export function karmaText(karma: number | null): string | null {
  if (karma === null) return null;
  return `karma ${karma > 0 ? "+" : ""}${karma}`;
}

export type Group = "attention" | "in_flight" | "quiet";

export const GROUP_LABELS: Record<Group, string> = {
  attention: "Needs attention",
  in_flight: "Updates in flight",
  quiet: "Up to date",
};

/**
 * Which group a package is listed in, the way the shell orders them: behind upstream,
 * failing to build or gating failed need the packager; an update on its way is in flight.
 */
export function groupOf(p: PackageSummary): Group {
  const failedBuild = p.branches.some((b) => b.build?.state === "failed");
  const gatingFailed = p.branches.some((b) => b.update?.gating === "failed" && b.update.gating_settled);
  if (p.behind_upstream === true || p.ftbfs === true || failedBuild || gatingFailed) return "attention";
  const inFlight = p.branches.some(
    (b) => b.update !== null && b.update.status !== "stable" && b.update.status !== "obsolete",
  );
  return inFlight ? "in_flight" : "quiet";
}

export type PackageGroup = { group: Group; label: string; packages: PackageSummary[] };

/** The packages in their groups, keeping the shell's order inside each; empty groups left out. */
export function groupPackages(list: readonly PackageSummary[]): PackageGroup[] {
  const order: Group[] = ["attention", "in_flight", "quiet"];
  const groups = new Map<Group, PackageSummary[]>(order.map((g) => [g, []]));
  for (const p of list) groups.get(groupOf(p))?.push(p);
  return order
    .map((group) => ({ group, label: GROUP_LABELS[group], packages: groups.get(group) ?? [] }))
    .filter((g) => g.packages.length > 0);
}

/** The packages whose name contains `text` (any case); all of them for blank text. */
export function filterPackages(list: readonly PackageSummary[], text: string): PackageSummary[] {
  const needle = text.trim().toLowerCase();
  if (needle === "") return [...list];
  return list.filter((p) => p.package.toLowerCase().includes(needle));
}

const STAGE_LABELS: Record<Stage, string> = {
  upstream: "upstream",
  hotness: "hotness",
  bug: "bug",
  commit: "commit",
  build: "build",
  tag: "tag",
  update: "update",
  ci: "CI",
  gating: "gating",
  feedback: "feedback",
  ftbfs: "FTBFS",
  copr: "Copr",
};

export function stageLabel(stage: Stage): string {
  return STAGE_LABELS[stage] ?? stage;
}

/** How a timeline event's state reads as a tone: failures stand out, the rest stays quiet. */
export function eventTone(e: TimelineEvent): "error" | "warning" | "success" | "neutral" {
  const state = (e.state ?? "").toLowerCase();
  if (/^(failed|failing|canceled|error)\b/.test(state)) return "error";
  if (/^(waiting|needs_inspection)\b/.test(state) || /^-\d+ karma/.test(state)) return "warning";
  if (/^(complete|passed|succeeded|ok|pushed to stable|stable)\b/.test(state) || /^\+\d+ karma/.test(state)) {
    return "success";
  }
  return "neutral";
}

/** The timeline as the pane lists it: newest first, and among events sent at the same time, the one stored last first. */
export function newestFirst(events: readonly TimelineEvent[]): TimelineEvent[] {
  const time = (e: TimelineEvent) => {
    const t = Date.parse(e.sent_at);
    return Number.isNaN(t) ? 0 : t;
  };
  // A stable sort of the reversed list keeps later-stored events first among equals.
  return [...events].reverse().sort((a, b) => time(b) - time(a));
}
