#!/usr/bin/env python
from simdesk.cli import main

if __name__ == "__main__":
    main()
