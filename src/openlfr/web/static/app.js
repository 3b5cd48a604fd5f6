// OpenLFR console: plain JavaScript, no build step. Every action goes to the REST API with the
// session's CSRF token; pages are rendered by the server.
"use strict";

const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

async function api(method, url, body, multipart) {
  const opts = { method, headers: { "X-CSRF-Token": csrf() }, credentials: "same-origin" };
  if (multipart) opts.body = body;
  else if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(url, opts);
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = text; }
  if (!res.ok) {
    let msg = `${res.status}`;
    if (data && data.message) {
      msg = data.problems && data.problems.length ? data.problems.join("; ") : data.message;
    } else if (data && Array.isArray(data.detail)) {
      msg = data.detail.map((d) => `${(d.loc || []).slice(-1)[0]}: ${d.msg}`).join("; ");
    }
    throw new Error(msg);
  }
  return data;
}

function formJson(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled || el.type === "submit" || el.type === "button") continue;
    const t = el.dataset.type;
    if (t === "multi") {
      out[el.name] = out[el.name] || [];
      if (el.checked) out[el.name].push(el.value);
      continue;
    }
    if (el.type === "checkbox") { out[el.name] = el.checked; continue; }
    const v = el.value.trim();
    if (v === "") continue; // unset: the server keeps what it has
    if (t === "number") out[el.name] = parseFloat(v);
    else if (t === "int") out[el.name] = parseInt(v, 10);
    else if (t === "list") out[el.name] = v.split(",").map((s) => s.trim()).filter(Boolean);
    else if (t === "datetime") out[el.name] = new Date(v).toISOString();
    else out[el.name] = v;
  }
  return out;
}

function then(spec, data) {
  if (!spec || spec === "reload") return location.reload();
  if (spec === "login") {
    // The server checked `next` (same-origin path only); the raw query is never followed.
    const form = document.getElementById("login-form");
    const next = form ? form.dataset.next : "";
    location.href = next && next.startsWith("/") && !next.startsWith("//") && !next.includes("\\") ? next : "/";
    return;
  }
  if (spec.startsWith("goto:")) {
    location.href = spec.slice(5).replace("{id}", data && data.id ? data.id : "");
    return;
  }
  if (spec.startsWith("redirect:")) { location.href = spec.slice(9); return; }
  if (spec.startsWith("show:")) {
    const el = document.querySelector(spec.slice(5));
    if (el) el.textContent = JSON.stringify(data, null, 2);
  }
}

function errorBox(el) {
  return el.querySelector(".form-error") ||
    (el.closest("section") && el.closest("section").querySelector(".form-error"));
}

document.addEventListener("submit", async (ev) => {
  const form = ev.target;
  if (!form.dataset.api) return;
  ev.preventDefault();
  const [method, url] = form.dataset.api.split(" ");
  const err = errorBox(form);
  if (err) err.textContent = "";
  const btn = form.querySelector('button[type="submit"]');
  if (btn) btn.disabled = true;
  try {
    const body = "multipart" in form.dataset ? new FormData(form) : formJson(form);
    const data = await api(method, url, body, "multipart" in form.dataset);
    then(form.dataset.then, data);
  } catch (e) {
    if (err) err.textContent = e.message;
  } finally {
    if (btn) btn.disabled = false;
  }
});

document.addEventListener("click", async (ev) => {
  const b = ev.target.closest("button[data-post]");
  if (!b) return;
  const err = errorBox(b);
  if (err) err.textContent = "";
  b.disabled = true;
  try {
    const data = await api("POST", b.dataset.post, {});
    then(b.dataset.then || "reload", data);
  } catch (e) {
    if (err) err.textContent = e.message;
    b.disabled = false;
  }
});

document.addEventListener("DOMContentLoaded", () => {
  const out = document.getElementById("logout");
  if (out) out.addEventListener("click", async () => {
    try { await api("POST", "/api/v1/auth/logout", {}); } finally { location.href = "/login"; }
  });
  const box = document.getElementById("alerts");
  if (box) liveAlerts(box);
});

