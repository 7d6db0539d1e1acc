#!/usr/bin/env python3
"""Draws Herald's icons as PNG files: the app icon, the tray states and one icon per source.

Every shape is a signed distance function over the unit square (y grows downwards). A pixel's
coverage comes from the distance at its centre, which anti-aliases edges at any size without
supersampling, so each size is drawn natively rather than scaled. Only the Python standard
library is used (zlib and struct write the PNGs), so the icons can be regenerated anywhere, and
the output is byte-for-byte reproducible.

    python3 icons/generate.py           # (re)write every icon (and the page's logo copy)
    python3 icons/generate.py --check   # exit 1 if a committed icon differs from the drawing

The app icon is also written for the freedesktop hicolor theme under icons/hicolor/, named
after the application id: a PNG drawn natively at each size desktops look up, and a scalable
SVG of the same shapes (the SVG has plain joins where the PNGs have small fillets).
"""

import math
import struct
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# --- Signed distance functions: negative inside, positive outside, in unit-square units. ---


def circle(cx, cy, r):
    return lambda x, y: math.hypot(x - cx, y - cy) - r


def rounded_box(cx, cy, hw, hh, r):
    def d(x, y):
        qx = abs(x - cx) - hw + r
        qy = abs(y - cy) - hh + r
        outside = math.hypot(max(qx, 0.0), max(qy, 0.0))
        return outside + min(max(qx, qy), 0.0) - r

    return d


def capsule(ax, ay, bx, by, r):
    """A segment from a to b with round caps: strokes for arrows, ticks and slashes."""
    vx, vy = bx - ax, by - ay
    vv = vx * vx + vy * vy

    def d(x, y):
        px, py = x - ax, y - ay
        h = min(max((px * vx + py * vy) / vv, 0.0), 1.0)
        return math.hypot(px - vx * h, py - vy * h) - r

    return d


def polyline(points, r):
    return union(*(capsule(*a, *b, r) for a, b in zip(points, points[1:])))


def polygon(points):
    """Exact distance to a simple polygon (winding test for the sign)."""
    n = len(points)

    def d(x, y):
        x0, y0 = points[0]
        best = (x - x0) ** 2 + (y - y0) ** 2
        sign = 1.0
        j = n - 1
        for i in range(n):
            xi, yi = points[i]
            xj, yj = points[j]
            ex, ey = xj - xi, yj - yi
            wx, wy = x - xi, y - yi
            h = min(max((wx * ex + wy * ey) / (ex * ex + ey * ey), 0.0), 1.0)
            bx, by = wx - ex * h, wy - ey * h
            best = min(best, bx * bx + by * by)
            c1 = y >= yi
            c2 = y < yj
            c3 = ex * wy > ey * wx
            if (c1 and c2 and c3) or (not c1 and not c2 and not c3):
                sign = -sign
            j = i
        return sign * math.sqrt(best)

    return d


def union(*shapes):
    return lambda x, y: min(s(x, y) for s in shapes)


def smooth_union(a, b, k):
    """Union with a fillet of size k, so joined parts read as one cast shape."""

    def d(x, y):
        da, db = a(x, y), b(x, y)
        h = min(max(0.5 + 0.5 * (db - da) / k, 0.0), 1.0)
        return db + (da - db) * h - k * h * (1.0 - h)

    return d


def intersect(a, b):
    return lambda x, y: max(a(x, y), b(x, y))


def subtract(a, b):
    return lambda x, y: max(a(x, y), -b(x, y))


def grow(a, r):
    return lambda x, y: a(x, y) - r


def outline(a, half_width):
    return lambda x, y: abs(a(x, y)) - half_width


def rotated_copies(shape_at_angle_zero, count, cx, cy):
    """Repeats a shape drawn on the +x axis around (cx, cy), e.g. the teeth of a gear."""
    sector = 2.0 * math.pi / count

    def d(x, y):
        px, py = x - cx, y - cy
        a = math.atan2(py, px)
        a = (a + sector / 2.0) % sector - sector / 2.0
        r = math.hypot(px, py)
        return shape_at_angle_zero(cx + r * math.cos(a), cy + r * math.sin(a))

    return d


# --- Paint ---


def hex_rgb(h):
    h = h.lstrip("#")
    return tuple(int(h[i : i + 2], 16) / 255.0 for i in (0, 2, 4))


def solid(colour):
    rgb = hex_rgb(colour)
    return lambda x, y: rgb


def vertical_gradient(top, bottom, y0=0.0, y1=1.0):
    a, b = hex_rgb(top), hex_rgb(bottom)

    def paint(x, y):
        t = min(max((y - y0) / (y1 - y0), 0.0), 1.0)
        return tuple(a[i] + (b[i] - a[i]) * t for i in range(3))

    return paint


