"""complaintflow: a financial firm's complaint handling as durable Temporal workflows."""
