"""Feed polling: the schedule, the decisions after a poll, revisions, and the poll itself."""
