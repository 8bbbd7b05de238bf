// The campaign editor's variable picker: a button inserts its variable ({{first_name}}) at the cursor
// of the message text last focused (the first one if none was).
(function () {
  "use strict";
  if (window.campaignEditor) return;  // loaded once per page load
  window.campaignEditor = true;
  var last = null;

  document.addEventListener("focusin", function (evt) {
    if (evt.target.matches && evt.target.matches("textarea[data-template]")) last = evt.target;
  });

  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("[data-insert]");
    if (!button) return;
    var form = button.closest("form") || document;
    var area = last && document.contains(last) ? last : form.querySelector("textarea[data-template]");
    if (!area) return;
    var text = button.getAttribute("data-insert");
    var start = area.selectionStart, end = area.selectionEnd;
    area.setRangeText(text, start, end, "end");
    area.focus();
    area.dispatchEvent(new Event("input", { bubbles: true }));  // the text is checked again
  });
})();
