import sys

try:
    from mmabench.cli import main
except KeyboardInterrupt:     # Ctrl-C while the package is still loading: nothing has started
    print("mmabench: interrupted; nothing was saved", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
