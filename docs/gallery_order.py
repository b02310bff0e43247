"""Order of the gallery: a reader's path, from first steps to comparisons."""

STORY = [
    "plot_quantize_photo.py",
    "plot_fit_apply.py",
    "plot_color_spaces.py",
    "plot_dithering.py",
    "plot_fixed_and_shared_palettes.py",
    "plot_pipeline.py",
    "plot_grid_search_k.py",
    "plot_backends.py",
]


class StoryOrder:
    """sphinx-gallery sort key: the examples above in order, then the rest."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        position = STORY.index(filename) if filename in STORY else len(STORY)
        return position, filename

    def __repr__(self):
        return f"<{type(self).__name__}>"
