"""Commands of this area (not built yet)."""


def register(group) -> None:
    pass
