"""Developer tools: what the team runs to look at the stack and keep its documents true. Nothing here runs on deploy
day or on the migration night, and nothing in the product imports it."""
