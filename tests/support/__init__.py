"""Helpers shared by the test tiers: image builds and other slow set-up."""
