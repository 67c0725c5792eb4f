// Starts Swagger UI on /api/v1/docs; the settings come from data- attributes (no inline script).
(function () {
  "use strict";
  var container = document.getElementById("swagger-ui-container");
  var config = { url: container.getAttribute("data-spec-url"), dom_id: "#swagger-ui-container" };
  var extra = JSON.parse(container.getAttribute("data-config") || "{}");
  Object.keys(extra).forEach(function (key) { config[key] = extra[key]; });
  window.addEventListener("load", function () { window.ui = window.SwaggerUIBundle(config); });
})();
