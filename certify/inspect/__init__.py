"""What people ask of certify: why (explain), how it goes (status, history), is it right (validate)."""
