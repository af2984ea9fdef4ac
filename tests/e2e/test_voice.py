"""A roleplay played by voice, end to end, with the real local speech engines.

Chromium's fake microphone plays a WAV file (`--use-file-for-fake-audio-capture`), made
here by the server's own synthesiser (`POST /v1/speech`). Chromium re-encodes what it
captures to webm/opus, which only a real recogniser reads, so the API process of this
module runs the local engines of `just setup-speech`: faster-whisper hears the trainee,
Piper speaks the customer. The in-memory twins could not take part: the words they
carry in a private WAV chunk do not survive the browser's capture.
"""

from __future__ import annotations

import re
import struct
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.e2e.conftest import AXE, CHROMIUM
from tests.e2e.pages import assert_accessible, screenshot, sign_in
from tests.integration.conftest import Tenant, api_process, service_environment

SPOKEN = "Welcome in. GAP is optional, and it is never required for your loan."
"""What the trainee says into the fake microphone: words Whisper hears reliably."""
HEARD = re.compile(r"optional", re.IGNORECASE)
AUDIO_PATH = re.compile(r"/v1/messages/[0-9a-f-]{36}/audio$")
LEAD_IN_S, TAIL_S = 0.6, 1.0
"""Silence around the words: MediaRecorder starts a moment after the microphone opens,
and the trainee lets go a moment after speaking."""

HEARD_SOUND = """(() => {
    const heard = { sources: 0, seconds: 0, context: null };
    window.__heard = heard;
    const start = AudioBufferSourceNode.prototype.start;
    AudioBufferSourceNode.prototype.start = function (...args) {
        heard.sources += 1;
        heard.seconds += this.buffer ? this.buffer.duration : 0;
        heard.context = this.context;
        return start.apply(this, args);
    };
})();"""
"""Counts the samples the page hands to Web Audio, and keeps their context, whose clock
shows that sound really plays."""
PLAYING = """() => { const a = document.querySelector('.reply-audio'), h = window.__heard;
                     return a !== null && a.dataset.status === 'playing' && h.sources > 0 &&
                            h.context.state === 'running' && h.context.currentTime > 0.2; }"""
STOPPED = """() => { const a = document.querySelector('.reply-audio');
                     return a !== null && a.dataset.status === 'idle' && !a.dataset.messageId; }"""


