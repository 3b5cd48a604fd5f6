// Operator view: live alerts over server-sent events. One card per person per pass (repeat
// sightings of the same listed person within PASS_S fold into it); a decision is only ever a
// button press, never Enter in the reason box; new alerts announce themselves (title count,
// an ARIA live region, a sound that can be muted, an optional desktop notification).
"use strict";

const PASS_S = 120;

document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("alerts");
  if (box) liveAlerts(box);
});

function liveAlerts(box) {
  const tpl = document.getElementById("alert-template");
  const status = document.getElementById("stream-status");
  const announcer = document.getElementById("announcer");
  const counter = document.getElementById("pending-count");
  const canReview = box.dataset.canReview === "True";
  const me = box.dataset.me;
  const zone = box.dataset.zone || undefined;
  const labels = JSON.parse(box.dataset.labels || "{}");
  const actions = JSON.parse(box.dataset.actions || "{}");
  const results = (box.dataset.results || "").split(",").filter(Boolean);
  // Evidence (faces) is fetched only for alerts of deployments this user may see faces of; the
  // server refuses the rest anyway, and an auditor never sees a face.
  const mine = new Set((box.dataset.mine || "").split(",").filter(Boolean));
  const baseTitle = document.title;
  const label = (v) => (v in labels ? labels[v] : String(v || "—").replace(/_/g, " "));
  const alerts = new Map(); // alert id -> alert
  const cards = []; // {el, key, ids: [], latest: Date}
  const byAlert = new Map(); // alert id -> card
  let quietUntil = Date.now() + 1500; // the backlog on connect is counted, not announced one by one
  const loadedAt = Date.now() - 2000;

  const fmt = (d) => d.toLocaleString("en-GB", {
    timeZone: zone, weekday: "short", day: "numeric", month: "short",
    hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short",
  });
  function ago(d) {
    const s = Math.max(0, Math.round((Date.now() - d.getTime()) / 1000));
    if (s < 120) return `${s} s ago`;
    if (s < 7200) return `${Math.round(s / 60)} min ago`;
    return `${Math.round(s / 3600)} h ago`;
  }
  function band(score, threshold) {
    const gap = score - threshold;
    if (gap < 0) return "below the threshold";
    if (gap < 0.05) return "just above the threshold: a weak match, compare with care";
    if (gap < 0.15) return "clearly above the threshold: a fair match";
    return "well above the threshold: a strong match";
  }

  // -- sound and notifications ---------------------------------------------------------
  const muteBtn = document.getElementById("mute");
  let muted = localStorage.getItem("openlfr.muted") === "1";
  const showMute = () => {
    muteBtn.textContent = muted ? "Sound: off" : "Sound: on";
    muteBtn.setAttribute("aria-pressed", muted ? "true" : "false");
  };
  showMute();
  muteBtn.addEventListener("click", () => {
    muted = !muted;
    localStorage.setItem("openlfr.muted", muted ? "1" : "0");
    showMute();
  });
  let audio = null;
  function beep() {
    if (muted) return;
    try {
      audio = audio || new AudioContext();
      const o = audio.createOscillator();
      const g = audio.createGain();
      o.frequency.value = 880;
      g.gain.setValueAtTime(0.2, audio.currentTime);
      g.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
      o.connect(g).connect(audio.destination);
      o.start();
      o.stop(audio.currentTime + 0.4);
    } catch (e) { /* no audio device: the title and live region still announce */ }
  }
  const notifyBtn = document.getElementById("notify");
  const canNotify = "Notification" in window;
  const showNotify = () => {
    notifyBtn.textContent = !canNotify ? "Desktop notifications: not available"
      : `Desktop notifications: ${Notification.permission === "granted" ? "on" : "off"}`;
    notifyBtn.disabled = !canNotify || Notification.permission !== "default";
  };
  showNotify();
  notifyBtn.addEventListener("click", async () => {
    if (canNotify) await Notification.requestPermission();
    showNotify();
  });

  // -- the queue --------------------------------------------------------------------------
  const open = (a) => a.status === "pending" || a.status === "unsure";
  const mineToReview = (a) => open(a) && !(a.reviews || []).some((r) => r.by === me);
  const cardPending = (c) => c.ids.some((id) => open(alerts.get(id)));

  function updateCount() {
    const n = cards.filter(cardPending).length;
    counter.dataset.count = String(n);
    counter.textContent = n ? `${n} awaiting review` : "none awaiting review";
    document.title = n ? `(${n}) ${baseTitle}` : baseTitle;
  }

  function announce(c, a) {
    const what = `New alert on camera ${a.camera}: ${c.el.querySelector(".a-subject").textContent !== "—"
      ? c.el.querySelector(".a-subject").textContent : "a listed person"}. ${cards.filter(cardPending).length} awaiting review.`;
    announcer.textContent = what;
    beep();
    if (canNotify && Notification.permission === "granted" && document.hidden) {
      try { new Notification("OpenLFR: new alert", { body: what, tag: c.key }); } catch (e) { /* ignore */ }
    }
  }

  function render(c) {
    const el = c.el;
    const list = c.ids.map((id) => alerts.get(id));
    const first = list[0];
    const st = list.some((a) => a.status === "pending") ? "pending"
      : list.some((a) => a.status === "unsure") ? "unsure" : first.status;
    el.dataset.status = st;
    const badge = el.querySelector(".a-status");
    badge.textContent = label(st);
    badge.className = `badge a-status s-${st}`;
    const rep = el.querySelector(".a-repeats");
    rep.hidden = list.length < 2;
    rep.textContent = `seen ${list.length} times in this pass`;
    // Who decided, when and why: kept on the card, however it was reloaded.
    const reviews = list.flatMap((a) => (a.reviews || []).map((r) => ({ ...r, alert: a.id })));
    const seen = new Set();
    const ul = el.querySelector(".a-reviews");
    ul.replaceChildren();
    for (const r of reviews) {
      const k = `${r.by}|${r.decision}|${r.reason}`;
      if (seen.has(k)) continue;
      seen.add(k);
      const li = document.createElement("li");
      li.className = `review-record d-${r.decision}`;
      li.textContent = `${label(r.decision)} by ${r.by || "unknown"} at ${fmt(new Date(r.at))}: “${r.reason}”`;
      ul.appendChild(li);
    }
    el.querySelector(".a-decided").hidden = reviews.length === 0;
    el.querySelector("form.review").hidden = !canReview || !list.some(mineToReview);
    el.querySelector("form.outcome").hidden = !canReview || first.status !== "confirmed" || Boolean(first.result);
    const done = el.querySelector(".outcome-recorded");
    if (first.result && !done) {
      const p = document.createElement("p");
      p.className = "ok outcome-recorded";
      p.textContent = `Outcome recorded: ${label(first.result)}`;
      el.querySelector(".a-decided").after(p);
    }
    // C.12: only after review, once, and optional.
    el.querySelector("form.group").hidden = !canReview || el.dataset.group === "1" ||
      (first.status !== "confirmed" && first.status !== "rejected");
    el.querySelector(".a-time").textContent = fmt(new Date(first.detected_at));
    updateCount();
  }

  function nextPending(after) {
    const order = [...box.querySelectorAll("article.alert")];
    const i = order.indexOf(after);
    const rest = [...order.slice(i + 1), ...order.slice(0, Math.max(0, i))];
    return rest.find((el) => el.dataset.status === "pending" || el.dataset.status === "unsure");
  }

  async function decide(c, decision) {
    const el = c.el;
    const form = el.querySelector("form.review");
    const err = form.querySelector(".form-error");
    err.textContent = "";
    const reason = form.reason.value.trim();
    if (!reason) {
      err.textContent = "Write what you compared before deciding.";
      form.reason.focus();
      return;
    }
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    try {
      // One decision for the pass: every sighting of it still open to this operator.
      for (const a of c.ids.map((id) => alerts.get(id)).filter(mineToReview)) {
        const r = await api("POST", `/api/v1/alerts/${a.id}/review`, { decision, reason });
        a.status = r.status;
        a.reviews = [...(a.reviews || []), { by: me, decision, reason, at: new Date().toISOString() }];
      }
      form.reason.value = "";
      render(c);
      // Focus goes on to the next card awaiting review, or stays on this one's next step.
      const next = nextPending(el);
      if (next) next.focus();
      else if (!el.querySelector("form.outcome").hidden) el.querySelector("form.outcome select").focus();
      else el.focus();
    } catch (e) {
      err.textContent = e.message;
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  }

  function wire(c) {
    const el = c.el;
    // No form on a card submits: Enter in a box records nothing, only the buttons act.
    el.querySelectorAll("form").forEach((f) => f.addEventListener("submit", (ev) => ev.preventDefault()));
    el.querySelectorAll("button[data-decision]").forEach((b) =>
      b.addEventListener("click", () => decide(c, b.dataset.decision)));
    const sel = el.querySelector("select[name=result]");
    for (const r of results) {
      const o = document.createElement("option");
      o.value = r;
      o.textContent = label(r);
      sel.appendChild(o);
    }
    el.querySelector("button.record-outcome").addEventListener("click", async () => {
      const form = el.querySelector("form.outcome");
      const err = form.querySelector(".form-error");
      err.textContent = "";
      if (!form.result.value) { err.textContent = "Choose the result first."; form.result.focus(); return; }
      const dur = form.duration_s.value.trim();
      const first = alerts.get(c.ids[0]);
      try {
        await api("POST", `/api/v1/alerts/${first.id}/outcome`, {
          engaged: form.engaged.checked,
          duration_s: dur === "" ? null : parseFloat(dur),
          result: form.result.value,
        });
        first.result = form.result.value;
        render(c);
      } catch (e) { err.textContent = e.message; }
    });
    // The entry's other photos, on demand (each view is audited by the server).
    el.querySelector(".a-more").addEventListener("click", async (ev) => {
      const btn = ev.currentTarget;
      const box = el.querySelector(".a-others");
      if (!box.hidden) { box.hidden = true; btn.setAttribute("aria-expanded", "false"); return; }
      const a = alerts.get(c.ids[0]);
      try {
        if (!box.childElementCount) {
          const photos = await api("GET", `/api/v1/watchlist/entries/${a.entry_id}/photos`);
          for (const p of photos) {
            const img = document.createElement("img");
            img.src = p.first ? `/api/v1/watchlist/entries/${a.entry_id}/image`
              : `/api/v1/watchlist/photos/${p.id}/image`;
            img.alt = `Watchlist photo taken ${p.image_captured_on || "on an unknown date"}`;
            img.className = "other-photo";
            box.appendChild(img);
          }
        }
        box.hidden = false;
        btn.setAttribute("aria-expanded", "true");
      } catch (e) {
        el.querySelector("form.review .form-error").textContent = e.message;
      }
    });
    el.querySelector("button.record-group").addEventListener("click", async () => {
      const form = el.querySelector("form.group");
      const err = form.querySelector(".form-error");
      if (!form.group.value) return;
      try {
        await api("POST", `/api/v1/alerts/${c.ids[0]}/perceived-group`, { group: form.group.value });
        el.dataset.group = "1";
        render(c);
      } catch (e) { err.textContent = e.message; }
    });
  }

  async function evidence(c, a) {
    const el = c.el;
    if (!mine.has(a.deployment_id)) return;
    try {
      const ev = await api("GET", `/api/v1/alerts/${a.id}/evidence`);
      if (ev.probe_jpeg_b64) el.querySelector(".a-probe").src = `data:image/jpeg;base64,${ev.probe_jpeg_b64}`;
      if (ev.watchlist_jpeg_b64) el.querySelector(".a-ref").src = `data:image/jpeg;base64,${ev.watchlist_jpeg_b64}`;
      el.querySelector(".a-category").textContent = label(ev.category);
      el.querySelector(".a-subject").textContent = ev.subject_ref || "—";
      el.querySelector(".a-reason").textContent = ev.reason || "—";
      el.querySelector(".a-basis").textContent = ev.legal_basis || "—";
      el.querySelector(".a-action").textContent = actions[ev.category] || "Compare the faces; if confirmed, engage and verify identity.";
      el.querySelector(".a-location").textContent = ev.location || "—";
      el.querySelector(".a-title").textContent = ev.subject_ref ? `Alert: ${ev.subject_ref}` : "Alert";
      if (ev.watchlist_jpeg_b64) el.querySelector(".a-more").hidden = false;
    } catch (e) {
      el.querySelector(".a-category").textContent = `evidence unavailable: ${e.message}`;
    }
  }

  async function add(a) {
    const known = alerts.get(a.id);
    if (known) {
      Object.assign(known, a);
      render(byAlert.get(a.id));
      return;
    }
    alerts.set(a.id, a);
    const at = new Date(a.detected_at);
    const key = `${a.deployment_id}|${a.entry_id}`;
    let c = cards.find((x) => x.key === key && Math.abs(at - x.latest) <= PASS_S * 1000);
    if (c) {
      // A repeat sighting in the same pass folds into the person's card.
      c.ids.push(a.id);
      if (at > c.latest) c.latest = at;
      byAlert.set(a.id, c);
      render(c);
      return;
    }
    const el = tpl.content.firstElementChild.cloneNode(true);
    el.id = `alert-${a.id}`;
    const h = el.querySelector(".a-title");
    h.id = `alert-title-${a.id}`;
    el.setAttribute("aria-labelledby", h.id);
    el.querySelector(".a-camera").textContent = a.camera;
    el.querySelector(".a-band").textContent =
      `Score ${a.score.toFixed(3)} against threshold ${a.threshold.toFixed(3)}: ${band(a.score, a.threshold)}.`;
    el.querySelector(".a-band").dataset.score = a.score;
    el.querySelector(".a-band").dataset.threshold = a.threshold;
    c = { el, key, ids: [a.id], latest: at, first: at };
    cards.push(c);
    byAlert.set(a.id, c);
    wire(c);
    render(c);
    box.prepend(el);
    const noLive = document.getElementById("no-live");
    if (noLive) noLive.remove();
    await evidence(c, a);
    // A new alert is announced; the backlog found on connecting is only counted.
    if (open(a) && (Date.now() > quietUntil || at.getTime() >= loadedAt)) announce(c, a);
  }

  setInterval(() => {
    for (const c of cards) c.el.querySelector(".a-ago").textContent = ago(c.latest);
  }, 1000);

  const es = new EventSource("/api/v1/events");
  es.onopen = () => {
    status.textContent = "live: connected, new alerts appear below";
    quietUntil = Date.now() + 1500;
    setTimeout(() => {
      const n = cards.filter(cardPending).length;
      if (n) announcer.textContent = `${n} alert${n === 1 ? "" : "s"} awaiting review.`;
    }, 1600);
  };
  es.onerror = () => { status.textContent = "connection lost, retrying…"; };
  es.addEventListener("alert", (m) => { add(JSON.parse(m.data)); });
}
