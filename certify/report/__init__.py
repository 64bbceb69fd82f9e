"""The report page: what happened, what needs attention, what falls due next."""