def render(size, layers):
    """Composites (shape, paint) layers back to front; returns straight-alpha RGBA bytes."""
    premul = [[0.0, 0.0, 0.0, 0.0] for _ in range(size * size)]
    for shape, paint in layers:
        for j in range(size):
            y = (j + 0.5) / size
            for i in range(size):
                x = (i + 0.5) / size
                coverage = min(max(0.5 - shape(x, y) * size, 0.0), 1.0)
                if coverage == 0.0:
                    continue
                r, g, b = paint(x, y)
                px = premul[j * size + i]
                keep = 1.0 - coverage
                px[0] = r * coverage + px[0] * keep
                px[1] = g * coverage + px[1] * keep
                px[2] = b * coverage + px[2] * keep
                px[3] = coverage + px[3] * keep
    out = bytearray()
    for r, g, b, a in premul:
        if a <= 0.0:
            out += b"\0\0\0\0"
            continue
        out += bytes(round(min(c / a, 1.0) * 255) for c in (r, g, b))
        out.append(round(a * 255))
    return bytes(out)


def png(size, rgba):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    stride = size * 4
    raw = b"".join(b"\0" + rgba[row * stride : (row + 1) * stride] for row in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


# --- Glyphs (white, drawn over a coloured tile) ---

WHITE = solid("#ffffff")


def bell():
    dome = circle(0.5, 0.43, 0.175)
    skirt = polygon([(0.325, 0.43), (0.675, 0.43), (0.735, 0.665), (0.265, 0.665)])
    body = smooth_union(dome, skirt, 0.04)
    lip = rounded_box(0.5, 0.675, 0.255, 0.04, 0.04)
    knob = circle(0.5, 0.245, 0.045)
    clapper = circle(0.5, 0.765, 0.065)
    return union(smooth_union(body, lip, 0.03), knob, clapper)


def up_arrow():
    shaft = capsule(0.5, 0.72, 0.5, 0.32, 0.065)
    head = polyline([(0.31, 0.47), (0.5, 0.28), (0.69, 0.47)], 0.065)
    return union(shaft, head)


def gear():
    tooth = rounded_box(0.725, 0.5, 0.06, 0.058, 0.02)
    teeth = rotated_copies(tooth, 8, 0.5, 0.5)
    ring = union(circle(0.5, 0.5, 0.2), teeth)
    return subtract(ring, circle(0.5, 0.5, 0.085))


def layers_glyph():
    top = grow(polygon([(0.5, 0.24), (0.75, 0.37), (0.5, 0.5), (0.25, 0.37)]), 0.015)
    middle = polyline([(0.27, 0.51), (0.5, 0.63), (0.73, 0.51)], 0.045)
    bottom = polyline([(0.27, 0.64), (0.5, 0.76), (0.73, 0.64)], 0.045)
    return union(top, middle, bottom)


def check_mark():
    return polyline([(0.29, 0.53), (0.44, 0.68), (0.72, 0.35)], 0.07)


def flask():
    vessel = grow(
        polygon([(0.43, 0.27), (0.57, 0.27), (0.57, 0.42), (0.73, 0.72), (0.27, 0.72), (0.43, 0.42)]),
        0.035,
    )
    rim = rounded_box(0.5, 0.245, 0.12, 0.03, 0.03)
    glass = union(outline(vessel, 0.03), rim)
    liquid = intersect(grow(vessel, -0.065), lambda x, y: 0.55 - y)
    return union(glass, liquid)


def speech_bubble():
    balloon = rounded_box(0.5, 0.45, 0.25, 0.18, 0.08)
    tail = polygon([(0.34, 0.58), (0.48, 0.6), (0.31, 0.76)])
    bubble = smooth_union(balloon, tail, 0.02)
    dots = union(*(circle(x, 0.45, 0.038) for x in (0.385, 0.5, 0.615)))
    return subtract(bubble, dots)


# --- Icons ---

FEDORA_TOP, FEDORA_BOTTOM = "#5b9fe0", "#294172"


def app_icon(size):
    tile = rounded_box(0.5, 0.5, 0.44, 0.44, 0.1)
    return render(
        size,
        [
            (tile, vertical_gradient(FEDORA_TOP, FEDORA_BOTTOM, 0.06, 0.94)),
            (bell(), WHITE),
        ],
    )


def tray_icon(state, size=64):
    """One tile per state: the colour says connected or not, a badge says unread or paused."""
    tile = rounded_box(0.5, 0.5, 0.46, 0.46, 0.12)
    glyph = bell()
    base_paint = vertical_gradient(FEDORA_TOP, FEDORA_BOTTOM, 0.04, 0.96)
    badge = None
    if state == "unread":
        centre = (0.77, 0.23)
        badge = [(circle(*centre, 0.18), solid("#e5453a"))]
    elif state == "paused":
        centre = (0.76, 0.76)
        bars = union(
            rounded_box(0.715, 0.76, 0.025, 0.085, 0.012),
            rounded_box(0.805, 0.76, 0.025, 0.085, 0.012),
        )
        badge = [(circle(*centre, 0.2), solid("#f2a81d")), (bars, solid("#3b2a06"))]
    elif state == "offline":
        base_paint = vertical_gradient("#a3a8ae", "#575c63", 0.04, 0.96)
        slash = capsule(0.22, 0.22, 0.78, 0.78, 0.045)
        glyph = union(subtract(glyph, grow(slash, 0.06)), slash)
    layers = [(tile, base_paint), (glyph, WHITE)]
    if badge:
        # A transparent moat around the badge keeps it legible on any panel colour.
        moat = circle(*centre, 0.25)
        layers = [(subtract(shape, moat), paint) for shape, paint in layers] + badge
    return render(size, layers)


SOURCES = {
    # name: (top colour, bottom colour, glyph)
    "anitya": ("#4cbb6c", "#1f7a3a", up_arrow),
    "koji": ("#f59a4a", "#c4551a", gear),
    "pulp": ("#9d76dd", "#5a32a3", layers_glyph),
    "bodhi": ("#4f97e8", "#1f57a8", check_mark),
    "copr": ("#e5607f", "#a5243f", flask),
    "generic": ("#8d95a1", "#4b5260", speech_bubble),
}


def source_icon(name, size=64):
    top, bottom, glyph = SOURCES[name]
    disc = circle(0.5, 0.5, 0.47)
    return render(size, [(disc, vertical_gradient(top, bottom, 0.03, 0.97)), (glyph(), WHITE)])


APP_ID = "io.github.herald.Herald"
HICOLOR_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


def app_icon_svg():
    """The app icon as SVG, from the same geometry as app_icon (a 128-unit square)."""

    def n(v):
        return f"{v * 128:g}"

    def circle_el(cx, cy, r):
        return f'<circle cx="{n(cx)}" cy="{n(cy)}" r="{n(r)}"/>'

    def rect_el(cx, cy, hw, hh, r):
        return (
            f'<rect x="{n(cx - hw)}" y="{n(cy - hh)}" width="{n(2 * hw)}" height="{n(2 * hh)}" '
            f'rx="{n(r)}"/>'
        )

    skirt = " ".join(f"{n(x)},{n(y)}" for x, y in [(0.325, 0.43), (0.675, 0.43), (0.735, 0.665), (0.265, 0.665)])
    return "\n".join(
        [
            '<svg xmlns="http://www.w3.org/2000/svg" width="128" height="128" viewBox="0 0 128 128">',
            "  <defs>",
            f'    <linearGradient id="tile" x1="0" y1="{n(0.06)}" x2="0" y2="{n(0.94)}" gradientUnits="userSpaceOnUse">',
            f'      <stop offset="0" stop-color="{FEDORA_TOP}"/>',
            f'      <stop offset="1" stop-color="{FEDORA_BOTTOM}"/>',
            "    </linearGradient>",
            "  </defs>",
            '  <rect x="{0}" y="{0}" width="{1}" height="{1}" rx="{2}" fill="url(#tile)"/>'.format(n(0.06), n(0.88), n(0.1)),
            '  <g fill="#ffffff">',
            "    " + circle_el(0.5, 0.43, 0.175),
            f'    <polygon points="{skirt}"/>',
            "    " + rect_el(0.5, 0.675, 0.255, 0.04, 0.04),
            "    " + circle_el(0.5, 0.245, 0.045),
            "    " + circle_el(0.5, 0.765, 0.065),
            "  </g>",
            "</svg>",
            "",
        ]
    ).encode()


def all_icons():
    """(path relative to the repository root, size, RGBA) for every icon Herald ships."""
    app256 = app_icon(256)
    app128 = app_icon(128)
    yield "icons/icon.png", 256, app256
    yield "icons/128x128@2x.png", 256, app256
    yield "icons/128x128.png", 128, app128
    yield "icons/32x32.png", 32, app_icon(32)
    # The page is served only from its own folder, so its logo is a copy kept in step here.
    yield "ui/public/icon.png", 128, app128
    for state in ("normal", "unread", "offline", "paused"):
        yield f"icons/tray-{state}.png", 64, tray_icon(state)
    for name in SOURCES:
        yield f"icons/source-{name}.png", 64, source_icon(name)
    drawn = {256: app256, 128: app128}
    for size in HICOLOR_SIZES:
        rgba = drawn.get(size) or app_icon(size)
        yield f"icons/hicolor/{size}x{size}/apps/{APP_ID}.png", size, rgba


def all_files():
    """(path, bytes) for every file this script writes."""
    for name, size, rgba in all_icons():
        yield name, png(size, rgba)
    yield f"icons/hicolor/scalable/apps/{APP_ID}.svg", app_icon_svg()


def main(argv):
    check = "--check" in argv[1:]
    stale = []
    for name, data in all_files():
        path = ROOT / name
        if check:
            if not path.exists() or path.read_bytes() != data:
                stale.append(name)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            print(f"wrote {name} ({len(data)} bytes)")
    if stale:
        print("icons differ from icons/generate.py, rerun it: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
