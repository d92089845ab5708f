"""Reliability tests against the local Order Desk sandbox: change during a sync, faults, kill and resume,
bad configuration and bad payloads, and no secret in any output."""
