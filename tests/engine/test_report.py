"""The report page in a real browser: Debian's Chromium, headless, driven by Playwright, against the real engine
(which serves the page, its scripts and the recording). A stereo two-speaker call with trackers is processed, then
the page must render with its waveform, seek on a tracker marker and on the transcript, apply white-label colours,
load nothing from outside the engine, be usable by keyboard with readable contrast, and refuse expired or tampered
links. Screenshots go to artifacts/report/."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from engine.report.page import contrast
from tests.conftest import unavailable
from tests.engine.audio import dialogue, make_conversation, tools_missing
from tests.engine.servers import EngineProcess
from tests.engine.test_audio import finished, submit

pytestmark = pytest.mark.engine

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "report"
LOOK: dict[str, Any] = {
    "color": {"background": "#0b1d33", "topicsFilter": "#f5a623", "insightsFilter": "#2ec4b6"},
    "font": {"family": "DejaVu Sans"},
    "logo": "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='36' height='36'%3E%3Ccircle "
    "cx='18' cy='18' r='16' fill='%23f5a623'/%3E%3C/svg%3E",
}
TRACKERS = [
    {"name": "Refund", "vocabulary": ["refund", "charged twice"]},
    {"name": "Pricing", "vocabulary": ["annual plan", "volume discount", "price"]},
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if shutil.which(CHROMIUM) is None:
        unavailable(f"{CHROMIUM} is missing (make system-deps installs Debian's chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def conversation(engine: EngineProcess, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A processed stereo call (one speaker per channel) with two trackers; its conversation id."""
    if reason := tools_missing():
        unavailable(reason)
    call = make_conversation(tmp_path_factory.mktemp("report"), dialogue(1, seed=3), overlap_every=5)
    query = (
        "enableSeparateRecognitionPerChannel=true&channelMetadata="
        + quote('[{"channel":1,"speaker":{"name":"Agent"}},{"channel":2,"speaker":{"name":"Caller"}}]')
        + "&trackers="
        + quote(json.dumps(TRACKERS))
    )
    ref = submit(engine, call.files["stereo"], query)
    assert finished(engine, ref["jobId"])["status"] == "completed"
    return ref["conversationId"]


def experience(engine: EngineProcess, cid: str, **options: Any) -> httpx.Response:
    return httpx.post(
        f"{engine.url}/v1/conversations/{cid}/experiences",
        json={"name": "audio-summary", **options},
        headers={"Authorization": f"Bearer {engine.token()}"},
    )


def report_url(engine: EngineProcess, cid: str, **options: Any) -> str:
    response = experience(engine, cid, **options)
    assert response.status_code == 200, response.text
    return str(response.json()["url"])


def rgb(value: str) -> str:
    """'rgb(11, 29, 51)' → '#0b1d33'."""
    parts = value[value.index("(") + 1 : value.index(")")].split(",")[:3]
    return "#" + "".join(f"{int(float(p)):02x}" for p in parts)


def test_page_renders_seeks_and_is_white_labelled(browser: Any, engine: EngineProcess, conversation: str) -> None:
    url = report_url(engine, conversation, **LOOK)
    assert "?t=" in url and url.split("/reports/")[1].split("?")[0] == conversation  # only the id in the path
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    began = time.perf_counter()
    response = page.goto(url)
    assert response is not None and response.status == 200
    page.wait_for_selector("body[data-ready='1']", timeout=15_000)
    ready = time.perf_counter() - began
    paint = page.evaluate(
        "performance.getEntriesByType('paint').find(e => e.name === 'first-contentful-paint')?.startTime"
    )
    print(f"\nreport page: first contentful paint {paint:.0f} ms, waveform ready {ready * 1000:.0f} ms")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "report.png"), full_page=True)

    assert page.evaluate("document.body.dataset.player") == "waveform"
    assert page.evaluate("document.querySelector('#waveform').firstElementChild.shadowRoot !== null")
    # Trackers: a list grouped by tracker, and a marker on the waveform per hit.
    names = page.locator(".tracker h3").all_inner_texts()
    assert any(n.startswith("Refund") for n in names) and any(n.startswith("Pricing") for n in names), names
    markers = page.locator(".marker")
    assert markers.count() >= 2
    # Clicking a marker seeks the audio there.
    target = markers.nth(1)
    t = float(target.get_attribute("data-t") or "nan")
    target.click()
    page.wait_for_function(f"Math.abs(document.getElementById('audio').currentTime - {t}) < 0.3", timeout=10_000)
    # So does a transcript line, and Enter on a focused seek button.
    line = page.locator(".messages .seek").nth(3)
    t_line = float(line.get_attribute("data-t") or "nan")
    line.focus()
    page.keyboard.press("Enter")
    page.wait_for_function(f"Math.abs(document.getElementById('audio').currentTime - {t_line}) < 0.3")
    # White-label colours apply, and text stays readable on them (WCAG AA: 4.5:1).
    style = page.evaluate(
        "(() => { const b = getComputedStyle(document.body),"
        " s = getComputedStyle(document.querySelector('.messages .seek'));"
        " return {bg: b.backgroundColor, fg: b.color, font: b.fontFamily, seekBg: s.backgroundColor,"
        " seekFg: s.color}; })()"
    )
    assert rgb(style["bg"]) == LOOK["color"]["background"] and rgb(style["seekBg"]) == LOOK["color"]["topicsFilter"]
    assert "DejaVu Sans" in style["font"]
    assert contrast(rgb(style["fg"]), rgb(style["bg"])) >= 4.5
    assert contrast(rgb(style["seekFg"]), rgb(style["seekBg"])) >= 4.5
    # Speaker analytics as charts, and the transcript with speakers and sentiment.
    assert page.locator(".timeline svg rect").count() >= 4 and page.locator(".bar span").count() == 2
    assert set(page.locator(".messages .speaker").all_inner_texts()) == {"Agent", "Caller"}
    for color in page.eval_on_selector_all(".messages .speaker", "els => els.map(e => getComputedStyle(e).color)"):
        assert contrast(rgb(color), LOOK["color"]["background"]) >= 4.5, color
    assert page.locator(".messages .sentiment").count() == page.locator(".messages .message").count()
    # Offline: everything the page loaded came from the engine itself.
    outside = [r for r in requests if not r.startswith((engine.url, "data:"))]
    assert not outside, outside
    page.close()


