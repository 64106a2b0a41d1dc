"""hallkey: turn a booking of a municipal room into a key for its door."""

__version__ = "0.1.0"
