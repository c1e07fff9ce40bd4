"""Small services with no knowledge of workflows: atomic writes, the data folder,
pausing the garbage collector around bulk building."""
