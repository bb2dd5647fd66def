"""The Trackers & Analytics page (seed 000), rendered on the server so that it is readable before any script runs:
tracker hits, the speaker timeline and analytics as inline SVG and bars, insights, topics, summary and the
transcript. ``report.js`` then adds the wavesurfer.js waveform (drawn from peaks the worker computed, so the audio
never has to be read cross-origin), tracker markers on it and click-to-seek; without a waveform the standard audio
element stays. Everything is served by the engine: no CDN, no web font."""

from __future__ import annotations

import html
import json
import re
from typing import Any

HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
FONT = re.compile(r"^[\w \-]{1,60}$")
PALETTE = ["#1f6feb", "#b3261e", "#1a7f37", "#8250df", "#bc4c00", "#0a7a8a"]  # speakers; ≥ 4.5:1 on white
PALETTE_ON_DARK = ["#79b8ff", "#ff9492", "#56d364", "#d2a8ff", "#ffa657", "#39c5cf"]  # ≥ 4.5:1 on dark
MAX_PEAKS = 4000


def _luminance(color: str) -> float:
    value = color.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two hex colours."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def readable_on(background: str) -> str:
    """Near-black or white, whichever reads better on ``background``."""
    return "#111111" if contrast(background, "#111111") >= contrast(background, "#ffffff") else "#ffffff"


def check_look(look: dict[str, Any]) -> str | None:
    """Why white-label options are unusable, or None. Colours are hex, fonts a family name: they go into CSS."""
    for key, value in (look.get("color") or {}).items():
        if value is not None and not HEX.match(str(value)):
            return f'color.{key} must be a hex colour such as "#1f6feb", not {value!r}'
    family = (look.get("font") or {}).get("family")
    if family is not None and not FONT.match(str(family)):
        return "font.family must be a font family name (letters, digits, spaces and hyphens)"
    for key in ("logo", "favicon"):
        value = look.get(key)
        if value and not str(value).startswith(("https://", "http://", "data:image/")):
            return f"{key} must be an http(s) URL or a data:image URL"
    return None


def pooled(peaks: list[float], size: int = MAX_PEAKS) -> list[float]:
    """At most ``size`` peaks (the maximum of each run), enough for any screen."""
    if len(peaks) <= size:
        return peaks
    step = len(peaks) / size
    return [max(peaks[int(i * step) : max(int((i + 1) * step), int(i * step) + 1)]) for i in range(size)]


def clock(seconds: float) -> str:
    whole = int(seconds)
    if whole >= 3600:
        return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"
    return f"{whole // 60}:{whole % 60:02d}"


def _seek(seconds: float, label: str, extra: str = "") -> str:
    return (
        f'<button type="button" class="seek{extra}" data-t="{seconds:.2f}" '
        f'aria-label="Play from {clock(seconds)}: {html.escape(label, quote=True)}">{clock(seconds)}</button>'
    )


