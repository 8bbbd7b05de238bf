// The inbox: what htmx does not do by itself. Enter sends; the thread stays at the bottom when a
// message arrives (if the reader was there) and keeps its place when older messages load; live
// pushes never duplicate a message or a chat row; read ticks follow the other side's read mark;
// the chat's side panel opens and closes.
(function () {
  "use strict";

  function conversation() { return document.getElementById("conversation"); }
  function openChatId() { var c = conversation(); return c ? c.dataset.chat : undefined; }

  function threadOf(el) { return el && el.closest ? el.closest("[data-thread]") : null; }
  function atBottom(box) { return box.scrollHeight - box.scrollTop - box.clientHeight < 48; }
  function toBottom(box) { if (box) box.scrollTop = box.scrollHeight; }

  // -- the composer ----------------------------------------------------------------------------
  document.addEventListener("keydown", function (evt) {
    var box = evt.target;
    if (!box.matches || !box.matches("textarea[data-enter-send]")) return;
    if (evt.key !== "Enter" || evt.shiftKey || evt.altKey || evt.isComposing || evt.keyCode === 229) return;
    evt.preventDefault();
    var form = box.form;
    var file = form.querySelector("[data-attach]");
    if (!box.value.trim() && !(file && file.files.length)) return;
    if (form.classList.contains("htmx-request")) return;  // one send at a time
    form.requestSubmit();
  });

  document.addEventListener("input", function (evt) {
    var box = evt.target;
    if (!box.matches || !box.matches("textarea[data-enter-send]")) return;
    box.style.height = "auto";
    box.style.height = Math.min(box.scrollHeight, 200) + "px";
  });

  document.addEventListener("change", function (evt) {
    var input = evt.target;
    if (!input.matches || !input.matches("[data-attach]")) return;
    var label = input.form.querySelector("[data-attach-name]");
    if (!label) return;
    var file = input.files[0];
    // The size in the page's language: "240 kB", "240 кБ" (Intl's own unit names).
    var size = new Intl.NumberFormat(document.documentElement.lang || undefined, {
      style: "unit", unit: "kilobyte", maximumFractionDigits: 0 }).format(Math.max(1, Math.round(file ? file.size / 1024 : 0)));
    label.textContent = file ? file.name + " · " + size : "";
    label.hidden = !file;
  });

  // -- the side panel (contact, deals, "Create deal") -------------------------------------------
  // On a wide screen it is docked beside the thread and shows unless hidden (.panel-hidden on
  // #inbox; the choice is kept in this browser only). Narrower, it is closed unless opened
  // (.panel-open): beside the thread on a laptop, a drawer over it below (app.css). #inbox
  // outlives the conversation's swaps (another chat, a live re-fetch), so the state does too; a
  // new page starts closed.
  var DOCKED = window.matchMedia("(min-width: 1440px)");
  var HIDDEN_KEY = "relay.inbox.panelHidden";

  function inboxBox() { return document.getElementById("inbox"); }

  function panelShown() {
    var box = inboxBox();
    if (!box || !conversation() || !conversation().querySelector(".chat-panel")) return false;
    return DOCKED.matches ? !box.classList.contains("panel-hidden") : box.classList.contains("panel-open");
  }

  function syncToggles() {
    var shown = panelShown() ? "true" : "false";
    document.querySelectorAll("[data-panel-toggle]").forEach(function (button) {
      button.setAttribute("aria-expanded", shown);
    });
  }

  function rememberHidden(hidden) {
    try {
      if (hidden) window.localStorage.setItem(HIDDEN_KEY, "1");
      else window.localStorage.removeItem(HIDDEN_KEY);
    } catch (e) { /* storage refused: the choice lasts for this page */ }
  }

  function storedHidden() {
    try { return window.localStorage.getItem(HIDDEN_KEY) === "1"; } catch (e) { return false; }
  }

  function setPanel(show) {
    var box = inboxBox();
    if (!box) return;
    if (DOCKED.matches) {
      box.classList.toggle("panel-hidden", !show);
      rememberHidden(!show);
    } else {
      box.classList.toggle("panel-open", show);
    }
    syncToggles();
    var open = conversation();
    if (!open) return;
    // Focus follows: into the opened drawer, back to the toggle when the panel goes away.
    var target = null;
    if (!show) target = open.querySelector("[data-panel-toggle]");
    else if (!DOCKED.matches) target = open.querySelector("[data-panel-close]");
    if (target) target.focus({ preventScroll: true });  // the drawer slides in: nothing may scroll
  }

  document.addEventListener("click", function (evt) {
    if (!evt.target.closest) return;
    if (evt.target.closest("[data-panel-toggle]")) setPanel(!panelShown());
    else if (evt.target.closest("[data-panel-close]")) setPanel(false);
  });

  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape" || evt.defaultPrevented || DOCKED.matches || !panelShown()) return;
    setPanel(false);
  });

  DOCKED.addEventListener("change", syncToggles);

  function preparePanel() {
    var box = inboxBox();
    if (!box) return;
    if (!box.dataset.panelReady) {  // a fresh inbox page: the docked choice this browser made
      box.dataset.panelReady = "1";
      box.classList.toggle("panel-hidden", storedHidden());
    }
    syncToggles();
  }

  // -- scrolling -------------------------------------------------------------------------------
  htmx.onLoad(function (root) {
    var threads = root.matches && root.matches("[data-thread]") ? [root] : root.querySelectorAll ? root.querySelectorAll("[data-thread]") : [];
    threads.forEach(toBottom);
    markActiveRow();
    preparePanel();
  });

  var olderLoad = null;  // the thread and its distance from the bottom, while older messages load
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var target = evt.detail.target;
    if (target && target.classList && target.classList.contains("thread-older")) {
      var box = threadOf(target);
      if (box) olderLoad = { box: box, fromBottom: box.scrollHeight - box.scrollTop };
    }
  });
  document.addEventListener("htmx:afterSwap", function (evt) {
    if (olderLoad) {
      olderLoad.box.scrollTop = olderLoad.box.scrollHeight - olderLoad.fromBottom;
      olderLoad = null;
    }
    var target = evt.detail.target;
    if (target && target.matches && target.matches("[data-composer]")) {
      var box = document.querySelector("[data-composer] textarea");
      if (box && !box.value) box.focus();
    }
  });

  // -- live pushes -----------------------------------------------------------------------------
  var stick = null;  // the thread that was scrolled to the bottom before a message was appended
  var inbound = false;
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var target = evt.detail.target, fragment = evt.detail.fragment;
    if (!target || !fragment || !target.id) return;
    if (target.id === "chat-list") {
      Array.prototype.slice.call(fragment.children).forEach(function (row) {
        var existing = row.id && document.getElementById(row.id);
        if (existing) existing.remove();  // the row moves to the top
        else if (target.dataset.filtered) row.remove();  // it may not match this list's filters
      });
    } else if (target.id.indexOf("thread-messages-") === 0) {
      var box = threadOf(target);
      stick = box && atBottom(box) ? box : null;
      Array.prototype.slice.call(fragment.children).forEach(function (msg) {
        var existing = msg.id && document.getElementById(msg.id);
        if (existing) existing.remove();  // the sender's own page already shows it
        if (msg.classList && msg.classList.contains("msg-in")) inbound = true;
      });
    }
  });

  document.addEventListener("htmx:oobAfterSwap", function (evt) {
    var target = evt.detail.target;
    if (stick) { toBottom(stick); stick = null; }
    if (inbound) {
      inbound = false;
      var open = conversation();
      if (open && open.dataset.readUrl && document.visibilityState === "visible") {
        htmx.ajax("POST", open.dataset.readUrl, { source: open, swap: "none" });
      }
    }
    if (target && target.id === "chat-list") sortChatList(target);
    markActiveRow();
    var head = target && target.id && target.id.indexOf("chat-head-") === 0 ? document.getElementById(target.id) : null;
    if (head) { applyReadMark(head); syncToggles(); }  // a redrawn head brings its toggle
  });

  function applyReadMark(head) {
    var upTo = parseInt(head.dataset.readOutbox || "0", 10);
    var thread = document.getElementById("thread-messages-" + head.id.replace("chat-head-", ""));
    if (!thread) return;
    thread.querySelectorAll(".msg-out.msg-sent[data-tg]").forEach(function (msg) {
      var id = parseInt(msg.dataset.tg || "0", 10);
      if (id && id <= upTo) msg.classList.add("is-read");
    });
  }

  // Rows pushed live land on top; an imported dialog may be older than rows already listed.
  function sortChatList(list) {
    var rows = Array.prototype.slice.call(list.querySelectorAll(":scope > .chat-row"));
    var sorted = rows.slice().sort(function (a, b) {
      return (b.dataset.last || "").localeCompare(a.dataset.last || "") || (b.dataset.chat - a.dataset.chat);
    });
    if (sorted.every(function (row, i) { return row === rows[i]; })) return;
    var more = list.querySelector(":scope > .chat-more");
    sorted.forEach(function (row) { list.insertBefore(row, more); });
  }

  function markActiveRow() {
    var id = openChatId();
    document.querySelectorAll("#chat-list .chat-row").forEach(function (row) {
      row.classList.toggle("is-active", row.dataset.chat === id);
    });
  }
})();
