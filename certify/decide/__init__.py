"""Who is due for what, and why: the requirement rules, the facts read from the store, the plan."""
