"""Package marker: the wheel carries ptx/ as the resource package mmabench.ptx (see
mmabench/core/project_files.py); a regular package, so that editable installs map it too."""
