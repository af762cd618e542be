"""Built-in datasets plugin: ``default`` (scikit-image photos), ``folder:PATH``, ``synthetic`` and the named
standard SR sets under the data root (``sr291``, ``set5``, ...; see :mod:`.named`)."""

from srbench.hookspecs import hookimpl

from . import default, folder, named, synthetic


@hookimpl
def srbench_register_datasets(datasets):
    datasets.register("default", default.create, "real photos from scikit-image (offline): 3 test photos, "
                                                 "val = 1 whole photo, train = 192-px tiles of 4 others")
    datasets.register("folder", folder.create, "image files of a folder: folder:PATH (train/ and test/ "
                                               "subfolders, or a fixed 80/20 split by file hash)")
    datasets.register("synthetic", synthetic.create, "procedural images for tests: synthetic[:COUNTxSIZE], "
                                                     "default 12 images of 96x96")
    for entry in named.CATALOG:
        datasets.register(entry.name, named.factory(entry), entry.title)