// -- operator view: live alerts over server-sent events ------------------------------------
function liveAlerts(box) {
  const tpl = document.getElementById("alert-template");
  const status = document.getElementById("stream-status");
  const results = box.dataset.results.split(",");
  const canReview = box.dataset.canReview === "True";
  // Evidence (faces) is fetched only for alerts of deployments this operator is named on; the
  // server refuses the rest anyway, and an auditor never sees a face.
  const mine = new Set((box.dataset.mine || "").split(",").filter(Boolean));
  const cards = new Map();

  function setStatus(card, st) {
    card.dataset.status = st;
    const badge = card.querySelector(".a-status");
    badge.textContent = st;
    badge.className = `badge a-status s-${st}`;
    card.querySelector("form.review").hidden = !canReview || st === "confirmed" || st === "rejected";
    card.querySelector("form.outcome").hidden = !canReview || st !== "confirmed" || card.dataset.outcome === "1";
    // C.12: only after review, once, and optional.
    card.querySelector("form.group").hidden = !canReview || card.dataset.group === "1" ||
      (st !== "confirmed" && st !== "rejected");
  }

  // An alert card's own form: `send(form, ev)` posts it; a refusal is shown in the form.
  function onCardSubmit(card, selector, send) {
    card.querySelector(selector).addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const form = ev.target;
      const err = form.querySelector(".form-error");
      err.textContent = "";
      try { await send(form, ev); } catch (e) { err.textContent = e.message; }
    });
  }

  async function add(a) {
    let card = cards.get(a.id);
    if (card) { setStatus(card, a.status); return; }
    card = tpl.content.firstElementChild.cloneNode(true);
    card.id = `alert-${a.id}`;
    cards.set(a.id, card);
    card.querySelector(".a-title").textContent = `Alert ${a.id.slice(0, 8)}`;
    card.querySelector(".a-score").textContent = a.score.toFixed(3);
    card.querySelector(".a-threshold").textContent = a.threshold.toFixed(3);
    card.querySelector(".a-camera").textContent = a.camera;
    card.querySelector(".a-time").textContent = new Date(a.detected_at).toLocaleString();
    const sel = card.querySelector("select[name=result]");
    for (const r of results) { const o = document.createElement("option"); o.textContent = r; sel.appendChild(o); }
    if (a.result) card.dataset.outcome = "1";
    setStatus(card, a.status);
    box.prepend(card);
    const noLive = document.getElementById("no-live");
    if (noLive) noLive.remove();

    onCardSubmit(card, "form.review", async (form, ev) => {
      const decision = ev.submitter ? ev.submitter.value : "unsure";
      const r = await api("POST", `/api/v1/alerts/${a.id}/review`,
        { decision, reason: form.reason.value });
      setStatus(card, r.status);
    });
    onCardSubmit(card, "form.outcome", async (form) => {
      const dur = form.duration_s.value.trim();
      await api("POST", `/api/v1/alerts/${a.id}/outcome`, {
        engaged: form.engaged.checked,
        duration_s: dur === "" ? null : parseFloat(dur),
        result: form.result.value,
      });
      card.dataset.outcome = "1";
      form.hidden = true;
      const done = document.createElement("p");
      done.className = "ok outcome-recorded";
      done.textContent = `Outcome recorded: ${form.result.value}`;
      card.appendChild(done);
    });

    onCardSubmit(card, "form.group", async (form) => {
      if (!form.group.value) return;
      await api("POST", `/api/v1/alerts/${a.id}/perceived-group`, { group: form.group.value });
      card.dataset.group = "1";
      form.hidden = true;
    });

    if (!mine.has(a.deployment_id)) {
      card.querySelector(".a-category").textContent = "—";
      return;
    }
    try {
      const ev = await api("GET", `/api/v1/alerts/${a.id}/evidence`);
      if (ev.probe_jpeg_b64) card.querySelector(".a-probe").src = `data:image/jpeg;base64,${ev.probe_jpeg_b64}`;
      if (ev.watchlist_jpeg_b64) card.querySelector(".a-ref").src = `data:image/jpeg;base64,${ev.watchlist_jpeg_b64}`;
      card.querySelector(".a-category").textContent = ev.category || "—";
    } catch (e) {
      card.querySelector(".a-category").textContent = `evidence unavailable: ${e.message}`;
    }
  }

  const es = new EventSource("/api/v1/events");
  es.onopen = () => { status.textContent = "live: connected, new alerts appear below"; };
  es.onerror = () => { status.textContent = "connection lost, retrying…"; };
  es.addEventListener("alert", (m) => { add(JSON.parse(m.data)); });
}
