"""Compare the open workflow with another version of it (a file on disk, the last git
commit): the differences listed in a dock and drawn over the canvas (issue 11)."""