def render(
    body: dict[str, Any],
    look: dict[str, Any],
    *,
    audio_src: str | None,
    peaks: list[float],
    duration: float,
) -> str:
    """The whole page for one conversation's stored analysis and the experience's white-label options."""
    e = html.escape
    colors = look.get("color") or {}
    background = colors.get("background") or "#ffffff"
    accent = colors.get("topicsFilter") or "#1f6feb"
    insight_color = colors.get("insightsFilter") or "#8250df"
    font = (look.get("font") or {}).get("family")
    text_color = readable_on(background)
    messages = body["messages"]
    at = {m["id"]: m["timeOffset"] for m in messages}
    members = [m["id"] for m in body["members"]]
    palette = PALETTE if text_color != "#ffffff" else PALETTE_ON_DARK
    color_of = {mid: palette[i % len(palette)] for i, mid in enumerate(members)}
    # Names in the transcript are text: their colour must read on the background (WCAG AA), else plain text colour.
    name_color = {mid: c if contrast(c, background) >= 4.5 else text_color for mid, c in color_of.items()}
    length = max([duration, *(m["timeOffset"] + m["duration"] for m in messages)]) or 1.0

    markers, tracker_items = [], []
    for tracker in body.get("trackers") or []:
        refs = [ref for match in tracker["matches"] for ref in match["messageRefs"] if ref["id"] in at]
        hits = sorted({(at[ref["id"]], ref["text"]) for ref in refs})
        rows = "".join(f"<li>{_seek(t, tracker['name'])} {e(text)}</li>" for t, text in hits)
        count = f'<span class="count">{len(hits)}</span>'
        tracker_items.append(f'<li class="tracker"><h3>{e(tracker["name"])} {count}</h3><ul>{rows}</ul></li>')
        for t, text in hits:
            markers.append(
                f'<button type="button" class="marker seek" data-t="{t:.2f}" style="left:{100 * t / length:.3f}%" '
                f'title="{e(tracker["name"])}: {e(text, quote=True)}" '
                f'aria-label="Tracker {e(tracker["name"], quote=True)} at {clock(t)}"></button>'
            )

    lanes = []
    for row, member in enumerate(body["members"]):
        spans = "".join(
            f'<rect x="{100 * m["timeOffset"] / length:.3f}%" y="{row * 22 + 4}" '
            f'width="{max(0.15, 100 * m["duration"] / length):.3f}%" height="14" fill="{color_of[member["id"]]}"/>'
            for m in messages
            if m["from"]["id"] == member["id"]
        )
        lanes.append(spans)
    timeline_height = 22 * max(1, len(body["members"])) + 4
    names = "".join(
        f'<div style="height:22px"><span class="dot" style="background:{color_of[m["id"]]}"></span>{e(m["name"])}</div>'
        for m in body["members"]
    )

    analytics = body.get("analytics") or {"metrics": [], "members": []}
    speaker_rows = "".join(
        f'<tr><th scope="row"><span class="dot" style="background:{color_of.get(m["id"], palette[0])}"></span>'
        f"{e(m['name'])}</th>"
        f'<td><div class="bar"><span style="width:{m["talkTime"]["percentage"]:.1f}%;'
        f'background:{color_of.get(m["id"], palette[0])}"></span></div>{m["talkTime"]["percentage"]:.0f} % talk · '
        f"{m['listenTime']['percentage']:.0f} % listen</td>"
        f"<td>{m['talkTime']['seconds']:.0f} s</td><td>{m['pace']['wpm']} wpm</td>"
        f"<td>{m['overlap']['overlapDuration']:.1f} s</td></tr>"
        for m in analytics["members"]
    )
    metrics = "".join(
        f"<li><b>{m['type'].replace('total_', '').replace('_', ' ').capitalize()}</b> {m['seconds']:.0f} s "
        f"({m['percent']:.0f} %)</li>"
        for m in analytics["metrics"]
    )

    def insight_list(items: list[dict[str, Any]]) -> str:
        rows = []
        for item in items:
            t = at.get((item.get("messageIds") or [""])[0])
            who = (item.get("from") or {}).get("name")
            rows.append(
                "<li>"
                + (_seek(t, item["text"]) + " " if t is not None else "")
                + e(item["text"])
                + (f' <span class="who">— {e(who)}</span>' if who else "")
                + "</li>"
            )
        return "<ul>" + "".join(rows) + "</ul>" if rows else '<p class="none">None found.</p>'

    topics = "".join(f'<li class="topic">{e(t["text"])}</li>' for t in body.get("topics") or [])
    summary = " ".join(e(s["text"]) for s in body.get("summary") or [])
    transcript = "".join(
        f'<li class="message"><div class="meta">{_seek(m["timeOffset"], m["text"][:60])} '
        f'<span class="speaker" style="color:{name_color.get(m["from"]["id"], text_color)}">{e(m["from"]["name"])}'
        f"</span>"
        f' <span class="sentiment {e((m.get("sentiment") or {}).get("suggested", "neutral"))}">'
        f"{e((m.get('sentiment') or {}).get('suggested', 'neutral'))}</span></div>"
        f"<p>{e(m['text'])}</p></li>"
        for m in messages
    )
    data = {"peaks": pooled(peaks), "duration": length, "accent": accent}
    logo = f'<img class="logo" src="{e(look["logo"], quote=True)}" alt="" height="36">' if look.get("logo") else ""
    favicon = (
        f'<link rel="icon" href="{e(look["favicon"], quote=True)}">'
        if look.get("favicon")
        else '<link rel="icon" href="data:,">'
    )
    player = f'<audio id="audio" controls preload="metadata" src="{e(audio_src or "", quote=True)}"></audio>'
    family = f"'{font}', " if font else ""
    recording = (
        '<section aria-labelledby="h-player" class="card"><h2 id="h-player">Recording</h2>'
        f'<div class="wave-wrap"><div id="waveform" aria-hidden="true"></div><div id="markers">{"".join(markers)}'
        '</div></div><div class="controls"><button type="button" id="play" hidden>Play</button>'
        f'<span id="time" aria-live="off"></span></div>{player}</section>'
        if audio_src
        else ""
    )
    trackers_html = (
        "<ul class='trackers'>" + "".join(tracker_items) + "</ul>"
        if tracker_items
        else '<p class="none">No tracker fired.</p>'
    )
    payload = json.dumps(data).replace("</", "<\\/")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>Trackers &amp; Analytics</title>{favicon}
