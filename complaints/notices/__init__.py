"""Notices as people read them: templates and the channels that carry them."""
