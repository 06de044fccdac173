// Typeset the formulas with the KaTeX copy in assets/katex (no network): pymdownx.arithmatex
// (generic mode) leaves them in each page as \( ... \) inline and \[ ... \] on their own line.
// Material for MkDocs emits document$ for every page it shows.
document$.subscribe(({ body }) => {
  renderMathInElement(body, {
    delimiters: [
      { left: "\\(", right: "\\)", display: false },
      { left: "\\[", right: "\\]", display: true },
    ],
    throwOnError: false,
  });
});
