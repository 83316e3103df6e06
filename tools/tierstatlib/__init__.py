"""tierstat: the command-line client of tiermalloc's stats socket."""
