"""Runs flatpak-node-generator on the ui's package-lock.json, with the registry data it would
fetch itself taken from npm instead, so that only npm talks to the registry:

- each tarball's size (for npm's cache index) is read from npm's own cache, which `npm ci`
  fills; a locked package it lacks (another platform's optional binary) is added with
  `npm cache add`;
- the esbuild binaries' package data comes from `npm view`.

The output is what the generator writes when it downloads them itself.

    node_sources.py LOCKFILE OUTPUT
"""

import asyncio
import base64
import json
import re
import subprocess
import sys
from pathlib import Path

from flatpak_node_generator import main as generator
from flatpak_node_generator.requests import Requests
from flatpak_node_generator.url_metadata import RemoteUrlMetadata

REGISTRY = "https://registry.npmjs.org/"
# https://registry.npmjs.org/<name>/<version>: one version's package data.
VERSION_URL = re.compile(r"^https://registry\.npmjs\.org/((?:@[^/]+/)?[^/@]+)/([^/]+)$")


def npm(*args):
    return subprocess.run(["npm", *args], check=True, capture_output=True, text=True).stdout


def cached_tarball(cache, integrity):
    algorithm, digest = integrity.split("-", 1)
    hexdigest = base64.b64decode(digest).hex()
    return cache / "content-v2" / algorithm / hexdigest[:2] / hexdigest[2:4] / hexdigest[4:]


def tarball_sizes(lockfile):
    """{tarball URL: size} for every package in the lock, from npm's cache."""
    cache = Path(npm("config", "get", "cache").strip()) / "_cacache"
    packages = json.loads(Path(lockfile).read_text())["packages"]
    locked = {
        info["resolved"]: info["integrity"]
        for info in packages.values()
        if info.get("resolved", "").startswith(REGISTRY)
    }
    missing = [url for url, integrity in locked.items() if not cached_tarball(cache, integrity).is_file()]
    if missing:
        npm("cache", "add", *missing)
    sizes = {}
    for url, integrity in locked.items():
        path = cached_tarball(cache, integrity)
        if not path.is_file():
            sys.exit(f"npm did not cache {url}")
        sizes[url] = path.stat().st_size
    return sizes


class NpmRequests(Requests):
    """Answers the generator's registry requests through npm."""

    async def read_all(self, url, *, cachable=False):
        match = VERSION_URL.match(url)
        if not match:
            raise RuntimeError(f"the generator asked for {url}, which npm cannot answer")
        name, version = match.groups()
        dist = json.loads(npm("view", f"{name}@{version}", "dist", "--json"))
        return json.dumps({"name": name, "version": version, "dist": dist}).encode()


def main():
    lockfile, output = sys.argv[1:]
    sizes = tarball_sizes(lockfile)

    async def get_size(cls, url, *, cachable):
        return sizes[url]

    RemoteUrlMetadata.get_size = classmethod(get_size)
    Requests.instance = NpmRequests()
    sys.argv = ["flatpak-node-generator", "--no-requests-cache", "-o", output, "npm", lockfile]
    generator.main()


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    main()
