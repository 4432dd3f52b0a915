"""The waitlist: a freed visit time offered to the patients who asked for an earlier one."""
