import { describe, expect, it } from "vitest";
import type { Settings } from "./bindings";
import { archiveProblem, connectionFromForm, fromForm, joinList, parseClock, parseCount, parseSpan, splitList, toForm } from "./settingsForm";

function settings(): Settings {
  return {
    connections: [
      {
        name: "default",
        url: "amqps://rabbitmq.fedoraproject.org/%2Fpublic_pubsub",
        username: null,
        ca_cert: "/etc/fedora-messaging/cacert.pem",
        certfile: null,
        keyfile: null,
        has_password: true,
        has_key_passphrase: false,
      },
    ],
    profile: { users: ["alice", "bob"], groups: [], packages: ["python-requests"], containers: [], modules: [], flatpaks: [], follows: [] },
    rules_toml: '[[herald.rules]]\nid = "mine"\n',
    unmatched: "history",
    notifications: { enabled: true, digest_window_secs: 30, rate_limit_per_minute: 6, quiet_hours: { start: "22:00", end: "07:00" }, summary_after_quiet: true },
    retention_days: 365,
    retention_max_rows: 2_000_000,
    catch_up: true,
    catch_up_max: "3d",
    datagrepper_url: "https://apps.fedoraproject.org/datagrepper/",
    config_path: "/home/alice/.config/herald/config.toml",
    base: '# mine\n[herald]\nretention_days = 365\n',
  };
}

describe("lists", () => {
  it("splits on commas and line breaks, trims, drops blanks and repeats", () => {
    expect(splitList(" alice, bob\n\ncarol ,\r\nalice,, ")).toEqual(["alice", "bob", "carol"]);
    expect(splitList("")).toEqual([]);
    expect(splitList(" , \n ")).toEqual([]);
  });

  it("keeps names with inner spaces and dashes whole", () => {
    expect(splitList("python-requests, rust-tokio")).toEqual(["python-requests", "rust-tokio"]);
  });

  it("round-trips through joinList", () => {
    const items = ["a", "python-requests", "c"];
    expect(splitList(joinList(items))).toEqual(items);
  });
});

describe("numbers and times", () => {
  it("parses whole non-negative numbers only", () => {
    expect(parseCount("30")).toBe(30);
    expect(parseCount(" 0 ")).toBe(0);
    expect(typeof parseCount("")).toBe("string");
    expect(typeof parseCount("-1")).toBe("string");
    expect(typeof parseCount("1.5")).toBe("string");
    expect(typeof parseCount("1e3")).toBe("string");
    expect(typeof parseCount("12abc")).toBe("string");
    expect(typeof parseCount("4294967296", 4_294_967_295)).toBe("string");
    expect(typeof parseCount("99999999999999999999")).toBe("string");
  });

  it("normalises clock times", () => {
    expect(parseClock("7:05")).toBe("07:05");
    expect(parseClock("22:00")).toBe("22:00");
    expect(parseClock("24:00")).toBeNull();
    expect(parseClock("12:60")).toBeNull();
    expect(parseClock("noon")).toBeNull();
    expect(parseClock("7")).toBeNull();
  });

  it("reads gap lengths as the config does", () => {
    expect(parseSpan("3d")).toBe("3d");
    expect(parseSpan(" 12 h ")).toBe("12h");
    expect(parseSpan("1w")).toBe("1w");
    for (const bad of ["", "d", "3", "3y", "-3d", "3 days", "1.5h", "3d4h"]) expect(parseSpan(bad)).toBeNull();
  });

  it("accepts only http(s) archive addresses without a login", () => {
    expect(archiveProblem("https://apps.fedoraproject.org/datagrepper/")).toBeNull();
    expect(archiveProblem(" http://localhost:5000/dg ")).toBeNull();
    expect(archiveProblem("  ")).toBe("is empty");
    expect(archiveProblem("apps.fedoraproject.org/datagrepper")).toContain("not a web address");
    expect(archiveProblem("ftp://archive.example/")).toContain("http:// or https://");
    expect(archiveProblem("javascript:alert(1)")).toContain("http:// or https://");
    expect(archiveProblem("https://me:secret@archive.example/")).toContain("user or password");
  });
});

