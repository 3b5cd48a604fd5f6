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
  if (spec.startsWith("secret:")) { showSecret(spec.slice(7), data); return; }
  if (spec === "sar") { showSubjectAccess(data); return; }
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
  if (form.dataset.confirm && !(await askConfirm(form.dataset.confirmTitle, form.dataset.confirm, form.dataset.confirmYes))) return;
  const btn = form.querySelector('button[type="submit"]');
  if (btn) btn.disabled = true;
  try {
    let data;
    if ("query" in form.dataset) {
      // Routes that take their few fields in the query (a DELETE's reason).
      data = await api(method, `${url}?${new URLSearchParams(formJson(form))}`);
    } else {
      const body = "multipart" in form.dataset ? new FormData(form) : formJson(form);
      data = await api(method, url, body, "multipart" in form.dataset);
    }
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
  if (b.dataset.confirm && !(await askConfirm(b.dataset.confirmTitle, b.dataset.confirm, b.dataset.confirmYes))) {
    b.focus();
    return;
  }
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
  const entry = document.getElementById("entry-form");
  if (entry && entry.dataset.faces) facePicker(entry);
  const out = document.getElementById("logout");
  if (out) out.addEventListener("click", async () => {
    try { await api("POST", "/api/v1/auth/logout", {}); } finally { location.href = "/login"; }
  });
});

// -- confirmation and one-time secrets, in native <dialog>s (keyboard and screen readers) -----
function askConfirm(title, text, yes) {
  const dlg = document.getElementById("confirm-dialog");
  if (!dlg || typeof dlg.showModal !== "function") return Promise.resolve(false);
  document.getElementById("confirm-title").textContent = title || "Are you sure?";
  document.getElementById("confirm-text").textContent = text || "";
  document.getElementById("confirm-yes").textContent = yes || "Yes";
  return new Promise((resolve) => {
    dlg.addEventListener("close", () => resolve(dlg.returnValue === "yes"), { once: true });
    dlg.returnValue = "";
    dlg.showModal();
    document.getElementById("confirm-cancel").focus();
  });
}

function showSecret(title, data) {
  const dlg = document.getElementById("secret-dialog");
  document.getElementById("secret-title").textContent = title || "Shown once";
  const body = document.getElementById("secret-body");
  body.replaceChildren();
  for (const [k, v] of Object.entries(data || {})) {
    if (v === null || typeof v === "object") continue;
    const dt = document.createElement("dt");
    dt.textContent = k.replace(/_/g, " ");
    const dd = document.createElement("dd");
    dd.textContent = String(v);
    if (/password|token/.test(k)) { dd.className = "secret"; dd.id = `secret-${k}`; }
    body.append(dt, dd);
  }
  dlg.addEventListener("close", () => location.reload(), { once: true });
  dlg.showModal();
}

// -- enrolment: a photo of several people needs the compiler to pick the face ------------------
function facePicker(form) {
  const input = form.querySelector("input[name=photo]");
  const picker = document.getElementById("face-picker");
  const box = picker.querySelector(".faces");
  const status = document.getElementById("face-status");
  input.addEventListener("change", async () => {
    box.replaceChildren();
    picker.hidden = true;
    status.textContent = "";
    const file = input.files && input.files[0];
    if (!file) return;
    const body = new FormData();
    body.append("photo", file);
    let got;
    try { got = await api("POST", form.dataset.faces, body, true); } catch (e) {
      status.textContent = `Could not read the photo: ${e.message}`;
      return;
    }
    if (got.faces.length === 0) { status.textContent = "No face found in this photo."; return; }
    if (got.faces.length === 1) { status.textContent = "One face found."; return; }
    status.textContent = `${got.faces.length} faces found: pick one below.`;
    const url = await new Promise((resolve) => {
      const r = new FileReader();
      r.onload = () => resolve(r.result);
      r.readAsDataURL(file);
    });
    const img = new Image();
    await new Promise((resolve) => { img.onload = resolve; img.src = url; });
    const sx = img.naturalWidth / got.width;
    const sy = img.naturalHeight / got.height;
    got.faces.forEach((f, i) => {
      // Each face is cut out in the page only (a canvas), to show; nothing is uploaded here.
      const m = 0.3 * f.width;
      const c = document.createElement("canvas");
      c.width = 120; c.height = 120;
      c.getContext("2d").drawImage(img, (f.x - m) * sx, (f.y - m) * sy, (f.width + 2 * m) * sx,
        (f.height + 2 * m) * sy, 0, 0, 120, 120);
      const label = document.createElement("label");
      label.className = "face-choice";
      const radio = document.createElement("input");
      radio.type = "radio"; radio.name = "face"; radio.value = String(i); radio.required = true;
      const face = document.createElement("img");
      face.src = c.toDataURL("image/jpeg");
      face.alt = `Face ${i + 1} from the left`;
      label.append(radio, face, document.createTextNode(` Face ${i + 1} (from the left)`));
      box.appendChild(label);
    });
    picker.hidden = false;
  });
}

