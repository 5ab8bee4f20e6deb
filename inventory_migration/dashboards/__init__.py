"""CloudWatch dashboard bodies, built in code."""
