"""The documentation is tested like code: every snippet runs, every link resolves, the site builds.

``pytest --doctest-glob=*.md`` (configured in pyproject.toml) already runs the ``>>>`` sessions in
README.md and docs/*.md. This file covers everything else:

* shell commands in ```bash / ```console / ```sh blocks that run ``python -m tinygrad_nn ...``,
  ``tinygrad-nn ...`` or ``python examples/...`` are executed (in a temporary directory, with
  ``--fast`` appended where the command accepts it) and must exit 0; in a ```console block the
  output lines shown after a ``$ command`` must appear in what the command prints (``...``
  stands for omitted lines);
* ```python blocks without ``>>>`` prompts are executed;
* every code block says what it is (a language tag), so no snippet escapes these checks;
* relative links and images point to existing files, and ``tinygrad_nn/<module>.py::name`` code
  references point to existing objects;
* every script in examples/ is listed, with the command that runs it, in docs/examples.md;
* ``mkdocs build --strict`` succeeds.
"""

from __future__ import annotations

import argparse
import doctest
import importlib
import importlib.util
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import OPTIONAL_PACKAGES

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"


def _doc_files() -> list[Path]:
    files = [ROOT / "README.md"] if (ROOT / "README.md").exists() else []
    return files + sorted(DOCS.rglob("*.md"))


DOC_FILES = _doc_files()


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


# ----------------------------------------------------------------------------------------------
# Markdown code blocks
# ----------------------------------------------------------------------------------------------

_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")


@dataclass
class Block:
    path: Path
    line: int          # 1-based line of the opening fence
    lang: str          # first word of the info string, lower case ("" when there is none)
    text: str          # the block's content, dedented by the fence's indentation

    @property
    def where(self) -> str:
        return f"{_rel(self.path)}:{self.line}"


def code_blocks(path: Path) -> list[Block]:
    """Every fenced code block of a Markdown file (nested fences in lists/admonitions too)."""
    blocks: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = _OPEN.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence = len(m["indent"]), m["fence"]
        info = m["info"].strip().strip("{}").lstrip(".")
        lang = info.split()[0].lower() if info else ""
        body: list[str] = []
        j = i + 1
        close = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        while j < len(lines) and not close.match(lines[j]):
            body.append(lines[j][indent:] if lines[j][:indent].strip() == "" else lines[j])
            j += 1
        blocks.append(Block(path, i + 1, lang, "\n".join(body) + "\n"))
        i = j + 1
    return blocks


ALL_BLOCKS = [b for f in DOC_FILES for b in code_blocks(f)]

PYTHON_LANGS = {"python", "py", "python3", "pycon"}
SHELL_LANGS = {"bash", "sh", "shell", "console", "zsh"}
# Blocks that hold no code to run: program output, file formats, diagrams, pseudo-code.
DATA_LANGS = {"text", "txt", "plain", "plaintext", "output", "dot", "json", "toml", "yaml", "yml",
              "ini", "cfg", "csv", "diff", "mermaid", "latex", "tex", "math", "pseudo"}


def test_every_code_block_has_a_known_language() -> None:
    """An untagged block could hide untested code: tag it python, bash, text (output) etc."""
    bad = [f"{b.where}: ```{b.lang}" for b in ALL_BLOCKS
           if b.lang not in PYTHON_LANGS | SHELL_LANGS | DATA_LANGS]
    assert not bad, ("code blocks need a language tag: python/bash/console for code (they are "
                     "run), text for output or pseudo-code:\n  " + "\n  ".join(bad))


# ----------------------------------------------------------------------------------------------
# (b) ```python blocks: doctest sessions start with a prompt; the others are executed
# ----------------------------------------------------------------------------------------------

PY_BLOCKS = [b for b in ALL_BLOCKS if b.lang in PYTHON_LANGS]
DOCTEST_BLOCKS = [b for b in PY_BLOCKS if ">>>" in b.text]
SCRIPT_BLOCKS = [b for b in PY_BLOCKS if ">>>" not in b.text]


def test_doctest_blocks_start_with_a_prompt() -> None:
    """Doctest silently skips lines before the first ``>>>``: a block must not start with code."""
    bad = [b.where for b in DOCTEST_BLOCKS if not b.text.lstrip().startswith(">>>")]
    assert not bad, "python blocks that mix plain code and >>> sessions:\n  " + "\n  ".join(bad)


