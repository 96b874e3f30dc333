"""Inline SVG trend charts: vector, readable in greyscale (solid black line, filled markers, a dashed
target line, a dotted England line, direct labels at the right of the last point of each line), each
with a text alternative (title and description).

Returns markup as a `markupsafe.Markup`; every text in it is escaped here.
"""

from datetime import date

from markupsafe import Markup, escape

WIDTH, HEIGHT = 520, 170
LEFT, RIGHT, TOP, BOTTOM = 48, 92, 14, 30
# Presentation attributes rather than CSS, so browsers and WeasyPrint draw the chart the same.
FONT = 'font-family="Liberation Sans, Arial, DejaVu Sans, sans-serif"'
AXIS = f'{FONT} font-size="10" fill="#383f43"'
GRID = 'stroke="#c8c8c8" stroke-width="0.6"'
TARGET = 'stroke="#505a5f" stroke-width="1.2" stroke-dasharray="6 3"'
LAST = f'{FONT} font-size="11" font-weight="bold" fill="#0b0c0c"'
ENGLAND = 'stroke="#505a5f" stroke-width="1.4" stroke-dasharray="1.5 2.5" stroke-linecap="round"'
ENGLAND_LABEL = f'{FONT} font-size="10" fill="#383f43"'


def _fmt(value: float, unit: str) -> str:
    return f"{value:.1f}%" if unit == "%" else f"{int(value):,}"


