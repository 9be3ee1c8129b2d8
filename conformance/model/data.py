"""Where the package's data lives: the JSON Schemas (schemas/) and the contract (proto/).

The repository keeps both at its top level; a wheel carries them inside the package, in
conformance/_data/, mapped there at build time (pyproject.toml, hatch force-include). An
editable install runs from the checkout, so there the top-level directories are the data (live;
the snapshot hatchling's editable wheel also copies into site-packages is never the package's).
"""

from importlib.resources import files
from pathlib import Path
from typing import Literal

__all__ = ["DataName", "data_dir"]

DataName = Literal["schemas", "proto"]


def data_dir(name: DataName) -> Path:
    """The directory holding the package's ``name`` data, installed or in a checkout."""
    package = Path(str(files("conformance")))
    installed = package / "_data" / name
    if installed.is_dir():
        return installed
    # Only a checkout (pyproject.toml beside the package), never whatever else sits in
    # site-packages under that name.
    checkout = package.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / name).is_dir():
        return checkout / name
    raise FileNotFoundError(f"userapi-conformance is installed without its {name}/ data: "
                            f"neither {installed} nor a checkout's {checkout / name} exists; "
                            "reinstall it from a wheel or the checkout")
