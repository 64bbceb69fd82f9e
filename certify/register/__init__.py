"""The certificate register: every issued certificate kept as sent, verifiable by its code."""
