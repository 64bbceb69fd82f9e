"""Turning a due delivery into a message: templates, what they see, the e-mail, the certificate PDF."""
