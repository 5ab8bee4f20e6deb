"""The local AWS emulator: moto's server on loopback, patched where it falls short (:mod:`.moto_patches` lists every
gap), and boto3 clients pointed at it (:mod:`.clients`)."""
