// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  // Filter forms submit as soon as a select changes (the Apply button stays for no-JS).
  document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  // Disclosure buttons: <button data-toggles="ID" hidden> shows and hides the element with
  // that id. Server-side the button is hidden and the element shown, so without this
  // script everything is still reachable; with it, elements marked data-collapsed start
  // folded away and the button (aria-expanded) says which way it is.
  document.querySelectorAll("button[data-toggles]").forEach(function (button) {
    var target = document.getElementById(button.getAttribute("data-toggles"));
    if (!target) { return; }
    function show(open) {
      target.hidden = !open;
      button.setAttribute("aria-expanded", open ? "true" : "false");
    }
    show(!target.hasAttribute("data-collapsed"));
    button.hidden = false;
    button.addEventListener("click", function () { show(target.hidden); });
  });
  // Ask before destructive actions (remove member, terminate).
  document.querySelectorAll("[data-confirm]").forEach(function (el) {
    el.addEventListener("submit", function (event) {
      if (!window.confirm(el.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
  // Opening a #fragment (e.g. #checklist-12 from an unmet requirement) highlights it.
  function highlight() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (!target) { return; }
    var details = target.closest("details");
    if (details) { details.open = true; }
    target.classList.remove("flash-target");
    void target.offsetWidth;
    target.classList.add("flash-target");
  }
  window.addEventListener("hashchange", highlight);
  highlight();
})();
// Copy buttons: <button data-copy-target="ID"> copies the value of the input with that id.
(function () {
  "use strict";
  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    button.addEventListener("click", function () {
      var id = button.getAttribute("data-copy-target");
      var source = document.getElementById(id);
      var status = document.querySelector('[data-copy-status="' + id + '"]');
      function done(text) { if (status) { status.textContent = text; } }
      source.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(source.value).then(
          function () { done("Copied."); },
          function () { done(document.execCommand("copy") ? "Copied." : "Press Ctrl+C to copy."); }
        );
      } else {
        done(document.execCommand("copy") ? "Copied." : "Press Ctrl+C to copy.");
      }
    });
  });
})();
// On a narrow screen the timeline scrolls sideways: start with today in the middle of view.
(function () {
  "use strict";
  document.querySelectorAll(".timeline-wrap").forEach(function (wrap) {
    var svg = wrap.querySelector("svg[data-today]");
    if (!svg || wrap.scrollWidth <= wrap.clientWidth) { return; }
    var today = parseFloat(svg.getAttribute("data-today")) * svg.getBoundingClientRect().width;
    wrap.scrollLeft = Math.max(0, today - wrap.clientWidth / 2);
  });
})();
// Name pickers: <input data-choices="URL" list="ID"> asks URL?q=typed for a page of names
// (JSON {items: [...]}) a moment after typing stops, and offers them in <datalist id=ID>.
// The server matches whatever is submitted, so without this the typed text still filters.
(function () {
  "use strict";
  document.querySelectorAll("input[data-choices]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("list"));
    var timer = null;
    var asked = null;
    if (!list || !window.fetch) { return; }
    function fill() {
      var text = input.value.trim();
      // pickers may share one datalist: what another one filled is not this one's
      if (text === asked && list.filledBy === input) { return; }
      asked = text;
      list.filledBy = input;
      var url = input.getAttribute("data-choices") + "?q=" + encodeURIComponent(text);
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { items: [] }; })
        .then(function (body) {
          if (asked !== text || list.filledBy !== input) { return; }
          list.replaceChildren.apply(list, body.items.map(function (name) {
            var option = document.createElement("option");
            option.value = name;
            return option;
          }));
        })
        .catch(function () {});
    }
    input.addEventListener("focus", fill);
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(fill, 150);
    });
  });
})();
