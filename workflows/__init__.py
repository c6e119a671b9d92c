"""Temporal workflows: the complaint's process and the emergency team's desk."""
