import { describe, expect, it } from "vitest";
import { canOpen, isWebUrl, unknownHostNote } from "./links";

describe("isWebUrl", () => {
  it.each([
    "https://bodhi.fedoraproject.org/updates/FEDORA-2025-abc",
    "http://koji.fedoraproject.org/koji/taskinfo?taskID=1",
    "HTTPS://src.fedoraproject.org/rpms/python-requests",
    "https://copr.fedorainfracloud.org/coprs/g/python/python3.14/build/1/#frag",
  ])("accepts %s", (url) => {
    expect(isWebUrl(url)).toBe(true);
  });

  it.each([
    null,
    undefined,
    "",
    "javascript:alert(1)",
    "JavaScript://%0aalert(1)",
    "data:text/html,<script>alert(1)</script>",
    "file:///etc/passwd",
    "ftp://example.org/x",
    "mailto:someone@example.org",
    " https://example.org",
    "https://exa mple.org",
    "https://example.org/\nx",
    "https:///no-host",
    "https://",
    "//example.org/relative",
    "/updates/FEDORA-2025-abc",
  ])("refuses %j", (url) => {
    expect(isWebUrl(url)).toBe(false);
  });
});

describe("canOpen", () => {
  it("offers only web links the core trusts", () => {
    expect(canOpen("https://koji.fedoraproject.org/koji/x", true)).toBe(true);
    expect(canOpen("https://koji.fedoraproject.org/koji/x", false)).toBe(false);
    expect(canOpen("smb://koji.fedoraproject.org/x", true)).toBe(false);
    expect(canOpen(null, true)).toBe(false);
  });
});

describe("unknownHostNote", () => {
  it("names the host and the source it is not known for", () => {
    expect(unknownHostNote("evil.example", "copr")).toBe("Goes to evil.example, not a known Copr host: not opened");
    expect(unknownHostNote("evil.example", "unknown")).toBe("Goes to evil.example, not a known host: not opened");
  });
});