def test_doctest_blocks_end_with_a_blank_line() -> None:
    """Doctest reads the closing fence as expected output unless a blank line ends the block."""
    bad = [b.where for b in DOCTEST_BLOCKS if not b.text.endswith("\n\n")]
    assert not bad, ("end every >>> session with an empty line before the closing ``` (otherwise "
                     "the fence is read as expected output):\n  " + "\n  ".join(bad))


_RENDERS = re.compile(r"\brender\(|\.render\(|\.pipe\(|\.view\(")


def test_doctest_examples_that_run_dot_say_so() -> None:
    """Where `dot` is missing, conftest skips the examples marked ``# needs `dot``` (and only
    those), so every example that renders a picture must carry the mark."""
    from conftest import NEEDS_DOT

    parser = doctest.DocTestParser()
    bad = [f"{b.where}: {example.source.strip()}"
           for b in DOCTEST_BLOCKS for example in parser.get_examples(b.text)
           if _RENDERS.search(example.source) and not NEEDS_DOT.search(example.source)]
    assert not bad, ("doctest examples that run `dot` need a `# needs `dot`` comment, so a "
                     "machine without graphviz skips them:\n  " + "\n  ".join(bad))


def test_the_docs_pass_without_dot(tmp_path: Path) -> None:
    """On a machine without Graphviz (PATH has no `dot`), the doctests and the documented
    commands of the getting-started page pass, skipping only what draws a picture."""
    env = _env()
    env["PATH"] = str(tmp_path)                 # nothing there: no `dot`
    env.pop("CI", None)                         # CI never skips; this checks the skipping
    page = "docs/getting-started.md"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", page,
         f"tests/test_docs.py::test_documented_commands_run[{page}]"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "1 passed, 1 skipped" in result.stdout, result.stdout[-2000:]
    assert re.search(r"getting-started.md:\d+ \(needs the `dot` executable", result.stdout)
    assert re.search(r"doctest examples skipped, they need the `dot` executable .*: "
                     r"getting-started.md:\d+\n", result.stdout), result.stdout[-2000:]


def test_python_blocks_without_prompts_run(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Each prompt-less ```python block runs on its own, in a fresh namespace, in a temp dir.

    A block that needs an optional package (PyTorch, onnx...) that is not installed is passed
    over, and the test then reports itself skipped, naming it; never in CI."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    skipped = []
    for block in SCRIPT_BLOCKS:
        code = compile(block.text, block.where, "exec")
        try:
            exec(code, {"__name__": "__docs__"})
        except ImportError as exc:
            if exc.name not in OPTIONAL_PACKAGES or os.environ.get("CI"):
                raise AssertionError(f"{block.where}: the python block raised {exc!r}") from exc
            skipped.append(f"{block.where} (needs {exc.name})")
        except Exception as exc:
            raise AssertionError(f"{block.where}: the python block raised "
                                 f"{type(exc).__name__}: {exc}") from exc
    if skipped:
        pytest.skip(f"the other blocks ran; not installed for: {', '.join(skipped)}")


# ----------------------------------------------------------------------------------------------
# (a) shell commands that run the package or an example
# ----------------------------------------------------------------------------------------------

_RUNNABLE = re.compile(r"^(?:python3?\s+-m\s+tinygrad_nn\b|tinygrad-nn\b|python3?\s+examples/)")
_SHELL_SYNTAX = {"|", "||", "&&", ";", ">", ">>", "<", "&", "2>", "2>&1"}

# Documented fast equivalents for commands whose program has no ``--fast`` switch: the command as
# written in the docs (after prompt stripping) -> the arguments actually run instead.
FAST_EQUIVALENTS: dict[str, list[str]] = {}


@dataclass
class Command:
    line: int                  # line of the command in the Markdown file
    text: str                  # the command, without prompt
    shown: list[str]           # output lines shown after it (```console blocks only)


