// escalated console: small progressive enhancements. Every page works without this file.
"use strict";

// Countdowns: every element with data-due shows the time left until it (or how late it is),
// refreshed each second.
function human(ms) {
  const sign = ms < 0 ? "-" : "";
  let s = Math.round(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  s = s % 60;
  const two = (n) => String(n).padStart(2, "0");
  if (d > 0) return sign + d + "d " + two(h) + "h";
  if (h > 0) return sign + h + "h " + two(m) + "m";
  if (m > 0) return sign + m + "m " + two(s) + "s";
  return sign + s + "s";
}

function tick() {
  const now = Date.now();
  for (const el of document.querySelectorAll("[data-due]")) {
    const due = Date.parse(el.dataset.due);
    if (isNaN(due)) continue;
    const left = due - now;
    el.textContent = human(left);
    el.classList.toggle("late", left <= 0);
    el.classList.toggle("soon", left > 0 && left < 15 * 60 * 1000);
  }
}

// The live queue: the team's event stream (unnamed events, so onmessage hears them all) says
// when its tickets change; the table body is then fetched again (at most every half second)
// and new rows are highlighted.
function liveQueue() {
  const table = document.getElementById("queue");
  const status = document.getElementById("live");
  if (!table || !status || !window.EventSource) return;
  const team = status.dataset.team;
  let timer = null;
  const refresh = () => {
    timer = null;
    let caption = null;
    fetch(table.dataset.rows, { headers: { "Accept": "text/html" }, credentials: "same-origin" })
      .then((r) => {
        if (!r.ok) return Promise.reject(r.status);
        caption = r.headers.get("X-Queue-Caption");
        return r.text();
      })
      .then((html) => {
        const cap = document.getElementById("queue-caption");
        if (cap && caption) cap.textContent = caption;
        const body = document.getElementById("queue-rows");
        const before = new Set([...body.querySelectorAll("tr[data-ticket]")].map((tr) => tr.dataset.ticket));
        body.innerHTML = html;
        for (const tr of body.querySelectorAll("tr[data-ticket]")) {
          if (!before.has(tr.dataset.ticket)) tr.classList.add("flash");
        }
        tick();
      })
      .catch(() => {});
  };
  const es = new EventSource("/console/events?team=" + encodeURIComponent(team));
  es.onopen = () => { status.textContent = "Live"; status.classList.remove("off"); };
  es.onerror = () => { status.textContent = "Reconnecting…"; status.classList.add("off"); };
  es.onmessage = () => { if (!timer) timer = setTimeout(refresh, 500); };
}

// The escalation note's minimum length, checked before the form goes (the server checks too).
// The textarea's minlength makes the browser refuse a short note it saw typed, with a bubble of
// its own: that refusal ("invalid") is shown in the page instead. A note the server sent back,
// or one padded with spaces, passes the browser's check and is caught on submit.
function noteLength() {
  const note = document.getElementById("esc-note");
  const err = document.getElementById("esc-note-err");
  if (!note || !err || !note.dataset.minlength) return;
  const min = Number(note.dataset.minlength);
  const refuse = (ev) => {
    const n = note.value.trim().length;
    if (n >= min) return;
    ev.preventDefault();
    err.hidden = false;
    err.textContent = "The note needs at least " + min + " characters (it has " + n + "): tell the receiving team what you tried and what you need.";
    note.setAttribute("aria-invalid", "true");
    note.focus();
  };
  note.addEventListener("invalid", refuse);
  note.form.addEventListener("submit", refuse);
}

document.addEventListener("DOMContentLoaded", () => {
  tick();
  setInterval(tick, 1000);
  liveQueue();
  noteLength();
});
