"""Node bodies on a Dask cluster (`--executor dask://HOST:PORT | dask:local[N]`).

The run itself (control flow, templates, retries, events, the run store, the live
view) stays in the driving process; the bodies of remote-capable nodes, and whole
control.for_each bodies made only of such nodes, run on Dask workers. Importing this
package does not import Dask: `cluster.connect` does, and says which extra to
install when it is missing. docs/scaling.md has the design and its figures.
"""
