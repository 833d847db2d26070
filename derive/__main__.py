"""`python -m derive`: the command line.

Guarded because worker processes (spawn) import the main module again; they must not run the CLI.
"""

from .entry import run

if __name__ == "__main__":
    run()
