// The error summary of /book takes the focus, so that the first thing read is what to fix.
// (A file of its own: the pages allow only same-origin scripts, never inline ones.)
document.getElementById("error-summary")?.focus();
