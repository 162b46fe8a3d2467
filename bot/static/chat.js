// Web chat client of POST /api/chat. Text is always inserted as text, never as HTML.
// The conversation is identified by an HttpOnly cookie the server sets on the first message;
// this script never sees or chooses an id.
(() => {
  "use strict";
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const status = document.getElementById("status");
  localStorage.removeItem("pustakabot.sender"); // ids chosen by older versions of this page

  // While a librarian has the conversation, poll for their replies.
  let cursor = 0;
  let polling = null;
  function follow(handoff, next) {
    if (typeof next === "number") cursor = Math.max(cursor, next);
    if (handoff && !polling) polling = setInterval(poll, 2000);
    if (!handoff && polling) { clearInterval(polling); polling = null; }
  }
  async function poll() {
    try {
      const res = await fetch(`/api/chat/updates?after=${cursor}`, { credentials: "same-origin" });
      if (!res.ok) return;
      const data = await res.json();
      for (const m of data.messages) add(m.text, m.author === "agent" ? "agent" : "bot", m.buttons, m.links);
      if (data.handoff) status.textContent = "Terhubung dengan pustakawan.";
      else status.textContent = "";
      follow(data.handoff, data.cursor);
    } catch (e) { /* offline for a moment: try again on the next tick */ }
  }

  // Only http(s) addresses become links (never javascript:, data:, ...).
  function webAddress(url) {
    try {
      const parsed = new URL(String(url));
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
    } catch (e) {
      return null;
    }
  }

  // Link buttons open in a new tab, without giving the opened page a handle on this one.
  function linkButtons(links) {
    const box = document.createElement("div");
    box.className = "links";
    for (const link of links) {
      const href = webAddress(link.url);
      if (!href) continue;
      const a = document.createElement("a");
      a.className = "link-button";
      a.href = href;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      a.textContent = link.title || "Buka tautan";
      box.appendChild(a);
    }
    return box;
  }

  function add(text, who, buttons, links) {
    const li = document.createElement("li");
    li.className = "msg " + who;
    li.textContent = text;
    if (buttons && buttons.length) {
      const box = document.createElement("div");
      box.className = "buttons";
      for (const b of buttons) {
        const btn = document.createElement("button");
        btn.type = "button";
        btn.textContent = b.title;
        btn.addEventListener("click", () => send(b.title, b.payload));
        box.appendChild(btn);
      }
      li.appendChild(box);
    }
    if (links && links.length) {
      const box = linkButtons(links);
      if (box.childNodes.length) li.appendChild(box);
    }
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
  }

  async function send(text, payload) {
    add(text, "me");
    status.textContent = "Sedang mengetik…";
    try {
      const body = { text: text };
      if (payload) body.payload = payload;
      const res = await fetch("/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        credentials: "same-origin",
        body: JSON.stringify(body),
      });
      const data = await res.json();
      if (!res.ok) {
        add((data.error && data.error.message) || "Maaf, terjadi kesalahan.", "bot");
      } else {
        for (const m of data.messages) add(m.text, m.author === "agent" ? "agent" : "bot", m.buttons, m.links);
        if (data.handoff && !data.messages.length) status.textContent = "Pesan Kakak sudah diteruskan ke pustakawan.";
        else status.textContent = "";
        follow(data.handoff, data.cursor);
      }
    } catch (e) {
      add("Maaf Kak, koneksi terputus. Coba lagi sebentar lagi ya.", "bot");
    } finally {
      if (status.textContent === "Sedang mengetik…") status.textContent = "";
    }
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text);
  });
  add("Halo Kak! Saya asisten virtual Perpustakaan Kota Prabumulih. Mau cari buku, tanya jam buka, atau info acara?", "bot");
  input.focus();
  fetch("/api/chat/updates", { credentials: "same-origin" })
    .then((res) => (res.ok ? res.json() : null))
    .then((data) => { if (data) follow(data.handoff, data.cursor); })
    .catch(() => {});
})();
