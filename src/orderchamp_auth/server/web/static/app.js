// Small enhancements; every page works without them (forms post, the server decides).
(function () {
  "use strict";

  // Ask before destructive actions: <form data-confirm="...">.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // Copy buttons: <button data-copy="input-id">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) return;
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) return;
    var done = function () {
      var label = button.firstChild;
      var before = label.nodeValue;
      label.nodeValue = "Copied";
      setTimeout(function () { label.nodeValue = before; }, 2000);
    };
    field.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  });

  // Redirect URL rows: add and remove on the page.
  function renumber(list) {
    var rows = list.querySelectorAll(".url-row");
    rows.forEach(function (row, i) {
      var n = i + 1;
      var input = row.querySelector("input");
      var label = row.querySelector("label");
      input.id = "redirect_uri_" + n;
      label.htmlFor = input.id;
      label.textContent = "Redirect URL " + n;
      var hidden = row.querySelector("[data-remove-url] .sr-only");
      if (hidden) hidden.textContent = " redirect URL " + n;
    });
  }

  document.querySelectorAll("[data-url-list]").forEach(function (box) {
    var list = box.querySelector("[data-url-rows]");
    var add = box.querySelector("[data-add-url]");
    add.addEventListener("click", function () {
      var rows = list.querySelectorAll(".url-row");
      var row = rows[rows.length - 1].cloneNode(true);
      row.querySelector("input").value = "";
      list.appendChild(row);
      renumber(list);
      row.querySelector("input").focus();
    });
    list.addEventListener("click", function (event) {
      var button = event.target.closest("[data-remove-url]");
      if (!button) return;
      var row = button.closest(".url-row");
      if (list.querySelectorAll(".url-row").length === 1) {
        row.querySelector("input").value = "";
        row.querySelector("input").focus();
        return;
      }
      row.remove();
      renumber(list);
      add.focus();
    });
  });
})();
