"""Sending and recording: transports, the delivery log, the run, an administrator's own hand."""
