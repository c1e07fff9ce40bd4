"""The editor as a client of a `flowserver` (docs/api.md): connect, open and save the
server's workflows, run on the server and watch the run live."""
