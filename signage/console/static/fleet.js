// The fleet page keeps itself current: the hub sends the cards (HTML it escaped) by
// server-sent events whenever a screen changes; EventSource reconnects by itself.
(function () {
  "use strict";
  var box = document.getElementById("fleet");
  var live = document.getElementById("fleet-live");
  if (!box || !window.EventSource) { return; }
  var source = new EventSource(box.getAttribute("data-events"));
  source.addEventListener("screens", function (event) {
    var data = JSON.parse(event.data);
    box.innerHTML = data.html;
    if (live) { live.textContent = "Actualizada a las " + new Date().toLocaleTimeString("es-CO"); }
  });
  source.onerror = function () {
    if (live) { live.textContent = "Reconectando…"; }
  };
})();
