"""Make Qt's SVG readable by every SVG renderer, not only Qt's and browsers'.

``QSvgGenerator`` writes each plot curve in data coordinates inside a group whose ``transform``
maps data to the page (for a log axis, something like ``matrix(4.9e-05,0,0,-60,302,769)``), and
marks cosmetic (fixed-width) pens ``vector-effect="non-scaling-stroke"``. Renderers without
that SVG Tiny 1.2 feature (librsvg, hence GNOME and many converters; older Inkscape and
Illustrator) scale the stroke with the matrix: a 2 px line becomes a 120 px band and error bars
become black blocks. :func:`flatten_transforms` applies each such group's matrix to its shapes'
coordinates and drops the matrix, so strokes are plain page pixels for every renderer.

Pure XML work (no Qt). Groups it cannot flatten exactly (text, images, relative path commands,
a scaling stroke under a non-uniform matrix) are left as Qt wrote them.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
_Q = f"{{{SVG_NS}}}"
_MATRIX = re.compile(r"^\s*matrix\(([^)]*)\)\s*$")
_PATH_TOKEN = re.compile(r"[A-Za-z]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_PAIR_COUNT = {"M": 1, "L": 1, "C": 3, "Q": 2, "Z": 0}  # absolute commands Qt writes
_SHAPES = {"path", "polyline", "polygon", "rect", "line"}


def _num(v: float) -> str:
    s = f"{v:.3f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _matrix(text: str | None) -> tuple[float, ...] | None:
    if not text:
        return None
    m = _MATRIX.match(text)
    if not m:
        return None
    try:
        vals = tuple(float(x) for x in re.split(r"[\s,]+", m.group(1).strip()))
    except ValueError:
        return None
    return vals if len(vals) == 6 and all(math.isfinite(v) for v in vals) else None


def _apply(m, x: float, y: float) -> tuple[float, float]:
    a, b, c, d, e, f = m
    return a * x + c * y + e, b * x + d * y + f


def _path(d: str, m) -> str | None:
    tokens = _PATH_TOKEN.findall(d)
    out: list[str] = []
    i = 0
    cmd = None
    while i < len(tokens):
        tok = tokens[i]
        if tok.isalpha():
            if tok not in _PAIR_COUNT:
                return None  # relative or arc commands: leave the group as it is
            cmd = tok
            out.append(tok)
            i += 1
            if tok == "Z":
                continue
        if cmd is None or cmd == "Z":
            return None
        pairs = []
        for _ in range(_PAIR_COUNT[cmd]):
            if i + 1 >= len(tokens) or tokens[i].isalpha() or tokens[i + 1].isalpha():
                return None
            x, y = _apply(m, float(tokens[i]), float(tokens[i + 1]))
            pairs.append(f"{_num(x)},{_num(y)}")
            i += 2
        out.append(" ".join(pairs))
    return " ".join(out)


def _points(text: str, m) -> str | None:
    vals = [float(v) for v in re.split(r"[\s,]+", text.strip()) if v]
    if len(vals) % 2:
        return None
    pts = (_apply(m, vals[k], vals[k + 1]) for k in range(0, len(vals), 2))
    return " ".join(f"{_num(x)},{_num(y)}" for x, y in pts)


def _flatten_shape(el: ET.Element, m) -> bool:
    """Apply ``m`` to one shape in place; False (and nothing changed) when it cannot."""
    tag = el.tag.removeprefix(_Q)
    if tag == "path":
        d = _path(el.get("d", ""), m)
        if d is None:
            return False
        el.set("d", d)
    elif tag in ("polyline", "polygon"):
        pts = _points(el.get("points", ""), m)
        if pts is None:
            return False
        el.set("points", pts)
    elif tag == "line":
        x1, y1 = _apply(m, float(el.get("x1", 0)), float(el.get("y1", 0)))
        x2, y2 = _apply(m, float(el.get("x2", 0)), float(el.get("y2", 0)))
        for k, v in (("x1", x1), ("y1", y1), ("x2", x2), ("y2", y2)):
            el.set(k, _num(v))
    elif tag == "rect":
        if el.get("rx") or el.get("ry"):
            return False
        x, y = float(el.get("x", 0)), float(el.get("y", 0))
        w, h = float(el.get("width", 0)), float(el.get("height", 0))
        corners = [
            _apply(m, x, y),
            _apply(m, x + w, y),
            _apply(m, x + w, y + h),
            _apply(m, x, y + h),
        ]
        for k in ("x", "y", "width", "height"):
            el.attrib.pop(k, None)
        el.tag = _Q + "path"
        el.set("d", "M " + " L ".join(f"{_num(px)},{_num(py)}" for px, py in corners) + " Z")
    else:
        return False
    return True


def _scale_stroke(el: ET.Element, factor: float) -> None:
    for key in ("stroke-width", "stroke-dashoffset"):
        if el.get(key):
            el.set(key, _num(float(el.get(key)) * factor))
    dash = el.get("stroke-dasharray")
    if dash and dash != "none":
        el.set(
            "stroke-dasharray",
            ",".join(_num(float(v) * factor) for v in re.split(r"[\s,]+", dash.strip()) if v),
        )


def _flatten_group(g: ET.Element) -> bool:
    m = _matrix(g.get("transform"))
    children = list(g)
    if m is None or not children:
        return False
    if any(ch.tag.removeprefix(_Q) not in _SHAPES for ch in children):
        return False
    a, b, c, d = m[:4]
    stroked = g.get("stroke", "none") != "none"
    scaling = [ch for ch in children if ch.get("vector-effect") != "non-scaling-stroke"]
    factor = 1.0
    if stroked and scaling:
        # a scaling stroke stays exact only under a uniform (conformal) matrix
        sx, sy = math.hypot(a, b), math.hypot(c, d)
        if abs(a * c + b * d) > 1e-9 * max(sx * sy, 1e-300) or abs(sx - sy) > 1e-6 * max(sx, sy):
            return False
        factor = sx
    originals = [(ch.tag, dict(ch.attrib)) for ch in children]
    for ch in children:
        if not _flatten_shape(ch, m):
            for el, (tag, attrib) in zip(children, originals, strict=True):  # undo
                el.tag = tag
                el.attrib.clear()
                el.attrib.update(attrib)
            return False
    for ch in children:
        if ch.get("vector-effect") == "non-scaling-stroke":
            ch.attrib.pop("vector-effect")
        elif stroked and factor != 1.0:
            for key in ("stroke-width", "stroke-dasharray", "stroke-dashoffset"):
                if g.get(key) and not ch.get(key):
                    ch.set(key, g.get(key))
            _scale_stroke(ch, factor)
    del g.attrib["transform"]
    return True


def flatten_transforms(
    svg: bytes, width_px: int | None = None, height_px: int | None = None
) -> bytes:
    """The SVG with shape groups' matrices applied to their coordinates (see the module
    docstring); ``width_px``/``height_px`` set the document size in CSS pixels (96 per inch)."""
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    root = ET.fromstring(svg)
    if width_px is not None and height_px is not None:
        root.set("width", f"{int(width_px)}px")
        root.set("height", f"{int(height_px)}px")
    for g in list(root.iter(_Q + "g")):
        _flatten_group(g)
    body = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n' + body).encode("utf-8")
