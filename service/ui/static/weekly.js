// The weekly report's print button (no inline script: the pages' Content-Security-Policy forbids it).
"use strict";

const printButton = document.getElementById("report-print");
if (printButton) printButton.addEventListener("click", () => window.print());
