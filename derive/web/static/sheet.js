// derive serve: choosing an answers file fills the boxes at once (the "Fill in" button does the
// same without script). Everything else on the page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const input = document.getElementById("answers-file");
  if (input) {
    input.addEventListener("change", () => { if (input.files.length) input.form.requestSubmit(); });
  }
});