def shell_commands(block: Block) -> list[Command]:
    """The commands of a shell block that run tinygrad_nn or an example, with shown output."""
    out: list[Command] = []
    lines = block.text.splitlines()
    current: Command | None = None
    k = 0
    while k < len(lines):
        start = k
        line = lines[k]
        while line.endswith("\\") and k + 1 < len(lines):   # continuation lines
            k += 1
            line = line[:-1] + " " + lines[k].strip()
        k += 1
        stripped = line.strip()
        if block.lang == "console":
            if not stripped.startswith("$ "):
                if current is not None and stripped and stripped != "...":
                    current.shown.append(stripped)             # program output
                continue
            stripped = stripped[2:]
        elif stripped.startswith("$ "):
            stripped = stripped[2:]
        stripped = stripped.strip()
        current = None
        if _RUNNABLE.match(stripped):
            current = Command(block.line + 1 + start, stripped, [])
            out.append(current)
    return out


COMMANDS_BY_FILE: dict[Path, list[Command]] = {}
for _b in ALL_BLOCKS:
    if _b.lang in SHELL_LANGS:
        COMMANDS_BY_FILE.setdefault(_b.path, []).extend(shell_commands(_b))
COMMAND_FILES = [p for p, cmds in COMMANDS_BY_FILE.items() if cmds]


def _subcommand_options(name: str) -> set[str]:
    """The option strings the ``tinygrad-nn <name>`` subcommand accepts (empty if unknown)."""
    from tinygrad_nn import cli

    parser = cli.build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and name in action.choices:
            return set(action.choices[name]._option_string_actions)
    return set()


def to_argv(command: str) -> list[str]:
    """The argv that runs a documented command here, made fast where the program allows it."""
    if command in FAST_EQUIVALENTS:
        words = list(FAST_EQUIVALENTS[command])
    else:
        words = shlex.split(command)
    assert not _SHELL_SYNTAX.intersection(words), (
        f"keep documented commands to one program call (no pipes or redirections): {command}")
    if words[0] == "tinygrad-nn":
        words = ["python", "-m", "tinygrad_nn", *words[1:]]
    argv = [sys.executable, *words[1:]]
    if words[1] == "-m":
        sub = next((w for w in words[3:] if not w.startswith("-")), None)
        if sub and "--fast" in _subcommand_options(sub) and "--fast" not in words:
            argv.append("--fast")
    else:
        script = ROOT / words[1]
        argv[1] = str(script)
        if (script.exists() and "--fast" in script.read_text(encoding="utf-8")
                and "--fast" not in words):
            argv.append("--fast")
    return argv


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    env["MPLBACKEND"] = "Agg"
    env.setdefault("PYTHONHASHSEED", "0")
    return env


_NOT_INSTALLED = re.compile(r"needs the '(\w+)' package, which is not installed")
"""How tinygrad_nn and the examples say that an optional package is missing."""
_NO_DOT = "`dot` executable was not found"
"""How tinygrad_nn says that Graphviz's ``dot`` program is missing (``GraphvizNotFoundError``)."""


@pytest.mark.parametrize("path", COMMAND_FILES, ids=[_rel(p) for p in COMMAND_FILES])
def test_documented_commands_run(path: Path, tmp_path: Path) -> None:
    """A file's commands run in order in one temporary directory (later ones may use outputs).

    A command that says it needs an optional package that is not installed, or Graphviz's `dot`
    where it is missing, is passed over, and the test then reports itself skipped, naming it;
    never in CI."""
    skipped = []
    for cmd in COMMANDS_BY_FILE[path]:
        where = f"{_rel(path)}:{cmd.line}"
        argv = to_argv(cmd.text)
        try:
            result = subprocess.run(argv, cwd=tmp_path, env=_env(), capture_output=True,
                                    text=True, timeout=120, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{where}: `{cmd.text}` took more than 120 s")
        missing = _NOT_INSTALLED.search(result.stderr)
        if (result.returncode and missing and missing[1] in OPTIONAL_PACKAGES
                and not os.environ.get("CI")):
            skipped.append(f"{where} (needs {missing[1]})")
            continue
        if result.returncode and _NO_DOT in result.stderr and not os.environ.get("CI"):
            skipped.append(f"{where} (needs the `dot` executable: apt-get install graphviz)")
            continue
        assert result.returncode == 0, (
            f"{where}: `{cmd.text}` exited with {result.returncode}\n"
            f"ran: {shlex.join(argv)}\n--- stdout ---\n{result.stdout[-3000:]}\n"
            f"--- stderr ---\n{result.stderr[-3000:]}")
        printed = _squash(result.stdout + "\n" + result.stderr)
        lines = [line for line in cmd.shown if _squash(line) not in printed]
        assert not lines, (f"{where}: `{cmd.text}` no longer prints these documented lines: "
                           f"{lines}\nran: {shlex.join(argv)}\n--- stdout ---\n"
                           f"{result.stdout[-3000:]}")
    if skipped:
        pytest.skip(f"the other commands ran; not installed for: {', '.join(skipped)}")


def _squash(text: str) -> str:
    """Whitespace runs collapsed to one space (doc output is compared like NORMALIZE_WHITESPACE)."""
    return " ".join(text.split())


# ----------------------------------------------------------------------------------------------
# (c) links, images and code references
# ----------------------------------------------------------------------------------------------

_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
_MD_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.M)
_HTML_REF = re.compile(r"""<(?:img|a|source)\b[^>]*?\b(?:src|href)\s*=\s*["']([^"']+)["']""", re.I)


