"""Package marker: the wheel carries data/ as the resource package mmabench.data (see
mmabench/core/project_files.py); a regular package, so that editable installs map it too."""
