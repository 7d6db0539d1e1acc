import { describe, expect, it } from "vitest";
import { buildQuery, clean, emptyForm, formKey, isFiltered, liveVerdict, rangeSince, topicMatches } from "./query";
import { hit, query } from "./testdata";

const NOW = new Date("2025-03-10T12:00:00.000Z");

describe("buildQuery", () => {
  it("sends nothing for an empty form but the page size", () => {
    expect(buildQuery(emptyForm(), NOW)).toEqual(query({ limit: 100 }));
  });

  it("trims every text field and turns blanks into null", () => {
    const q = buildQuery({ ...emptyForm(), text: "  koji  failed ", user: " ", package: "\tpython-requests\n", topic: "", source: "koji" }, NOW);
    expect(q.text).toBe("koji  failed");
    expect(q.user).toBeNull();
    expect(q.package).toBe("python-requests");
    expect(q.topic).toBeNull();
    expect(q.source).toBe("koji");
  });

  it("maps the severity choice to the minimum level", () => {
    expect(buildQuery({ ...emptyForm(), severity: "any" }, NOW).severity_min).toBeNull();
    expect(buildQuery({ ...emptyForm(), severity: "info" }, NOW).severity_min).toBe(20);
    expect(buildQuery({ ...emptyForm(), severity: "warning" }, NOW).severity_min).toBe(30);
    expect(buildQuery({ ...emptyForm(), severity: "error" }, NOW).severity_min).toBe(40);
  });

  it("turns the time range into `since` counted back from now", () => {
    expect(buildQuery({ ...emptyForm(), range: "1h" }, NOW).since).toBe("2025-03-10T11:00:00.000Z");
    expect(buildQuery({ ...emptyForm(), range: "24h" }, NOW).since).toBe("2025-03-09T12:00:00.000Z");
    expect(buildQuery({ ...emptyForm(), range: "7d" }, NOW).since).toBe("2025-03-03T12:00:00.000Z");
    expect(buildQuery({ ...emptyForm(), range: "30d" }, NOW).since).toBe("2025-02-08T12:00:00.000Z");
    expect(rangeSince("any", NOW)).toBeNull();
  });

  it("passes unread-only and the page size, and never a cursor", () => {
    const q = buildQuery({ ...emptyForm(), unreadOnly: true }, NOW, 25);
    expect(q.unread_only).toBe(true);
    expect(q.limit).toBe(25);
    expect(q.before).toBeNull();
    expect(q.until).toBeNull();
  });
});

describe("form helpers", () => {
  it("clean keeps inner spaces", () => {
    expect(clean("  a b  ")).toBe("a b");
    expect(clean(" \n ")).toBeNull();
  });

  it("isFiltered sees any narrowing and ignores blanks", () => {
    expect(isFiltered(emptyForm())).toBe(false);
    expect(isFiltered({ ...emptyForm(), text: "   " })).toBe(false);
    expect(isFiltered({ ...emptyForm(), text: "x" })).toBe(true);
    expect(isFiltered({ ...emptyForm(), severity: "error" })).toBe(true);
    expect(isFiltered({ ...emptyForm(), range: "7d" })).toBe(true);
    expect(isFiltered({ ...emptyForm(), unreadOnly: true })).toBe(true);
  });

  it("formKey changes with meaning, not with whitespace", () => {
    const a = formKey({ ...emptyForm(), text: "koji" });
    expect(formKey({ ...emptyForm(), text: " koji " })).toBe(a);
    expect(formKey({ ...emptyForm(), text: "koji", range: "1h" })).not.toBe(a);
    expect(formKey({ ...emptyForm(), text: "kojo" })).not.toBe(a);
  });
});

describe("topicMatches follows AMQP like the history search", () => {
  it.each([
    ["a.b", "a.b", true],
    ["a.*", "a.b", true],
    ["a.*", "a.b.c", false],
    ["a.*", "a", false],
    ["a.#", "a", true],
    ["a.#", "a.b.c", true],
    ["#.c", "c", true],
    ["#.c", "a.b.c", true],
    ["a.#.c", "a.c", true],
    ["a.#.c", "a.x.y.c", true],
    ["a.#.c", "a.x.y", false],
    ["#", "anything.at.all", true],
    ["*.b", "a.b", true],
    ["a+b.c", "a+b.c", true],
    ["a+b.c", "aab.c", false],
    ["org.*.prod.koji.#", "org.fedoraproject.prod.koji.build.state.change", true],
    ["org.*.prod.koji.#", "org.fedoraproject.stg.koji.build.state.change", false],
    ["a.b", "a.bc", false],
    ["#.#", "a", true],
  ])("%s ~ %s is %s", (pattern, topic, ok) => {
    expect(topicMatches(pattern, topic)).toBe(ok);
  });
});

describe("liveVerdict", () => {
  const koji = hit(5, {
    source: "koji",
    severity: 40,
    users: ["alice"],
    packages: ["python-requests"],
    topic: "org.fedoraproject.prod.buildsys.build.state.change",
    sent_at: "2025-03-10T11:30:00Z",
  });

  it("shows everything to an empty query", () => {
    expect(liveVerdict(koji, query())).toBe("show");
  });

  it("checks each structured filter exactly", () => {
    expect(liveVerdict(koji, query({ source: "koji" }))).toBe("show");
    expect(liveVerdict(koji, query({ source: "bodhi" }))).toBe("hide");
    expect(liveVerdict(koji, query({ severity_min: 40 }))).toBe("show");
    expect(liveVerdict({ ...koji, severity: 30 }, query({ severity_min: 40 }))).toBe("hide");
    expect(liveVerdict(koji, query({ user: "alice" }))).toBe("show");
    expect(liveVerdict(koji, query({ user: "ali" }))).toBe("hide");
    expect(liveVerdict(koji, query({ package: "python-requests" }))).toBe("show");
    expect(liveVerdict(koji, query({ package: "python" }))).toBe("hide");
    expect(liveVerdict(koji, query({ topic: "#.buildsys.#" }))).toBe("show");
    expect(liveVerdict(koji, query({ topic: "*.buildsys.#" }))).toBe("hide");
    expect(liveVerdict(koji, query({ unread_only: true }))).toBe("show");
    expect(liveVerdict({ ...koji, read: true }, query({ unread_only: true }))).toBe("hide");
    expect(liveVerdict(koji, query({ since: "2025-03-10T11:00:00Z" }))).toBe("show");
    expect(liveVerdict(koji, query({ since: "2025-03-10T11:45:00Z" }))).toBe("hide");
  });

  it("cannot judge full text, but still hides what other filters exclude", () => {
    expect(liveVerdict(koji, query({ text: "failed" }))).toBe("unknown");
    expect(liveVerdict(koji, query({ text: "failed", source: "copr" }))).toBe("hide");
  });
});
