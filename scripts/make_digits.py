"""Regenerate ``tinygrad_nn/datasets/digits.npz`` from the copy shipped inside scikit-learn.

Usage (from the repository root)::

    python scripts/make_digits.py            # writes tinygrad_nn/datasets/digits.npz
    python scripts/make_digits.py OUT.npz    # writes somewhere else

The source is ``sklearn/datasets/data/digits.csv.gz``: 1,797 rows of 64 pixel values
(integers 0..16, an 8x8 image read row by row) followed by the class label 0..9. It is the
UCI "Optical Recognition of Handwritten Digits" set (E. Alpaydin, C. Kaynak; CC BY 4.0,
DOI 10.24432/C50P49); see ``tinygrad_nn/datasets/DIGITS_LICENSE.txt``.

The output holds two arrays and no pickled objects:

* ``images``: uint8, shape (1797, 8, 8), values 0..16
* ``labels``: int64, shape (1797,), values 0..9

scikit-learn is needed only to run this script; it is not a dependency of tinygrad_nn.
The script is deterministic: the arrays are written with ``np.savez_compressed`` and the
zip members are then re-stamped with a fixed date, so rerunning it gives the same bytes
(for the same zlib version).
"""

from __future__ import annotations

import gzip
import io
import sys
import zipfile
from importlib.resources import files
from pathlib import Path

import numpy as np
import numpy.typing as npt

N_IMAGES = 1797
N_PIXELS = 64
FIXED_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "tinygrad_nn" / "datasets" / "digits.npz"


def read_sklearn_digits() -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Read scikit-learn's ``digits.csv.gz`` and return (images (N, 8, 8) uint8, labels int64)."""
    source = files("sklearn.datasets.data") / "digits.csv.gz"
    with source.open("rb") as fh:
        text = gzip.decompress(fh.read()).decode("ascii")
    table = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.int64, ndmin=2)
    if table.shape != (N_IMAGES, N_PIXELS + 1):
        raise ValueError(f"unexpected digits.csv.gz shape {table.shape}")
    pixels, labels = table[:, :N_PIXELS], table[:, N_PIXELS]
    if pixels.min() < 0 or pixels.max() > 16 or labels.min() < 0 or labels.max() > 9:
        raise ValueError("digits.csv.gz has values outside pixels 0..16 / labels 0..9")
    images = pixels.astype(np.uint8).reshape(N_IMAGES, 8, 8)
    return images, labels.astype(np.int64)


def write_npz(path: Path, images: npt.NDArray[np.uint8], labels: npt.NDArray[np.int64]) -> None:
    """Write the arrays with ``np.savez_compressed``, then fix the zip timestamps."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, images=images, labels=labels)
    buffer.seek(0)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(path, "w") as dst:
        for member in src.infolist():
            info = zipfile.ZipInfo(member.filename, date_time=FIXED_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, src.read(member), compresslevel=9)


def main(argv: list[str]) -> int:
    """Build the file and print a short summary."""
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    images, labels = read_sklearn_digits()
    write_npz(out, images, labels)
    counts = np.bincount(labels, minlength=10).tolist()
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")
    print(f"images {images.shape} {images.dtype}, pixel sum {int(images.sum(dtype=np.int64))}")
    print(f"labels {labels.shape} {labels.dtype}, class counts {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
