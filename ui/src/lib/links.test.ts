import { describe, expect, it } from "vitest";
import { isWebUrl } from "./links";

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
