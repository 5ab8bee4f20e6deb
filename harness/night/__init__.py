"""The cutover night (``make rehearse-cutover``, ``make bench-cutover``): the application's workload (:mod:`.workload`),
the night's scenario and fault cases (:mod:`.cutover_night`, :mod:`.faults`), its report (:mod:`.report`) and
timeline (:mod:`.timeline`)."""
