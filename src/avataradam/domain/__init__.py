"""Pure core of AvatarAdam: entities, errors, ports and use cases.

Nothing here imports a framework, driver or vendor SDK (enforced by import-linter).
"""
