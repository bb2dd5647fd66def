// callscope report page: the waveform (wavesurfer.js, drawn from server-computed peaks over the page's own <audio>,
// so the audio is never read cross-origin), tracker markers and click-to-seek. Without wavesurfer the standard
// audio element stays and every seek button still works.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var audio = document.getElementById("audio");
  var wrap = document.querySelector(".wave-wrap");
  var timeLabel = document.getElementById("time");
  var play = document.getElementById("play");

  function clock(s) {
    s = Math.max(0, Math.floor(s));
    var h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, sec = s % 60;
    var mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(sec).padStart(2, "0");
  }

  function seek(t) {
    if (!audio) return;
    var go = function () {
      audio.currentTime = t;
      document.body.dataset.seeked = String(t);
    };
    if (audio.readyState >= 1) go(); else audio.addEventListener("loadedmetadata", go, { once: true });
    if (audio.readyState < 1) audio.load();
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-t]");
    if (!target) return;
    event.preventDefault();
    seek(parseFloat(target.dataset.t));
  });

  function fallback(reason) {
    // Standard audio element (seed 000: no waveform when the audio cannot be used); markers need the waveform.
    document.body.classList.add("no-waveform");
    document.body.dataset.player = "audio";
    if (reason) document.body.dataset.fallback = reason;
  }

  if (!audio) { fallback("no audio"); return; }
  if (typeof window.WaveSurfer === "undefined" || !data.peaks || !data.peaks.length) {
    fallback(typeof window.WaveSurfer === "undefined" ? "wavesurfer unavailable" : "no peaks");
    return;
  }
  var styles = getComputedStyle(document.documentElement);
  var ws;
  try {
    ws = window.WaveSurfer.create({
      container: "#waveform",
      media: audio,
      peaks: [data.peaks],
      duration: data.duration,
      height: 96,
      waveColor: styles.getPropertyValue("--wave").trim() || "#9aa4b2",
      progressColor: data.accent,
      cursorColor: styles.getPropertyValue("--fg").trim() || "#111",
      barWidth: 2,
      barGap: 1,
      normalize: true,
      dragToSeek: true
    });
  } catch (error) {
    fallback("wavesurfer failed: " + error);
    return;
  }
  audio.controls = false;
  audio.classList.add("visually-hidden");
  wrap.classList.add("ready");
  play.hidden = false;
  document.body.dataset.player = "waveform";
  ws.on("error", function (error) {
    audio.controls = true;
    audio.classList.remove("visually-hidden");
    wrap.classList.remove("ready");
    play.hidden = true;
    fallback("media error: " + error);
  });
  function update() { timeLabel.textContent = clock(audio.currentTime) + " / " + clock(data.duration); }
  ws.on("timeupdate", update);
  ws.on("play", function () { play.textContent = "Pause"; });
  ws.on("pause", function () { play.textContent = "Play"; });
  play.addEventListener("click", function () { ws.playPause(); });
  update();
  document.addEventListener("keydown", function (event) {
    if (event.target.closest("input, textarea, button, a") || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === " " || event.key === "k") { event.preventDefault(); ws.playPause(); }
    if (event.key === "ArrowRight" || event.key === "l") seek(Math.min(data.duration, audio.currentTime + 5));
    if (event.key === "ArrowLeft" || event.key === "j") seek(Math.max(0, audio.currentTime - 5));
  });
  document.body.dataset.ready = "1";
})();
