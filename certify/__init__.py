"""certify: send each participant their certificate the moment they meet the requirements."""

__version__ = "0.1.0"
