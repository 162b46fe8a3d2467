// Staff console: live refresh over a websocket, unread badge in the tab title, optional sound,
// canned replies, ticking waiting times. Server-rendered fragments only; no HTML is built from
// patron text here (the server escapes it).
(() => {
  "use strict";
  const body = document.body;
  const base = body.dataset.base || "/console/";
  const current = body.dataset.current ? Number(body.dataset.current) : null;
  const baseTitle = document.title;
  const live = document.getElementById("live");
  const sound = document.getElementById("sound");
  let unread = 0;
  let lastWaiting = null;

  function setTitle() {
    document.title = unread > 0 ? `(${unread}) ${baseTitle}` : baseTitle;
  }
  function seen() {
    if (!document.hidden) { unread = 0; setTitle(); }
  }
  document.addEventListener("visibilitychange", seen);
  window.addEventListener("focus", seen);

  if (sound) {
    sound.checked = localStorage.getItem("pustakabot.console.sound") === "1";
    sound.addEventListener("change", () => localStorage.setItem("pustakabot.console.sound", sound.checked ? "1" : "0"));
  }
  function beep() {
    if (!sound || !sound.checked) return;
    try {
      const ctx = new (window.AudioContext || window.webkitAudioContext)();
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = 880;
      gain.gain.value = 0.1;
      osc.connect(gain).connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.2);
    } catch (e) { /* no audio: fine */ }
  }
  function notify() {
    if (document.hidden || !document.hasFocus()) { unread += 1; setTitle(); }
    beep();
  }

  // A submitted form is navigating away. A live reload now would cancel that navigation: after
  // "Selesai & kembalikan ke bot" the hand-back event arrives before the redirect, and the
  // staff member would land on the conversation again instead of the queue.
  let leavingUntil = 0;
  document.addEventListener("submit", (ev) => { if (!ev.defaultPrevented) leavingUntil = Date.now() + 10000; });
  window.addEventListener("pageshow", () => { leavingUntil = 0; });
  function reload() {
    if (Date.now() >= leavingUntil) location.reload();
  }

  async function replace(id, url) {
    const old = document.getElementById(id);
    if (!old) return null;
    const res = await fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } });
    if (res.status === 401 || res.redirected) { reload(); return null; }
    if (!res.ok) return null;
    const tpl = document.createElement("template");
    tpl.innerHTML = await res.text();
    const fresh = tpl.content.getElementById(id);
    if (fresh) old.replaceWith(fresh);
    return fresh;
  }
  async function refreshQueue() {
    const fresh = await replace("queue", base + "queue" + (current ? "?current=" + current : ""));
    if (fresh) {
      const waiting = Number(fresh.dataset.waiting || 0);
      if (lastWaiting !== null && waiting > lastWaiting) notify();
      lastWaiting = waiting;
      tick();
    }
  }
  async function refreshTranscript() {
    if (!current) return;
    const fresh = await replace("transcript", `${base}c/${current}/transcript`);
    if (fresh) {
      fresh.scrollTop = fresh.scrollHeight;
      const state = document.getElementById("state");
      if (state && fresh.dataset.state && state.dataset.was && state.dataset.was !== fresh.dataset.state) reload();
    }
  }

  function connect(delay) {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${proto}//${location.host}${base}ws`);
    ws.onopen = () => { delay = 1000; if (live) live.classList.add("on"); };
    ws.onmessage = (ev) => {
      let event;
      try { event = JSON.parse(ev.data); } catch (e) { return; }
      if (event.type === "hello") return;
      refreshQueue();
      if (current && event.conversation_id === current) refreshTranscript();
      if (event.type === "message" && event.author === "patron") notify();
      if (event.type === "queue" && current && event.conversation_id === current) {
        const t = document.getElementById("transcript");
        if (t) t.dataset.stale = "1";
      }
    };
    ws.onclose = (ev) => {
      if (live) live.classList.remove("on");
      if (ev.code === 4401) { location.reload(); return; } // session over: the server shows the login page
      setTimeout(() => connect(Math.min(delay * 2, 15000)), delay);
    };
  }

  function ago(iso) {
    const s = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 1000));
    if (s < 60) return "baru saja";
    if (s < 3600) return `${Math.floor(s / 60)} menit`;
    if (s < 86400) return `${Math.floor(s / 3600)} jam ${Math.floor((s % 3600) / 60)} menit`;
    return `${Math.floor(s / 86400)} hari`;
  }
  function tick() {
    for (const el of document.querySelectorAll("[data-since]")) el.textContent = ago(el.dataset.since);
  }
  setInterval(tick, 15000);

  // Delivery status: re-check while something is still being sent.
  setInterval(() => {
    if (document.querySelector("#transcript .status-pending")) refreshTranscript();
  }, 3000);

  const canned = document.getElementById("canned");
  const text = document.getElementById("reply-text");
  if (canned && text) {
    canned.addEventListener("change", () => {
      if (canned.value) { text.value = canned.value; text.focus(); }
      canned.selectedIndex = 0;
    });
  }
  if (text) {
    text.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); text.form.requestSubmit(); }
    });
  }
  const state = document.getElementById("state");
  const transcript = document.getElementById("transcript");
  if (state && transcript) {
    state.dataset.was = transcript.dataset.state;
    transcript.scrollTop = transcript.scrollHeight;
  }
  const queue = document.getElementById("queue");
  if (queue) lastWaiting = Number(queue.dataset.waiting || 0);
  if (body.dataset.base && document.getElementById("live")) connect(1000);
})();
