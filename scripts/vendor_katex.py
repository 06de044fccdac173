"""Copy KaTeX (MIT) from its npm tarball into docs/assets/katex, so the docs' formulas render
offline: no CDN, no network when the site is built or read.

    npm pack katex@0.19.1                      # or download the tarball from the npm registry
    python scripts/vendor_katex.py katex-0.19.1.tgz

Keeps what the site uses: katex.min.js, katex.min.css, contrib/auto-render.min.js, the WOFF2
fonts (every browser the site supports reads WOFF2) and the licence.  The stylesheet's
``@font-face`` rules are cut down to their WOFF2 source, so it names no file that is not there.
docs/assets/katex-render.js (ours) typesets the ``\\( \\)`` and ``\\[ \\]`` that
pymdownx.arithmatex leaves in each page.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tarfile
from pathlib import Path

DEST = Path(__file__).resolve().parent.parent / "docs" / "assets" / "katex"
FILES = ("dist/katex.min.js", "dist/contrib/auto-render.min.js", "LICENSE")
_OTHER_FORMATS = re.compile(r',url\(fonts/[\w-]+\.(?:woff|ttf)\) format\("(?:woff|truetype)"\)')


def main(argv: list[str] | None = None) -> int:
    """Unpack the tarball's files into docs/assets/katex (replacing what is there)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tarball", type=Path, help="katex-VERSION.tgz from `npm pack katex`")
    parser.add_argument("--out", type=Path, default=DEST, help=f"default: {DEST}")
    args = parser.parse_args(argv)
    if args.out.exists():
        shutil.rmtree(args.out)
    (args.out / "fonts").mkdir(parents=True)
    (args.out / "contrib").mkdir()
    with tarfile.open(args.tarball) as tar:
        def read(name: str) -> bytes:
            member = tar.extractfile(f"package/{name}")
            if member is None:
                raise SystemExit(f"vendor_katex: {name} is not in {args.tarball}")
            return member.read()

        for name in FILES:
            (args.out / name.removeprefix("dist/")).write_bytes(read(name))
        css = read("dist/katex.min.css").decode("utf-8")
        (args.out / "katex.min.css").write_text(_OTHER_FORMATS.sub("", css), encoding="utf-8")
        for member in tar.getmembers():
            if member.name.startswith("package/dist/fonts/") and member.name.endswith(".woff2"):
                (args.out / "fonts" / Path(member.name).name).write_bytes(
                    read(member.name.removeprefix("package/")))
    print(f"wrote {sum(1 for p in args.out.rglob('*') if p.is_file())} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