def _scale(peak: float, unit: str) -> tuple[float, float]:
    """Axis top and tick step: 0-100 % in quarters; counts in steps of 1, 2 or 5 x 10^k, at most 5."""
    if unit == "%":
        return 100.0, 25.0
    step = 1.0
    while peak * 1.1 > 5 * step:
        step *= 2.5 if str(step)[0] == "2" else 2
    return step * max(1, -(-peak * 1.1 // step)), step


def _axis(value: float, unit: str) -> str:
    return f"{value:g}%" if unit == "%" else f"{round(value):,}"


def describe(title: str, points: list[tuple[date, float | None]], unit: str, target: float | None,
             england: dict[int, float] | None = None) -> str:
    """The text alternative: the whole series, in words."""
    shown = [(m, v) for m, v in points if v is not None]
    if not points:
        return f"{title}: no months to show yet."
    span = f"{points[0][0]:%B %Y} to {points[-1][0]:%B %Y}"
    parts = [f"{title}, monthly, {span}."]
    if shown:
        values = ", ".join(f"{m:%b %Y} {_fmt(v, unit)}" for m, v in shown)
        parts.append(f"Values: {values}.")
    hidden = [m for m, v in points if v is None]
    if hidden:
        parts.append(f"Not shown (no cases, or suppressed): {', '.join(f'{m:%b %Y}' for m in hidden)}.")
    if target is not None:
        parts.append(f"Target {target:g}%.")
    if england:
        parts.append("England (DfE, calendar year; the latest published carries on until the next): "
                     + ", ".join(f"{y} {_fmt(v, unit)}" for y, v in sorted(england.items())) + ".")
    return " ".join(parts)


def _segments(points: list[tuple[date, float | None]], x, y) -> list[list[str]]:
    """Runs of consecutive months with a value: a line breaks at a gap rather than invent one."""
    segments, segment = [], []
    for i, (_, v) in enumerate(points):
        if v is None:
            if segment:
                segments.append(segment)
            segment = []
        else:
            segment.append(f"{x(i):.1f},{y(v):.1f}")
    if segment:
        segments.append(segment)
    return segments


def _last(points: list[tuple[date, float | None]]) -> tuple[int, float] | None:
    shown = [(i, v) for i, (_, v) in enumerate(points) if v is not None]
    return shown[-1] if shown else None


def england_line(months: list[date], by_year: dict[int, float]) -> tuple[list[tuple[date, float | None]], dict]:
    """DfE's England figure for each month: its calendar year's, or the latest published before it
    (DfE publishes a year each June). Returns the points and the years they use."""
    points, used = [], {}
    for m in months:
        years = [y for y in by_year if y <= m.year]
        if years:
            used[max(years)] = by_year[max(years)]
        points.append((m, by_year[max(years)] if years else None))
    return points, used


def _grid(top: float, step: float, unit: str) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    out = []
    for tick in range(int(top // step) + 1):
        frac = tick * step / top
        gy = TOP + plot_h * (1 - frac)
        out.append(f'<line x1="{LEFT}" y1="{gy:.1f}" x2="{WIDTH - RIGHT}" y2="{gy:.1f}" {GRID}/>')
        out.append(f'<text x="{LEFT - 4}" y="{gy + 3:.1f}" {AXIS} text-anchor="end">'
                   f'{escape(_axis(top * frac, unit))}</text>')
    return out


def _target(target: float | None, unit: str, y) -> list[str]:
    if target is None or unit != "%":
        return []
    ty = y(target)
    return [f'<line x1="{LEFT}" y1="{ty:.1f}" x2="{WIDTH - RIGHT}" y2="{ty:.1f}" {TARGET}/>',
            f'<text x="{LEFT + 4}" y="{ty - 3:.1f}" {AXIS} text-anchor="start">'
            f'target {target:g}%</text>']


def _month_labels(points: list[tuple[date, float | None]], n: int, x) -> list[str]:
    out = []
    for i, (month, _) in enumerate(points):
        if n <= 12 or i % 2 == (n - 1) % 2:
            label = f"{month:%b}" + (f" {month:%y}" if month.month == 1 or i == 0 else "")
            out.append(f'<text x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 14}" {AXIS} text-anchor="middle">'
                       f'{escape(label)}</text>')
    return out


def _lines(points: list[tuple[date, float | None]], england: list[tuple[date, float | None]] | None,
           x, y) -> list[str]:
    out = []
    for seg in _segments(england or [], x, y):
        if len(seg) == 1:  # one month: a short tick so it is still a line
            cx, cy = seg[0].split(",")
            seg = [f"{float(cx) - 6:.1f},{cy}", f"{float(cx) + 6:.1f},{cy}"]
        out.append(f'<polyline points="{" ".join(seg)}" fill="none" {ENGLAND}/>')
    for seg in _segments(points, x, y):
        out.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="#0b0c0c" stroke-width="1.6"/>')
    for i, (_, v) in enumerate(points):
        if v is not None:
            out.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="#0b0c0c"/>')
    return out


def _direct_labels(points: list[tuple[date, float | None]], england: list[tuple[date, float | None]] | None,
                   used: dict, unit: str, x, y) -> list[str]:
    """Labels right of each line's last point; England's moves clear of the value's."""
    out = []
    last = _last(points)
    if last is not None:
        i, v = last
        out.append(f'<text x="{x(i) + 7:.1f}" y="{y(v) + 4:.1f}" {LAST} text-anchor="start" '
                   f'class="last-value">{escape(_fmt(v, unit))}</text>')
    eng = _last(england) if england else None
    if eng is not None:
        i, v = eng
        ey = y(v) + 4
        if last is not None and abs(ey - (y(last[1]) + 4)) < 12 and abs(i - last[0]) <= 2:
            ey += 12 if ey >= y(last[1]) + 4 else -12
        out.append(f'<text x="{x(i) + 7:.1f}" y="{ey:.1f}" {ENGLAND_LABEL} text-anchor="start" '
                   f'class="england-label">England {escape(_fmt(v, unit))} ({max(used)})</text>')
    return out


def trend_svg(chart_id: str, title: str, points: list[tuple[date, float | None]], unit: str,
              target: float | None = None, england_by_year: dict[int, float] | None = None) -> Markup:
    """`england_by_year`: DfE's published England figure by calendar year, drawn as a dotted line."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    england, used = england_line([m for m, _ in points], england_by_year or {})
    england = england if any(v is not None for _, v in england) else None
    values = [v for _, v in points if v is not None] + [v for _, v in england or [] if v is not None]
    top, step = _scale(max([*values, 1.0]), unit)
    n = max(len(points), 1)

    def x(i: int) -> float:
        return LEFT + (plot_w * (i + 0.5) / n)

    def y(v: float) -> float:
        return TOP + plot_h * (1 - v / top)

    desc = describe(title, points, unit, target, used)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="trend" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="{chart_id}-t {chart_id}-d">',
        f'<title id="{chart_id}-t">{escape(title)}: trend</title>',
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>',
        *_grid(top, step, unit),
        *_target(target, unit, y),
        *_month_labels(points, n, x),
        *_lines(points, england, x, y),
        *_direct_labels(points, england, used, unit, x, y),
        "</svg>",
    ]
    return Markup("".join(out))