describe("settings form", () => {
  it("round-trips settings unchanged", () => {
    const s = settings();
    const back = fromForm(toForm(s));
    expect(back).toEqual({ ok: true, settings: s });
  });

  it("shows nulls as empty fields and sends empty fields as null", () => {
    const form = toForm(settings());
    expect(form.connections[0]?.username).toBe("");
    form.connections[0]!.username = "  guest ";
    form.connections[0]!.ca_cert = "  ";
    const c = connectionFromForm(form.connections[0]!);
    expect(c.username).toBe("guest");
    expect(c.ca_cert).toBeNull();
  });

  it("converts edited fields to their types", () => {
    const form = toForm(settings());
    form.profile.packages = "python-requests\nrust-tokio, python-requests";
    form.profile.users = "";
    form.digestSecs = " 0 ";
    form.ratePerMinute = "12";
    form.retentionDays = "30";
    form.retentionRows = "5000";
    form.quietStart = "";
    form.quietEnd = "";
    form.notifyEnabled = false;
    const r = fromForm(form);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.settings.profile.packages).toEqual(["python-requests", "rust-tokio"]);
    expect(r.settings.profile.users).toEqual([]);
    expect(r.settings.notifications).toEqual({ enabled: false, digest_window_secs: 0, rate_limit_per_minute: 12, quiet_hours: null, summary_after_quiet: true });
    expect(r.settings.retention_days).toBe(30);
    expect(r.settings.retention_max_rows).toBe(5000);
    expect(r.settings.connections[0]?.has_password).toBe(true);
  });

  it("carries the catch-up switches, trimmed", () => {
    const form = toForm(settings());
    expect([form.catchUp, form.catchUpMax, form.datagrepperUrl]).toEqual([true, "3d", "https://apps.fedoraproject.org/datagrepper/"]);
    form.catchUp = false;
    form.catchUpMax = " 12 h ";
    form.datagrepperUrl = " https://archive.example/dg/ ";
    const r = fromForm(form);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect([r.settings.catch_up, r.settings.catch_up_max, r.settings.datagrepper_url]).toEqual([false, "12h", "https://archive.example/dg/"]);
  });

  it("reports every bad field and sends nothing", () => {
    const form = toForm(settings());
    form.digestSecs = "soon";
    form.retentionRows = "-5";
    form.quietStart = "23:00";
    form.quietEnd = "";
    form.connections[0]!.url = " ";
    form.catchUpMax = "three days";
    form.datagrepperUrl = "ftp://archive.example/";
    const r = fromForm(form);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.field).sort()).toEqual(["archive-url", "catch-up-max", "conn-url-default", "notify-digest", "notify-quiet-end", "retention-rows"]);
    expect(r.errors.find((e) => e.field === "catch-up-max")?.message).toContain("12h, 3d or 1w");
  });

  it("sends back the text the settings were read from, untouched by edits", () => {
    const form = toForm(settings());
    form.retentionDays = "30";
    form.rules_toml = "";
    const r = fromForm(form);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.settings.base).toBe(settings().base);
    expect(r.settings.retention_days).toBe(30);
  });

  it("sends no base when the shell gave none", () => {
    const older = { ...settings(), base: undefined } as unknown as Settings;
    const r = fromForm(toForm(older));
    expect(r.ok && r.settings.base).toBeNull();
    const none = fromForm(toForm({ ...settings(), base: null }));
    expect(none.ok && none.settings.base).toBeNull();
  });

  it("normalises quiet hours", () => {
    const form = toForm(settings());
    form.quietStart = "9:30";
    form.quietEnd = " 17:00 ";
    const r = fromForm(form);
    expect(r.ok && r.settings.notifications.quiet_hours).toEqual({ start: "09:30", end: "17:00" });
  });
});
