"""Package marker: the wheel carries data/ as the resource package mmabench.data (see
mmabench/core/resources.py); a regular package, so that editable installs map it too."""
