"""Secrets: where their values come from (environment, OS keychain) and keeping them
out of everything a run emits."""
