"""The mail models arrive with the inbound and outbound issues."""