def test_standard_player_when_the_waveform_cannot_load(browser: Any, engine: EngineProcess, conversation: str) -> None:
    page = browser.new_page()
    page.route("**/wavesurfer.min.js", lambda route: route.abort())  # as if the script could not be used
    page.goto(report_url(engine, conversation))
    page.wait_for_function("document.body.dataset.player === 'audio'")
    assert page.locator("audio[controls]").is_visible()
    line = page.locator(".messages .seek").nth(2)
    t = float(line.get_attribute("data-t") or "nan")
    line.click()
    page.wait_for_function(f"Math.abs(document.getElementById('audio').currentTime - {t}) < 0.3")
    page.close()


def test_expired_and_tampered_links_are_refused(browser: Any, engine: EngineProcess, conversation: str) -> None:
    page = browser.new_page()
    short = report_url(engine, conversation, summaryURLExpiresIn=1)
    time.sleep(1.5)
    response = page.goto(short)
    assert response is not None and response.status == 403
    assert "expired" in page.locator("h1").inner_text().lower()
    page.screenshot(path=str(SHOTS / "expired.png"))
    good = report_url(engine, conversation)
    tampered = good[:-1] + ("0" if good[-1] != "0" else "1")
    for bad in (tampered, good.split("?")[0], good.replace(conversation, "1" * len(conversation))):
        response = page.goto(bad)
        assert response is not None and response.status == 403, bad
        assert "not valid" in page.locator("h1").inner_text()
    # The recording behind the page is guarded by the same link.
    assert httpx.get(good.replace("?t=", "/audio?t=")).status_code == 200
    assert httpx.get(tampered.replace("?t=", "/audio?t=")).status_code == 403
    page.close()


def test_white_label_options_are_validated(engine: EngineProcess, conversation: str) -> None:
    bad = experience(engine, conversation, color={"background": "red;}</style><script>alert(1)</script>"})
    assert bad.status_code == 400 and "hex colour" in bad.json()["message"]
    assert experience(engine, conversation, font={"family": "x';}"}).status_code == 400
    assert experience(engine, conversation, logo="javascript:alert(1)").status_code == 400


def test_text_conversation_gets_a_page_without_a_player(engine: EngineProcess) -> None:
    from tests.engine.calls import messages

    headers = {"Authorization": f"Bearer {engine.token()}"}
    ref = httpx.post(f"{engine.url}/v1/process/text", json={"messages": messages()}, headers=headers).json()
    assert finished(engine, ref["jobId"])["status"] == "completed"
    cid = ref["conversationId"]
    assert experience(engine, cid).status_code == 400  # audio-summary needs audio
    url = httpx.post(
        f"{engine.url}/v1/conversations/{cid}/experiences", json={"name": "verbose-text-summary"}, headers=headers
    ).json()["url"]
    page = httpx.get(url)
    assert page.status_code == 200 and "ran out of budget" in page.text
    assert "<audio" not in page.text and "Natalia" in page.text


def test_vendored_assets_match_the_lock_file() -> None:
    import hashlib

    web = Path(__file__).resolve().parents[2] / "engine" / "report" / "web"
    lock = json.loads((web / "package-lock.json").read_text())
    vendored = json.loads((web.parent / "static" / "VENDORED.json").read_text())
    assert vendored["wavesurfer.js"] == lock["packages"]["node_modules/wavesurfer.js"]["version"]
    for name, digest in vendored["files"].items():
        assert hashlib.sha256((web.parent / "static" / name).read_bytes()).hexdigest() == digest, name
