// The kanban board: drag and drop (SortableJS), the card move menu, live column refreshes.
// The server decides every move; a refused move puts the card back and the toast says why.
(function () {
  "use strict";

  var dragging = false;
  var pendingStages = {}; // live refreshes that arrived mid-drag, run once the card is dropped

  function board() { return document.getElementById("board"); }

  function filterValues() {
    var form = document.getElementById("board-filters");
    var values = {};
    if (!form) return values;
    new FormData(form).forEach(function (value, key) { if (value !== "") values[key] = value; });
    return values;
  }

  function moveUrl(dealId) {
    return board().dataset.moveUrl.replace(/0\/move$/, dealId + "/move");
  }

  function cardId(el) { return el && el.dataset ? el.dataset.deal : undefined; }

  function neighbour(el, direction) {
    var sibling = direction < 0 ? el.previousElementSibling : el.nextElementSibling;
    while (sibling && !sibling.classList.contains("deal-card")) {
      sibling = direction < 0 ? sibling.previousElementSibling : sibling.nextElementSibling;
    }
    return sibling;
  }

  function postMove(card, stageId, extra, onRefused) {
    var values = Object.assign(filterValues(), extra, { stage_id: stageId });
    var done = function (evt) {
      if (evt.detail.elt !== card) return;
      card.removeEventListener("htmx:afterRequest", done);
      card.classList.remove("is-saving");
      if (!evt.detail.successful && onRefused) onRefused();
      runPending();
    };
    card.addEventListener("htmx:afterRequest", done);
    card.classList.add("is-saving");
    htmx.ajax("POST", moveUrl(cardId(card)), { source: card, values: values, swap: "none" });
  }

  // -- drag and drop ----------------------------------------------------------------------
  function initColumn(list) {
    if (list.dataset.sortable) return;
    list.dataset.sortable = "1";
    var origin = null;
    Sortable.create(list, {
      group: "board",
      draggable: ".deal-card",
      filter: ".is-locked, .card-menu",
      preventOnFilter: false,
      animation: 150,
      delay: 150,
      delayOnTouchOnly: true,
      ghostClass: "is-ghost",
      chosenClass: "is-chosen",
      onStart: function (evt) {
        dragging = true;
        origin = { parent: evt.from, next: evt.item.nextElementSibling };
      },
      onEnd: function (evt) {
        dragging = false;
        var card = evt.item;
        if (evt.from === evt.to && evt.oldIndex === evt.newIndex) { runPending(); return; }
        var above = neighbour(card, -1), below = neighbour(card, 1);
        var back = origin;
        postMove(card, evt.to.dataset.stage, { above_id: cardId(above) || "", below_id: cardId(below) || "" },
          function () { back.parent.insertBefore(card, back.next && back.next.parentNode === back.parent ? back.next : null); });
      }
    });
  }

  htmx.onLoad(function (root) {
    if (typeof Sortable === "undefined") return;
    if (root.matches && root.matches("[data-cards]")) initColumn(root);
    root.querySelectorAll("[data-cards]").forEach(initColumn);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-cards]").forEach(initColumn);
  });

  // -- the move menu (keyboard and phone) ---------------------------------------------------
  var menuCard = null;

  function menu() { return document.getElementById("move-menu"); }

  function openMenu(button) {
    var box = menu();
    if (!box) return;
    menuCard = button.closest(".deal-card");
    var current = menuCard.closest("[data-cards]").dataset.stage;
    box.querySelectorAll(".move-menu-item").forEach(function (item) {
      var here = item.dataset.stage === current;
      item.classList.toggle("is-current", here);
      item.setAttribute("aria-disabled", here ? "true" : "false");
    });
    box.hidden = false;
    var rect = button.getBoundingClientRect();
    var left = Math.min(rect.left + window.scrollX, window.scrollX + document.documentElement.clientWidth - box.offsetWidth - 8);
    box.style.top = (rect.bottom + window.scrollY + 4) + "px";
    box.style.left = Math.max(8, left) + "px";
    button.setAttribute("aria-expanded", "true");
    var first = box.querySelector('.move-menu-item[aria-disabled="false"]');
    if (first) first.focus();
  }

  function closeMenu(refocus) {
    var box = menu();
    if (!box || box.hidden) return;
    box.hidden = true;
    var button = menuCard && menuCard.querySelector("[data-move-menu]");
    if (button) {
      button.setAttribute("aria-expanded", "false");
      if (refocus) button.focus();
    }
    menuCard = null;
  }

  document.addEventListener("click", function (evt) {
    var opener = evt.target.closest("[data-move-menu]");
    if (opener) { evt.preventDefault(); openMenu(opener); return; }
    var item = evt.target.closest(".move-menu-item");
    if (item && menuCard) {
      if (item.getAttribute("aria-disabled") === "true") return;
      var card = menuCard;
      closeMenu(false);
      postMove(card, item.dataset.stage, { via: "menu" });
      return;
    }
    if (!evt.target.closest("#move-menu")) closeMenu(false);
  });

  document.addEventListener("keydown", function (evt) {
    var box = menu();
    if (!box || box.hidden) return;
    var items = Array.prototype.slice.call(box.querySelectorAll(".move-menu-item"));
    var index = items.indexOf(document.activeElement);
    if (evt.key === "Escape") { evt.preventDefault(); closeMenu(true); }
    else if (evt.key === "ArrowDown") { evt.preventDefault(); items[(index + 1) % items.length].focus(); }
    else if (evt.key === "ArrowUp") { evt.preventDefault(); items[(index - 1 + items.length) % items.length].focus(); }
    else if (evt.key === "Tab") { closeMenu(false); }
  });

  // -- live: a teammate changed columns; fetch them again with this viewer's filters ---------
  function refresh(stages) {
    var el = board();
    if (!el || !stages.length) return;
    if (dragging) { stages.forEach(function (s) { pendingStages[s] = true; }); return; }
    var values = filterValues();
    var params = new URLSearchParams(values);
    stages.forEach(function (stage) {
      var list = document.getElementById("cards-" + stage);
      if (!list) return;
      params.append("stage", stage);
      params.append("loaded_" + stage, list.querySelectorAll(".deal-card").length);
    });
    if (!params.has("stage")) return;
    htmx.ajax("GET", el.dataset.columnsUrl + "?" + params.toString(), { source: el, swap: "none" });
  }

  function runPending() {
    var stages = Object.keys(pendingStages);
    pendingStages = {};
    if (stages.length) refresh(stages);
  }

  document.addEventListener("htmx:oobAfterSwap", function (evt) {
    var el = board();
    var swapped = evt.detail.target;
    if (!el || !swapped || swapped.id !== "board-live-" + el.dataset.pipeline) return;
    // detail.target is the element that was replaced; the stages are on its successor
    var marker = document.getElementById(swapped.id);
    refresh(((marker && marker.dataset.stages) || "").split(",").filter(Boolean));
  });
})();
