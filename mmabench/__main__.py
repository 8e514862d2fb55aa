import sys

from mmabench.cli import main

sys.exit(main())
