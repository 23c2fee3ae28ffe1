"""ICCC: Integrated Command and Control Centre for a district in an epidemic."""

__version__ = "0.1.0"
