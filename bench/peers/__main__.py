"""`python -m bench.peers`: bench/peers/run.py."""

from bench.peers.run import main

if __name__ == "__main__":
    main()
