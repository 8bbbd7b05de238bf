// Small behaviours htmx does not cover: CSRF header, toasts, the mobile menu, socket refresh.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // What the script itself says, in the page's language: the server writes it on the toast box.
  function said(name) {
    var box = document.getElementById("toasts");
    return (box && box.dataset[name]) || "";
  }

  function toast(message, level) {
    var box = document.getElementById("toasts");
    if (!box || !message) return;
    var el = document.createElement("div");
    el.className = "toast toast-" + (level || "info");
    el.setAttribute("role", level === "error" ? "alert" : "status");
    el.textContent = message;
    box.appendChild(el);
    dismissLater(el);
  }

  function dismissLater(el) {
    if (el.classList.contains("is-timed")) return;
    el.classList.add("is-timed");
    setTimeout(function () {
      el.classList.add("is-leaving");
      setTimeout(function () { el.remove(); }, 300);
    }, el.classList.contains("toast-error") ? 8000 : 4000);
  }

  document.addEventListener("htmx:configRequest", function (evt) {
    evt.detail.headers["X-CSRFToken"] = csrfToken();
  });

  // Servers answer failures with HX-Trigger {"toast": {...}}; htmx turns that into this event.
  document.addEventListener("toast", function (evt) {
    toast(evt.detail.message, evt.detail.level);
  });

  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    if (xhr && xhr.getResponseHeader("HX-Trigger")) return; // the server already said why
    toast(said("serverError").replace("{status}", xhr ? xhr.status : "?"), "error");
  });

  document.addEventListener("htmx:sendError", function () {
    toast(said("offline"), "error");
  });

  // A live frame carries fragments for whichever page shows their subject (a chat's head, a board's
  // column, the inbox list); htmx places every top-level element of a frame by its id or its
  // hx-swap-oob selector, and one whose target is not on this page is an error in the console
  // (htmx:oobErrorNoTarget). Those are dropped first; the rest are placed as before.
  function oobTarget(fragment) {
    var spec = fragment.getAttribute("hx-swap-oob") || "true";
    var colon = spec.indexOf(":");
    return colon >= 0 ? spec.slice(colon + 1) : "#" + CSS.escape(fragment.id);
  }

  function placeable(fragment) {
    try {
      return document.querySelector(oobTarget(fragment)) !== null;
    } catch (err) {
      return true;  // a selector this check cannot read: htmx decides
    }
  }

  htmx.defineExtension("placeable-only", {
    transformResponse: function (text, xhr) {
      if (xhr) return text;  // socket frames only; requests' answers are placed as they come
      var box = document.createElement("template");
      box.innerHTML = text;
      var misplaced = Array.prototype.filter.call(box.content.children, function (fragment) {
        return !placeable(fragment);
      });
      if (!misplaced.length) return text;
      misplaced.forEach(function (fragment) { fragment.remove(); });
      return box.innerHTML;
    }
  });

  // Realtime is a doorbell, not a log: each frame starts with its event's number (<!--seq:N-->)
  // and the socket's first frame carries the latest one. The page knows the number it was
  // rendered at (#live-seq); seeing a higher one that did not land on this page (rung before the
  // socket listened, while it was away, or while a boosted navigation was in flight) asks the
  // page to re-fetch what it shows, with "live:resync".
  var SEQ = /^<!--seq:(\d+)-->/;
  var lastSeen = 0;
  var greeted = false;  // frames before the greeting may follow a gap only the greeting reveals

  function pageSeq() {
    var mark = document.getElementById("live-seq");
    return mark ? parseInt(mark.dataset.seq, 10) : null;
  }

  function resyncIfBehind(seq) {
    var mine = pageSeq();
    if (mine === null || seq <= mine) return;
    document.getElementById("live-seq").dataset.seq = String(seq);  // the re-fetch sees up to here
    htmx.trigger(document.body, "live:resync");
  }

  document.addEventListener("htmx:wsBeforeMessage", function (evt) {
    var found = SEQ.exec(evt.detail.message || "");
    if (!found) return;
    var seq = parseInt(found[1], 10);
    var greeting = evt.detail.message.length === found[0].length;
    if (greeting) {
      greeted = true;
      resyncIfBehind(seq);
      return;
    }
    lastSeen = Math.max(lastSeen, seq);
    var mark = document.getElementById("live-seq");  // this page has now seen it
    if (greeted && mark && seq > pageSeq()) mark.dataset.seq = String(seq);
  });

  // A live region re-fetched (a resync, a filter) replaces whatever frames changed in it while the
  // request was out; if any arrived, fetch again. A boosted page compares with its own mark.
  document.addEventListener("htmx:beforeRequest", function (evt) { evt.detail.xhr.liveSeen = lastSeen; });
  document.addEventListener("htmx:afterSettle", function (evt) {
    if (evt.detail.boosted) { resyncIfBehind(lastSeen); return; }  // frames delivered to the page we left
    var xhr = evt.detail.xhr, region = evt.detail.elt;
    if (!xhr || xhr.liveSeen === undefined || lastSeen <= xhr.liveSeen) return;
    if (!region || !region.matches || !region.matches('[hx-trigger*="live:resync"]')) return;
    xhr.liveSeen = lastSeen;  // once per request: afterSettle fires for each settled element
    htmx.trigger(document.body, "live:resync");
  });

  // A live region's re-fetch answered 404 with a body: what it showed is gone (a chat taken by a
  // teammate). The answer replaces the region, so no older copy of it can stay on the page.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var xhr = evt.detail.xhr, region = evt.detail.elt;
    if (!xhr || xhr.status !== 404 || !xhr.responseText) return;
    if (!region || !region.matches || !region.matches('[hx-trigger*="live:resync"]')) return;
    evt.detail.shouldSwap = true;
    evt.detail.isError = false;
  });

  document.addEventListener("htmx:wsOpen", function () {
    greeted = false;
    document.body.classList.add("is-live");
  });
  // The server ended this browser's session: show the sign-in page. A request still out (the
  // sign-out form itself, say, boosted or a whole-page submit) gets there on its own: its answer is
  // the sign-in page or a 401.
  var CLOSE_SIGNED_OUT = 4001;
  var CLOSE_REMOVED = 4003;  // removed from the organization: reload into what is left
  var requestsOut = 0;
  var leaving = false;
  document.addEventListener("htmx:beforeRequest", function () { requestsOut += 1; });
  document.addEventListener("htmx:afterRequest", function () { requestsOut = Math.max(0, requestsOut - 1); });
  window.addEventListener("beforeunload", function () { leaving = true; });
  window.addEventListener("pageshow", function () { leaving = false; });
  document.addEventListener("htmx:wsClose", function (evt) {
    document.body.classList.remove("is-live");
    var closed = evt.detail && evt.detail.event;
    var ended = closed && (closed.code === CLOSE_SIGNED_OUT || closed.code === CLOSE_REMOVED);
    if (ended && requestsOut === 0 && !leaving) window.location.reload();
  });

  document.addEventListener("click", function (evt) {
    var toggle = evt.target.closest("[data-toggle-nav]");
    if (toggle) document.body.classList.toggle("nav-open");
  });

  document.addEventListener("keydown", function (evt) {
    if (evt.key === "Escape") document.body.classList.remove("nav-open");
  });

  // Times arrive in UTC; show them on the viewer's own clock (DESIGN: time in the viewer's zone), in
  // the page's language (a Russian page writes "1 мар. 2026 г." whatever the browser's own locale).
  // A calendar day (data-local="day") is no moment: it is written out in UTC, so it stays that day.
  var LOCALE = document.documentElement.lang || undefined;
  // The person's own time zone (their profile), else the browser's clock.
  var ZONE = document.documentElement.dataset.timeZone || undefined;
  var FORMATS = {
    datetime: { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" },
    date: { year: "numeric", month: "short", day: "numeric" },
    day: { year: "numeric", month: "short", day: "numeric", timeZone: "UTC" },  // a calendar day, as it is
    seconds: { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }
  };

  function localizeTimes(root) {
    (root || document).querySelectorAll("time[data-local]").forEach(function (el) {
      var moment = new Date(el.getAttribute("datetime"));
      if (isNaN(moment)) return;
      el.title = el.textContent;  // the UTC text stays at hand
      if (el.dataset.local === "short") {  // chat lists and threads: today's time, else the day
        var dayOf = function (d) { return d.toLocaleDateString("en-CA", { timeZone: ZONE }); };
        var today = dayOf(new Date()) === dayOf(moment);
        el.textContent = today ? moment.toLocaleTimeString(LOCALE, { hour: "2-digit", minute: "2-digit", timeZone: ZONE })
          : moment.toLocaleDateString(LOCALE, { month: "short", day: "numeric", timeZone: ZONE }) + " " +
            moment.toLocaleTimeString(LOCALE, { hour: "2-digit", minute: "2-digit", timeZone: ZONE });
      } else {
        var format = FORMATS[el.dataset.local] || FORMATS.datetime;
        el.textContent = moment.toLocaleString(LOCALE, format.timeZone ? format : Object.assign({ timeZone: ZONE }, format));
      }
      el.removeAttribute("data-local");
    });
  }

  function init() {
    document.querySelectorAll("#toasts .toast").forEach(dismissLater);
    localizeTimes(document);
  }
  document.addEventListener("DOMContentLoaded", init);
  document.addEventListener("htmx:afterSettle", function (evt) {
    if (evt.detail.boosted) document.body.classList.remove("nav-open");  // a new page, not a fragment
    init();
  });
  // Live pushes arrive as out-of-band swaps, which settle without htmx:afterSettle.
  document.addEventListener("htmx:oobAfterSwap", function () { localizeTimes(document); });
})();

// CRM lists on a phone: the filters fold behind their "Filters" button; without scripts all show.
(function () {
  "use strict";
  function collapsible() {
    document.querySelectorAll("form[data-collapsible]").forEach(function (form) { form.classList.add("js-collapsible"); });
  }
  document.addEventListener("DOMContentLoaded", collapsible);
  document.addEventListener("htmx:afterSettle", collapsible);
  document.addEventListener("click", function (evt) {
    var toggle = evt.target.closest && evt.target.closest("[data-toggle-filters]");
    if (!toggle) return;
    var open = document.getElementById(toggle.getAttribute("aria-controls")).classList.toggle("is-open");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });
})();

// CRM lists: a header checkbox [data-select-all] ticks every row checkbox of its table.
(function () {
  "use strict";
  document.addEventListener("change", function (evt) {
    var all = evt.target.closest && evt.target.closest("[data-select-all]");
    if (!all) return;
    all.closest("table").querySelectorAll('tbody input[type="checkbox"][name="ids"]').forEach(function (box) {
      box.checked = all.checked;
    });
  });
})();
