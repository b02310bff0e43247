"""Make docs/_static/before_after.png, the picture at the top of the README.

Run from the repository root: ``python docs/make_readme_figure.py``. It
quantizes ``china.jpg`` (bundled with scikit-learn) to 16 colours with the
default settings and draws it next to the original with
:func:`skquant.plotting.plot_before_after`.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from sklearn.datasets import load_sample_image  # noqa: E402

from skquant import ColorQuantizer  # noqa: E402
from skquant.plotting import plot_before_after  # noqa: E402

TARGET = Path(__file__).resolve().parent / "_static" / "before_after.png"


def main():
    china = load_sample_image("china.jpg")
    quantizer = ColorQuantizer(n_colors=16, random_state=0)
    quantized = quantizer.fit_transform(china)
    axes = plot_before_after(
        china,
        quantized,
        palette=quantizer.palette_,
        titles=("Original (about 96,000 colours)", "skquant, 16 colours"),
    )
    figure = axes[0].figure
    TARGET.parent.mkdir(exist_ok=True)
    figure.savefig(TARGET, dpi=100, metadata={"Software": None})
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
