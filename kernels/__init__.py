"""Package marker: the wheel carries kernels/ as the resource package mmabench.kernels (see
mmabench/core/project_files.py); a regular package, so that editable installs map it too."""
