"""Package marker: the wheel carries kernels/ as the resource package mmabench.kernels (see
mmabench/core/resources.py); a regular package, so that editable installs map it too."""