@pytest.fixture(scope="module")
def voice_url(
    web_build: Path,
    database_url: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """An API process serving the built client with the local speech engines; a missing
    engine stops it at start (so this fixture fails: run `just setup-speech`)."""
    env = service_environment(database_url, redis_url) | {
        "AVATARADAM_CHAT_MODEL": "extractive",
        "AVATARADAM_HTTP_WEB_DIR": str(web_build),
        "AVATARADAM_SPEECH_SYNTHESIZER": "piper",
        "AVATARADAM_SPEECH_RECOGNIZER": "faster-whisper",
    }
    with api_process(env, tmp_path_factory.mktemp("e2e-voice")) as url:
        yield url


def padded_wav(audio: bytes, *, lead_in_s: float, tail_s: float) -> bytes:
    """`audio` (a PCM16 WAV, possibly streamed with unknown sizes) with silence before
    and after, as one WAV file Chromium's fake capture reads."""
    assert audio[:4] == b"RIFF", audio[:12]
    assert audio[8:12] == b"WAVE", audio[:12]
    position, fmt, pcm = 12, b"", b""
    while position + 8 <= len(audio):
        name = audio[position : position + 4]
        (size,) = struct.unpack_from("<I", audio, position + 4)
        if name == b"fmt ":
            fmt = audio[position + 8 : position + 8 + size]
        if name == b"data":
            pcm = audio[position + 8 :]  # to the end: a streamed WAV's size is a placeholder
            break
        position += 8 + size + (size % 2)
    channels, rate, bits = (int(value) for value in struct.unpack_from("<HI6xH", fmt, 2))
    assert (channels, bits) == (1, 16), (channels, bits)
    pcm = pcm[: len(pcm) // 2 * 2]
    data = b"\0\0" * round(lead_in_s * rate) + pcm + b"\0\0" * round(tail_s * rate)
    header = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + header
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.fixture(scope="module")
async def trainee_voice(
    voice_url: str, e2e_tenant: Tenant, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, float]:
    """The trainee's words as a WAV file made by the server's synthesiser, and the
    seconds it lasts."""
    async with httpx.AsyncClient(base_url=voice_url, timeout=120) as http:
        spoken = await http.post(
            "/v1/speech", json={"text": SPOKEN}, headers=e2e_tenant.user.headers
        )
    assert spoken.status_code == 200, spoken.text
    assert spoken.headers["content-type"].startswith("audio/wav")
    wav = padded_wav(spoken.content, lead_in_s=LEAD_IN_S, tail_s=TAIL_S)
    (rate,) = struct.unpack_from("<I", wav, 24)
    seconds = (len(wav) - 44) / 2 / rate
    assert 2 < seconds < 15, seconds
    path = tmp_path_factory.mktemp("voice") / "trainee.wav"
    path.write_bytes(wav)
    return path, seconds


@pytest.fixture(scope="module")
async def microphone_browser(trainee_voice: tuple[Path, float]) -> AsyncIterator[Browser]:
    """Chromium whose microphone plays the trainee's WAV, from its start at each
    recording. The microphone is used only where a context was granted it (headless,
    Chromium refuses whatever it would have asked)."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-dev-shm-usage",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={trainee_voice[0]}%noloop",
            ],
        )
        yield launched
        await launched.close()


async def open_context(
    browser: Browser, base_url: str, *, microphone: bool = False
) -> BrowserContext:
    made = await browser.new_context(
        base_url=base_url,
        viewport={"width": 1280, "height": 800},
        permissions=["microphone"] if microphone else [],
    )
    await made.add_init_script(path=str(AXE))
    await made.add_init_script(script=HEARD_SOUND)
    return made


async def start_roleplay(page: Page, email: str) -> None:
    """Signs in and opens a GAP roleplay whose customer says their insurance covers it."""
    await sign_in(page, email)
    await page.get_by_role("link", name="Roleplay", exact=True).click()
    await page.get_by_label("Product").select_option("gap")
    await (
        page.locator(".scenario", has_text="already cover")
        .get_by_role("button", name="Practise")
        .click()
    )
    await expect(
        page.get_by_role("heading", name=re.compile(r"^Roleplay: .*cover"))
    ).to_be_visible()


async def test_a_roleplay_played_by_voice(
    microphone_browser: Browser,
    voice_url: str,
    e2e_tenant: Tenant,
    trainee_voice: tuple[Path, float],
) -> None:
    seconds = trainee_voice[1]
    context = await open_context(microphone_browser, voice_url, microphone=True)
    page = await context.new_page()
    await start_roleplay(page, e2e_tenant.user.email)
    mic = page.get_by_role("button", name="Hold to talk")
    await expect(mic).to_have_attribute("aria-pressed", "false")
    await expect(page.get_by_role("button", name="Mute replies")).to_have_attribute(
        "aria-pressed", "false"
    )
    await assert_accessible(page, "roleplay with voice")

    # Hold to talk while the words play; the first upload is lost to the network.
    await page.route("**/v1/transcriptions", lambda route: route.abort("internetdisconnected"))
    await mic.hover()
    await page.mouse.down()
    await expect(mic).to_have_attribute("aria-pressed", "true")
    await expect(page.get_by_role("status").filter(has_text="Recording")).to_be_visible()
    await page.wait_for_timeout(round(seconds * 1000) + 300)
    await expect(
        page.get_by_role("status").filter(has_text=re.compile(r"Recording [1-9]"))
    ).to_be_visible()
    await screenshot(page, "roleplay-voice-recording")
    await page.mouse.up()
    await expect(mic).to_have_attribute("aria-pressed", "false")
    await expect(page.get_by_role("alert")).to_contain_text("could not be reached")
    await expect(page.locator(".message.user")).to_have_count(0)

    # Retry sends the kept recording: the words are heard, sent, and the customer's
    # reply is spoken in the customer's voice as soon as it has streamed.
    await page.unroute("**/v1/transcriptions")
    async with (
        page.expect_response("**/v1/transcriptions", timeout=120_000) as heard,
        page.expect_response(AUDIO_PATH, timeout=120_000) as spoken,
    ):
        await page.get_by_role("button", name="Retry").click()
    assert (await heard.value).status == 200, await (await heard.value).text()
    said = page.locator(".message.user").last
    await expect(said).to_contain_text(HEARD)
    await expect(said).to_contain_text("(spoken)")
    reply_audio = await spoken.value
    assert reply_audio.status == 200, await reply_audio.text()
    assert reply_audio.headers["content-type"].startswith("audio/wav")
    reply_id = reply_audio.url.split("/")[-2]
    await page.wait_for_function(PLAYING, timeout=30_000)
    assert await page.locator(".reply-audio").get_attribute("data-message-id") == reply_id
    reply = page.locator(".message.assistant").last
    await expect(reply.get_by_role("button", name=re.compile(r"^Stop"))).to_be_visible()
    await screenshot(page, "roleplay-voice")

    # Mute stops the customer mid-sentence, and is remembered.
    mute = page.get_by_role("button", name="Mute replies")
    await mute.click()
    await expect(mute).to_have_attribute("aria-pressed", "true")
    await page.wait_for_function(STOPPED)
    assert await page.evaluate("localStorage.getItem('avataradam.speech.muted')") == "1"

    # From the keyboard: Space starts and stops the recording. Muted, the next reply is
    # not spoken by itself; its Play button speaks it all the same.
    await mic.focus()
    await page.keyboard.press("Space")
    await expect(mic).to_have_attribute("aria-pressed", "true")
    await page.wait_for_timeout(round(seconds * 1000) + 300)
    async with page.expect_response("**/v1/transcriptions", timeout=120_000) as heard_again:
        await page.keyboard.press("Space")
    assert (await heard_again.value).status == 200
    await expect(page.locator(".message.user")).to_have_count(2)
    await expect(page.locator(".message.user").last).to_contain_text(HEARD)
    second = page.locator(".message.assistant").nth(1)
    play = second.get_by_role("button", name=re.compile(r"^Play"))
    await expect(play).to_be_visible(timeout=120_000)
    assert await page.evaluate(STOPPED)
    async with page.expect_response(AUDIO_PATH) as replayed:
        await play.click()
    assert (await replayed.value).status == 200
    await page.wait_for_function(PLAYING, timeout=30_000)
    await second.get_by_role("button", name=re.compile(r"^Stop")).click()
    await page.wait_for_function(STOPPED)
    await assert_accessible(page, "roleplay spoken")

    await page.set_viewport_size({"width": 390, "height": 844})
    await expect(mic).to_be_in_viewport()
    await assert_accessible(page, "roleplay with voice at phone width")
    await screenshot(page, "roleplay-voice-phone")
    await context.close()


async def test_a_refused_or_missing_microphone_is_explained_and_typing_still_works(
    microphone_browser: Browser, browser: Browser, voice_url: str, e2e_tenant: Tenant
) -> None:
    # A microphone the page was not allowed to use.
    refused = await open_context(microphone_browser, voice_url)
    page = await refused.new_page()
    await start_roleplay(page, e2e_tenant.user.email)
    mic = page.get_by_role("button", name="Hold to talk")
    await mic.hover()
    await page.mouse.down()
    await page.mouse.up()
    await expect(page.get_by_role("alert")).to_contain_text("Microphone access is blocked")
    await expect(mic).to_have_attribute("aria-pressed", "false")
    await assert_accessible(page, "roleplay with the microphone refused")
    await screenshot(page, "roleplay-voice-refused")
    await page.get_by_label("Your words to the customer").fill(SPOKEN)
    await page.get_by_role("button", name="Send").click()
    line = page.locator(".message.assistant").last
    await expect(line.get_by_role("button", name="Helpful answer", exact=True)).to_be_visible(
        timeout=60_000
    )
    await refused.close()

    # A machine without a microphone (the session's Chromium has no fake device), by
    # keyboard this time.
    missing = await open_context(browser, voice_url, microphone=True)
    page = await missing.new_page()
    await start_roleplay(page, e2e_tenant.user.email)
    await page.get_by_role("button", name="Hold to talk").press("Enter")
    await expect(page.get_by_role("alert")).to_contain_text("No microphone was found")
    await expect(page.get_by_label("Your words to the customer")).to_be_editable()
    await missing.close()