def _prose(path: Path) -> str:
    """The file's text with code blocks and inline code removed (links there are not links)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    keep: list[str] = []
    fence: str | None = None
    for line in lines:
        m = _OPEN.match(line)
        if fence is None and m:
            fence = m["fence"]
            continue
        if fence is not None:
            if line.strip().startswith(fence) and set(line.strip()) == {fence[0]}:
                fence = None
            continue
        keep.append(line)
    return _INLINE_CODE.sub("", "\n".join(keep))


def relative_links(path: Path) -> list[str]:
    text = _prose(path)
    targets = _MD_LINK.findall(text) + _REF_DEF.findall(text) + _HTML_REF.findall(text)
    return [t for t in targets
            if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", t) and not t.startswith("#")]


@pytest.mark.parametrize("path", DOC_FILES, ids=[_rel(p) for p in DOC_FILES])
def test_relative_links_resolve(path: Path) -> None:
    missing, outside = [], []
    for target in relative_links(path):
        file_part = target.split("#", 1)[0].split("?", 1)[0]
        if not file_part:
            continue
        resolved = (path.parent / file_part).resolve()
        if not resolved.exists():
            missing.append(target)
        elif DOCS in path.parents and DOCS not in resolved.parents and resolved != DOCS:
            outside.append(target)
    assert not missing, f"{_rel(path)}: links to files that do not exist: {missing}"
    assert not outside, (f"{_rel(path)}: the site can only link inside docs/ (mkdocs cannot serve "
                         f"these; name the file in `code` instead): {outside}")


_CODE_REF = re.compile(r"`tinygrad_nn/([\w/]+)\.py::([\w.]+)`")


def code_references() -> list[tuple[str, str, str]]:
    refs = []
    for path in DOC_FILES:
        for module, name in _CODE_REF.findall(path.read_text(encoding="utf-8")):
            refs.append((_rel(path), module, name))
    return sorted(set(refs))


def test_code_references_exist() -> None:
    """``tinygrad_nn/ops.py::SIGMOID``-style references in the docs name real objects."""
    bad = []
    for where, module, name in code_references():
        modname = "tinygrad_nn." + module.replace("/", ".").removesuffix(".__init__")
        try:
            obj: object = importlib.import_module(modname)
            for part in name.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError) as exc:
            bad.append(f"{where}: tinygrad_nn/{module}.py::{name} ({exc})")
    assert not bad, "code references to things that do not exist:\n  " + "\n  ".join(bad)


def test_every_module_is_in_the_api_reference() -> None:
    """docs/api.md has a ``::: tinygrad_nn.<module>`` block for every public module."""
    package = ROOT / "tinygrad_nn"
    modules = sorted(
        ".".join(("tinygrad_nn", *p.relative_to(package).with_suffix("").parts))
        .removesuffix(".__init__")
        for p in package.rglob("*.py")
        if not any(part.startswith("_") for part in p.relative_to(package).parts[:-1])
        and (p.name == "__init__.py" or not p.name.startswith("_")))
    documented = set(re.findall(r"^:::\s+([\w.]+)", (DOCS / "api.md").read_text(encoding="utf-8"),
                                re.M))
    missing = [m for m in modules if m not in documented]
    assert not missing, f"docs/api.md has no `::: module` block for: {missing}"


# ----------------------------------------------------------------------------------------------
# (d) every example is documented with the command that runs it
# ----------------------------------------------------------------------------------------------


def example_scripts() -> list[Path]:
    if not EXAMPLES.is_dir():
        return []
    return sorted(p for p in EXAMPLES.rglob("*.py")
                  if not p.name.startswith("_") and "__pycache__" not in p.parts)


def test_every_example_is_documented() -> None:
    page = DOCS / "examples.md"
    scripts = example_scripts()
    if not scripts:
        pytest.skip("no examples yet")
    assert page.exists(), "docs/examples.md is missing"
    commands = {c.text for c in COMMANDS_BY_FILE.get(page, [])}
    run = {shlex.split(c)[1] for c in commands if c.startswith(("python ", "python3 "))}
    missing = [_rel(s) for s in scripts if _rel(s) not in run]
    assert not missing, ("docs/examples.md must show the command that runs each example "
                         f"(```bash python examples/NAME.py```); missing: {missing}")


def test_documented_examples_exist() -> None:
    text = (DOCS / "examples.md").read_text(encoding="utf-8") if (DOCS / "examples.md").exists() \
        else ""
    named = set(re.findall(r"examples/[\w/.-]+\.py", text))
    missing = sorted(n for n in named if not (ROOT / n).exists())
    assert not missing, f"docs/examples.md names scripts that do not exist: {missing}"


# ----------------------------------------------------------------------------------------------
# (e) the site builds with no warnings
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built once with ``mkdocs build --strict`` (skipped where mkdocs is missing)."""
    needed = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python")
    absent = [m for m in needed if _missing(m)]
    if absent:
        if os.environ.get("CI"):
            pytest.fail(f"CI must build the docs, but these are not installed: {absent} "
                        f"(pip install -e '.[dev]')")
        pytest.skip(f"not installed: {absent} (pip install -e '.[docs]')")
    out = tmp_path_factory.mktemp("site")
    env = _env()
    env["NO_MKDOCS_2_WARNING"] = "1"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict",
         "--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (
        f"mkdocs build --strict failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return out


