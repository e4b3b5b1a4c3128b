// The console's little script: drag a slide to reorder it, drop a file on an upload field.
// Written for this project (no library). Without it every page still works: the Up/Down
// buttons reorder and the file pickers upload. Its words come from the page (the body's
// data-texts, a JSON dictionary in the person's language): none are written here.
"use strict";
(function () {
  function texts() {
    try { return JSON.parse(document.body.getAttribute("data-texts") || "{}"); }
    catch (e) { return {}; }
  }
  function renumber(list) {
    var items = list.querySelectorAll("[data-slide]");
    for (var i = 0; i < items.length; i++) {
      var pos = items[i].querySelector("[data-pos]");
      if (pos) { pos.value = String(i); }
      var num = items[i].querySelector("[data-number]");
      if (num) { num.textContent = String(i + 1); }
    }
  }
  function setupDrag(list) {
    var dragged = null;
    list.querySelectorAll("[data-slide]").forEach(function (item) {
      item.setAttribute("draggable", "true");
      item.addEventListener("dragstart", function (ev) {
        var tag = ev.target && ev.target.tagName;
        if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") { return; }
        dragged = item; item.classList.add("dragging");
        ev.dataTransfer.effectAllowed = "move";
        ev.dataTransfer.setData("text/plain", "slide");
      });
      item.addEventListener("dragend", function () {
        item.classList.remove("dragging"); dragged = null;
        list.querySelectorAll(".over").forEach(function (el) { el.classList.remove("over"); });
      });
      item.addEventListener("dragover", function (ev) {
        if (!dragged || dragged === item) { return; }
        ev.preventDefault(); item.classList.add("over");
      });
      item.addEventListener("dragleave", function () { item.classList.remove("over"); });
      item.addEventListener("drop", function (ev) {
        if (!dragged || dragged === item) { return; }
        ev.preventDefault(); item.classList.remove("over");
        var rect = item.getBoundingClientRect();
        var after = ev.clientY > rect.top + rect.height / 2;
        list.insertBefore(dragged, after ? item.nextSibling : item);
        renumber(list);
      });
    });
  }
  function setupPicker(input) {
    // The browser's own file button speaks the browser's language; ours the console's.
    var words = texts();
    var box = document.createElement("div");
    box.className = "filepick";
    var button = document.createElement("label");
    button.className = "filebutton";
    button.htmlFor = input.id;
    button.textContent = words.choose_file || "";
    var name = document.createElement("span");
    name.className = "filename";
    name.textContent = words.no_file || "";
    input.parentNode.insertBefore(box, input);
    box.appendChild(input);
    box.appendChild(button);
    box.appendChild(name);
    input.classList.add("enhanced");
    // Moving the field into its box drops the focus the page gave it (autofocus).
    if (input.hasAttribute("autofocus")) { input.focus(); }
    input.addEventListener("change", function () {
      name.textContent = input.files && input.files.length ? input.files[0].name : (words.no_file || "");
    });
  }
  function setupDrop(zone) {
    var input = zone.querySelector("input[type=file]");
    if (!input) { return; }
    setupPicker(input);
    zone.addEventListener("dragover", function (ev) {
      if (ev.dataTransfer && Array.prototype.indexOf.call(ev.dataTransfer.types, "Files") >= 0) {
        ev.preventDefault(); zone.classList.add("over");
      }
    });
    zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
    zone.addEventListener("drop", function (ev) {
      if (!ev.dataTransfer || !ev.dataTransfer.files.length) { return; }
      ev.preventDefault(); zone.classList.remove("over");
      input.files = ev.dataTransfer.files;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var list = document.getElementById("slides");
    if (list) { setupDrag(list); }
    document.querySelectorAll(".drop").forEach(setupDrop);
    // every other file field too (the CAP import): the browser's button speaks its own language
    document.querySelectorAll("input[type=file]:not(.enhanced)").forEach(setupPicker);
  });
})();
