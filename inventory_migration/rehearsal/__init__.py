"""The deploy rehearsal: apply every phase of the stack to a local AWS emulator, re-plan empty, destroy to nothing.

``mode`` is what the stack reads (no emulator code); ``emulator`` starts the patched moto server (test-only, dev
dependencies); ``walk`` drives the scenario (``make rehearse``).
"""
