"""localai: cloud-style AI notebooks on one machine with Docker."""

__version__ = "0.1.0"