<link rel="stylesheet" href="/reports/static/report.css">
<style>:root{{--bg:{background};--fg:{text_color};--accent:{accent};--on-accent:{readable_on(accent)};
--insight:{insight_color};--on-insight:{readable_on(insight_color)};--font:{family}system-ui,sans-serif}}</style>
</head><body{' class="read-only"' if look.get("readOnly") else ""}>
<a class="skip" href="#transcript">Skip to the transcript</a>
<header>{logo}<h1>Trackers &amp; Analytics</h1><p class="sub">{clock(length)} · {len(messages)} messages ·
{len(body["members"])} speakers</p></header>
<main>
{recording}<section aria-labelledby="h-trackers" class="card"><h2 id="h-trackers">Trackers</h2>
{trackers_html}
</section>
<section aria-labelledby="h-speakers" class="card"><h2 id="h-speakers">Speakers</h2>
<div class="timeline"><div class="names">{names}</div>
<svg role="img" aria-label="Speaker timeline" width="100%" height="{timeline_height}">{"".join(lanes)}</svg></div>
<table><thead><tr><th scope="col">Speaker</th><th scope="col">Talk / listen</th><th scope="col">Talk time</th>
<th scope="col">Pace</th><th scope="col">Overlap</th></tr></thead><tbody>{speaker_rows}</tbody></table>
<ul class="metrics">{metrics}</ul></section>
<section aria-labelledby="h-insights" class="card"><h2 id="h-insights">Insights</h2>
<h3>Summary</h3>{f"<p>{summary}</p>" if summary else '<p class="none">No summary.</p>'}
<h3>Topics</h3>{f'<ul class="topics">{topics}</ul>' if topics else '<p class="none">None found.</p>'}
<h3>Questions</h3>{insight_list(body.get("questions") or [])}
<h3>Action items</h3>{insight_list(body.get("actionItems") or [])}
<h3>Follow-ups</h3>{insight_list(body.get("followUps") or [])}</section>
<section aria-labelledby="h-transcript" class="card" id="transcript"><h2 id="h-transcript">Transcript</h2>
<ol class="messages">{transcript}</ol></section>
</main>
<script id="report-data" type="application/json">{payload}</script>
<script src="/reports/static/wavesurfer.min.js" defer></script>
<script src="/reports/static/report.js" defer></script>
</body></html>"""


def refused(title: str, reason: str) -> str:
    """The page for a link that is refused (403) or not ready (404)."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Report unavailable</title>'
        '<link rel="icon" href="data:,"><link rel="stylesheet" href="/reports/static/report.css"></head>'
        f'<body><main class="refused card"><h1>{html.escape(title)}</h1><p>{html.escape(reason)}</p></main>'
        "</body></html>"
    )
