"""``migrationctl network check``: the network proven beyond our side of the VPN, in the account."""
