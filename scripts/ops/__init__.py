"""Operations against live Azure: the shared ARM client (:mod:`~scripts.ops.azure_mgmt`), the check that the
signed-in identity may deploy a plan (:mod:`~scripts.ops.preflight`), the live posture check after
``pulumi up`` (:mod:`~scripts.ops.verify_deployment`) and the gateway kill switch
(:mod:`~scripts.ops.kill_switch`). Each is ``python -m scripts.ops.<name>``."""