// -- subject access: the hits in words, and the first step of erasure ------------------------
function showSubjectAccess(found) {
  const form = document.getElementById("sar-form");
  const names = JSON.parse(form.dataset.names || "{}");
  const box = document.getElementById("sar-result");
  const body = document.querySelector("#sar-hits tbody");
  const what = { alert: "Alert (camera image)", watchlist_entry: "Watchlist entry (photo)",
    watchlist_stub: "Former watchlist entry (record only)" };
  const labels = JSON.parse(form.dataset.labels || "{}");
  // Values as people read them: labels for the closed lists, times local to the console.
  const words = (v) => {
    const s = String(v);
    if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(s)) {
      return new Date(s).toLocaleString("en-GB", { timeZone: form.dataset.zone || undefined,
        day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
        timeZoneName: "short" });
    }
    return labels[s] || s;
  };
  body.replaceChildren();
  for (const h of found.hits) {
    const tr = document.createElement("tr");
    const tick = document.createElement("td");
    if (h.kind !== "watchlist_stub") {
      const c = document.createElement("input");
      c.type = "checkbox"; c.value = h.id; c.className = "erase-hit"; c.checked = true;
      c.setAttribute("aria-label", `Erase ${what[h.kind]} ${h.id.slice(0, 8)}`);
      tick.appendChild(c);
    } else tick.textContent = "kept (audit trail)";
    const cells = [what[h.kind] || h.kind, names[h.deployment_id] || h.deployment_id,
      h.score === null ? "—" : h.score.toFixed(3),
      Object.entries(h.detail || {}).map(([k, v]) => `${k.replace(/_/g, " ")}: ${words(v)}`).join("; ")];
    tr.appendChild(tick);
    for (const c of cells) { const td = document.createElement("td"); td.textContent = c; tr.appendChild(td); }
    body.appendChild(tr);
  }
  const n = found.hits.length;
  document.getElementById("sar-summary").textContent = n
    ? `${n} record${n === 1 ? "" : "s"} found about this person (search ${found.search_id}).`
    : `Nothing found about this person (search ${found.search_id}).`;
  const erase = document.getElementById("erase-form");
  erase.hidden = !found.hits.some((h) => h.kind !== "watchlist_stub");
  erase.dataset.search = String(found.search_id);
  box.hidden = false;
  document.getElementById("sar-summary").focus();
}

document.addEventListener("submit", async (ev) => {
  const form = ev.target;
  if (form.id !== "erase-form") return;
  ev.preventDefault();
  const err = form.querySelector(".form-error");
  err.textContent = "";
  const ids = [...document.querySelectorAll("input.erase-hit:checked")].map((c) => c.value);
  if (!ids.length) { err.textContent = "Tick at least one record."; return; }
  if (!(await askConfirm(form.dataset.confirmTitle, form.dataset.confirm, form.dataset.confirmYes))) return;
  try {
    await api("POST", "/api/v1/subject-access/erase",
      { search_id: parseInt(form.dataset.search, 10), hit_ids: ids, reason: form.reason.value });
    location.reload();
  } catch (e) { err.textContent = e.message; }
});