def test_mkdocs_build_strict(site: Path) -> None:
    assert (site / "index.html").exists()


_LOADS = re.compile(r"""<(?:script|img|iframe|source)\b[^>]*?\bsrc\s*=\s*["']([^"']+)["']"""
                    r"""|<link\b[^>]*?\bhref\s*=\s*["']([^"']+)["']""", re.I)
_CSS_LOADS = re.compile(r"""url\(\s*["']?([^"')]+)["']?\s*\)|@import\s+["']([^"']+)["']""")


def test_the_site_loads_nothing_from_elsewhere(site: Path) -> None:
    """Read offline, every page shows its formulas and fonts: no script, stylesheet, font or
    picture comes from another host (links to other sites are fine), and every file a page or
    stylesheet loads is in the site."""
    remote, missing = set(), set()
    files = [(f, _LOADS) for f in site.rglob("*.html")] + [(f, _CSS_LOADS)
                                                            for f in site.rglob("*.css")]
    for path, loads in files:
        for target in (a or b for a, b in loads.findall(path.read_text(encoding="utf-8"))):
            where = f"{path.relative_to(site)}: {target}"
            if re.match(r"^(?:[a-z]+:)?//", target, re.I):
                remote.add(where)
                continue
            if target.startswith(("data:", "#")):
                continue
            local = target.split("#")[0].split("?")[0]
            if not ((site / local.lstrip("/")) if local.startswith("/")
                    else (path.parent / local)).exists():
                missing.add(where)
    assert not remote, "loaded from another host:\n  " + "\n  ".join(sorted(remote)[:20])
    assert not missing, "loaded but not in the site:\n  " + "\n  ".join(sorted(missing)[:20])
    page = (site / "tutorial-to-code" / "index.html").read_text(encoding="utf-8")
    assert "assets/katex/katex.min.js" in page and 'class="arithmatex"' in page


def test_the_api_page_is_small(site: Path) -> None:
    """The API reference shows signatures and docstrings, not every function's source (which
    made it 2.5 MB); with every module's docstrings it is about 1.27 MB."""
    size = (site / "api" / "index.html").stat().st_size
    assert size < 1_350_000, f"docs/api.md builds to {size:,} bytes"


def _missing(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except ModuleNotFoundError:
        return True
