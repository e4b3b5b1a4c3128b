// The fleet page keeps itself current: the hub sends the cards (HTML it escaped) and the time
// of day (24 h, in the hub's zone) by server-sent events whenever a screen changes;
// EventSource reconnects by itself. Its words come from the page (the body's data-texts).
(function () {
  "use strict";
  var box = document.getElementById("fleet");
  var live = document.getElementById("fleet-live");
  if (!box || !window.EventSource) { return; }
  var words = {};
  try { words = JSON.parse(document.body.getAttribute("data-texts") || "{}"); } catch (e) { words = {}; }
  var source = new EventSource(box.getAttribute("data-events"));
  source.addEventListener("screens", function (event) {
    var data = JSON.parse(event.data);
    box.innerHTML = data.html;
    if (live && data.time) { live.textContent = (words.updated_at || "{time}").replace("{time}", data.time); }
  });
  source.onerror = function () {
    if (live) { live.textContent = words.reconnecting || ""; }
  };
})();
